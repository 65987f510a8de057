"""Flow interface: a scenario's whole run, for recipes that are not the core's language-model flow.

The core's flow (:mod:`rlinf_core.flow`) trains a language model: rollout, reward and actor
components joined by the graph :data:`rlinf_core.flow.graph.MATH_GRPO`. A scenario with other
components (environment workers stepping a simulator, a policy that acts on observations)
registers a :class:`Flow`; a recipe picks it with its top-level ``flow`` field, and ``rlinf
run`` validates the recipe against the flow's own root schema (:attr:`Flow.config_class`, a
dataclass of sections whose fields use :func:`rlinf_core.config.doc`) and hands it to
:meth:`Flow.run`. A flow builds on the core's public pieces: :class:`~rlinf_core.Worker` and
:class:`~rlinf_core.WorkerGroup` for its components, the cluster placement
(``cluster.component_placement``), the trackers and the run folder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Dict, List


class Flow(ABC):
    """Register a subclass with ``register_flows``; a recipe selects it with ``flow: <name>``."""

    # The recipe's root schema: a ``flow: str`` field, and the core's PluginsConfig as ``plugins``
    # if its recipes may name ``plugins.modules``.
    config_class: ClassVar[type]
    # What moves between the components: (source, target, what) rows, for `rlinf plugins` and the docs.
    edges: ClassVar[List[tuple]] = []

    def __init__(self, config: Any):
        self.config = config  # the validated recipe (a DictConfig of ``config_class``)

    @abstractmethod
    def run(self) -> Dict[str, Any]:
        """Train as the recipe says, writing under its output folder; returns a summary
        (at least ``output_dir``). A user error is a :class:`~rlinf_core.errors.ConfigError`."""
