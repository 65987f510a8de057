"""The core's trackers, registered through the same hook third-party trackers use."""

from rlinf_core.hookspecs import Register, hookimpl
from rlinf_core.trackers.console_tracker import ConsoleTracker
from rlinf_core.trackers.jsonl_tracker import JsonlTracker
from rlinf_core.trackers.mlflow_tracker import MLflowTracker
from rlinf_core.trackers.tensorboard_tracker import TensorBoardTracker


@hookimpl
def register_trackers(register: Register) -> None:
    register("mlflow", MLflowTracker)
    register("tensorboard", TensorBoardTracker)
    register("jsonl", JsonlTracker)
    register("console", ConsoleTracker)
