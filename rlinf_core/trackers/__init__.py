"""The core's built-in trackers (MLflow, TensorBoard, JSONL, console) and the fan-out to several."""

from rlinf_core.trackers.multi import MultiTracker, build_trackers, flatten_params

__all__ = ["MultiTracker", "build_trackers", "flatten_params"]
