"""rlinf-math: the AReaL-boba math task and a math grader that is accurate and cannot hang.

- ``MathTask`` (task ``math``): reads ``.jsonl``/``.parquet`` prompts with boxed solutions.
- ``MathReward`` (reward ``math``): +5/-5 on the final answer, graded by :class:`MathGrader`.
- ``MathGrader``: the batch API (extraction, normalisation, guards, math-verify in grader
  processes with a hard per-verdict deadline); ``verify``/``explain`` for single calls.
- ``extract_answer``, ``extract_choice`` (multiple-choice letters, for GPQA-style evals),
  ``gold_answer``, ``normalize``.
- ``rlinf reward check RESPONSE GOLD`` prints a verdict, the extracted answers and why.
"""

from rlinf_math.answer import extract_answer, extract_choice, gold_answer
from rlinf_math.grading import Grades, MathGrader, Verdict, explain, verify
from rlinf_math.normalize import normalize
from rlinf_math.reward import MathReward, MathRewardConfig
from rlinf_math.task import MathTask

__version__ = "0.1.0"

__all__ = [
    "Grades",
    "MathGrader",
    "MathReward",
    "MathRewardConfig",
    "MathTask",
    "Verdict",
    "__version__",
    "explain",
    "extract_answer",
    "extract_choice",
    "gold_answer",
    "normalize",
    "verify",
]
