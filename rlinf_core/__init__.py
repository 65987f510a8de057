"""rlinf core: plugin registry, typed config, Ray workers/channels/placement, tracking and CLI.

The public API plugins build on. Plugins import from here (and from the modules named in
``__all__``), never from each other.
"""

__version__ = "0.1.0"

from rlinf_core.cluster import Channel, ComponentPlacement, Worker, WorkerGroup, parse_placement  # noqa: E402
from rlinf_core.data import DistinctRows, Ragged, RolloutRequest, SamplingParams, TrajectoryBatch, distinct_rows, left_pad  # noqa: E402
from rlinf_core.errors import (  # noqa: E402
    ConfigError,
    PlacementError,
    PluginError,
    RlinfUserError,
    UnknownPluginError,
    WorkerError,
)
from rlinf_core.hookspecs import hookimpl  # noqa: E402
from rlinf_core.interfaces import (  # noqa: E402
    Algorithm,
    Example,
    Flow,
    LossInputs,
    LossOutput,
    Preparer,
    Reward,
    RewardResult,
    RolloutBackend,
    Task,
    Tracker,
    TrainBackend,
    TrainSetup,
)
from rlinf_core.plugins import get_registry, load_plugins  # noqa: E402

__all__ = [
    "Algorithm",
    "Channel",
    "ComponentPlacement",
    "ConfigError",
    "DistinctRows",
    "Example",
    "Flow",
    "LossInputs",
    "LossOutput",
    "PlacementError",
    "Preparer",
    "PluginError",
    "Ragged",
    "Reward",
    "RewardResult",
    "RlinfUserError",
    "RolloutBackend",
    "RolloutRequest",
    "SamplingParams",
    "Task",
    "Tracker",
    "TrainBackend",
    "TrainSetup",
    "TrajectoryBatch",
    "UnknownPluginError",
    "Worker",
    "WorkerError",
    "WorkerGroup",
    "__version__",
    "distinct_rows",
    "left_pad",
    "get_registry",
    "hookimpl",
    "load_plugins",
    "parse_placement",
]
