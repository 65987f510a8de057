"""rlinf-math: the AReaL-boba math task and a math grader that is accurate and cannot hang.

- ``MathTask`` (task ``math``): reads ``.jsonl``/``.parquet`` prompts with boxed solutions.
- ``MathReward`` (reward ``math``): +5/-5 on the final answer, graded by :class:`MathGrader`.
- ``MathGrader``: the batch API (extraction, normalisation, guards, math-verify in grader
  processes with a hard per-verdict deadline); ``verify``/``explain`` for single calls.
- ``extract_answer``, ``extract_choice`` (multiple-choice letters, for GPQA-style evals),
  ``gold_answer``, ``normalize``.
- ``rlinf reward check RESPONSE GOLD`` prints a verdict, the extracted answers and why.
"""

from typing import TYPE_CHECKING

from rlinf_core.lazy import lazy_exports

if TYPE_CHECKING:  # for type checkers and IDEs; at run time each name is imported on first use
    from rlinf_math.answer import extract_answer, extract_choice, gold_answer
    from rlinf_math.grading import Grades, MathGrader, Verdict, explain, verify
    from rlinf_math.normalize import normalize
    from rlinf_math.reward import MathReward, MathRewardConfig
    from rlinf_math.task import MathTask

__getattr__, __dir__ = lazy_exports(__name__, {
    "extract_answer": "rlinf_math.answer",
    "extract_choice": "rlinf_math.answer",
    "gold_answer": "rlinf_math.answer",
    "Grades": "rlinf_math.grading",
    "MathGrader": "rlinf_math.grading",
    "Verdict": "rlinf_math.grading",
    "explain": "rlinf_math.grading",
    "verify": "rlinf_math.grading",
    "normalize": "rlinf_math.normalize",
    "MathReward": "rlinf_math.reward",
    "MathRewardConfig": "rlinf_math.reward",
    "MathTask": "rlinf_math.task",
})

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
