"""The plugin interfaces: one abstract base class per plugin kind (the kinds: rlinf_core.kinds)."""

from rlinf_core.interfaces.algorithm import Algorithm, LossInputs, LossOutput
from rlinf_core.interfaces.flow import Flow
from rlinf_core.interfaces.preparer import Preparer
from rlinf_core.interfaces.reward import Reward, RewardResult
from rlinf_core.interfaces.rollout import RolloutBackend
from rlinf_core.interfaces.task import Example, Task
from rlinf_core.interfaces.tracker import ResumeInfo, Tracker
from rlinf_core.interfaces.train import TrainBackend, TrainSetup

__all__ = [
    "Algorithm",
    "Example",
    "Flow",
    "LossInputs",
    "LossOutput",
    "Preparer",
    "ResumeInfo",
    "Reward",
    "RewardResult",
    "RolloutBackend",
    "Task",
    "Tracker",
    "TrainBackend",
    "TrainSetup",
]
