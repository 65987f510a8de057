"""rlinf-math: the AReaL-boba math task and a time-bounded math-verify reward for rlinf.

- ``MathTask`` (task ``math``): reads ``.jsonl``/``.parquet`` prompts with boxed solutions.
- ``MathReward`` (reward ``math``): +5/-5 on the last ``\\boxed{}`` answer, checked by
  math-verify in grader processes with a hard per-verdict deadline.
- ``verify(response, gold)``: one verdict through the same bounded machinery.
"""

from rlinf_math.grading import verify
from rlinf_math.reward import MathReward, MathRewardConfig
from rlinf_math.task import MathTask

__version__ = "0.1.0"

__all__ = ["MathReward", "MathRewardConfig", "MathTask", "__version__", "verify"]
