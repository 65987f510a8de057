"""The flow graph as data: which components a run has, and what flows between them.

RLinf's M2Flow (arXiv:2509.15965 §3) describes a workflow as components joined by
channels; here the graph says which worker group each component is and which edges carry
what. The trainer launches one worker group per component and checks the placement gives
each one devices; the step (:mod:`rlinf_core.flow.step`) moves data along the edges.

Deviation from RLinf: the step still knows the math graph's phases by name (sample, train,
sync). A scenario with other components (environment workers and a policy: rlinf-embodied)
registers a flow of its own (:class:`rlinf_core.interfaces.flow.Flow`), picked by a recipe's
``flow:``; this graph is the language-model flow's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from rlinf_core.flow.components import ActorWorker, RewardWorker, RolloutWorker


@dataclass(frozen=True)
class Component:
    """One worker group: its name (the key in ``cluster.component_placement``) and worker class."""

    name: str
    worker: type
    role: str


@dataclass(frozen=True)
class Edge:
    """Data moving from one component to another, and the method that consumes it."""

    source: str
    target: str
    carries: str
    consumer: str


@dataclass(frozen=True)
class FlowGraph:
    components: Tuple[Component, ...]
    edges: Tuple[Edge, ...]

    def __post_init__(self) -> None:
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            raise ValueError(f"flow graph names a component twice: {names}")
        for e in self.edges:
            for end in (e.source, e.target):
                if end not in names:
                    raise ValueError(f"flow graph edge {e.source} -> {e.target} names an unknown component {end!r}")

    @property
    def names(self) -> Tuple[str, ...]:
        return tuple(c.name for c in self.components)

    def describe(self) -> str:
        """One line per edge, e.g. ``rollout -> reward: responses (score_part)``."""
        return "\n".join(f"{e.source} -> {e.target}: {e.carries} ({e.consumer})" for e in self.edges)


# Launch order matters only for start-up time: the actor loads last, after the rollout has its model.
MATH_GRPO = FlowGraph(
    components=(
        Component("rollout", RolloutWorker, "samples responses with their log-probs"),
        Component("reward", RewardWorker, "scores responses"),
        Component("actor", ActorWorker, "assembles the batch, computes advantages, trains"),
    ),
    edges=(
        Edge("rollout", "reward", "responses (object references; texts and answers read there)", "score_part"),
        Edge("rollout", "actor", "responses (object references)", "train_on"),
        Edge("reward", "actor", "rewards (through the driver's batch plan: one number per response)", "train_on"),
        Edge("actor", "rollout", "weights (object reference, after every step)", "update_weights"),
    ),
)
