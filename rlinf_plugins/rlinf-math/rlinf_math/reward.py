"""The ``math`` reward: +5 for a correct final boxed answer, -5 otherwise.

Follows RLinf's math reward for GRPO on AReaL-boba data (itself the DeepSeek-R1 rule-based
accuracy reward): the last ``\\boxed{}`` of the response is checked against the reference
solutions with math-verify; RLinf's defaults are +5 / -5. No format reward is added.

Deviation: every verdict has a hard wall-clock deadline (``reward.timeout_s``) enforced by
a pool of grader processes; a verdict that runs over is incorrect and counted in
``reward/timeouts`` rather than stalling the run. See :mod:`rlinf_math.grading` for the
cheap cases decided without math-verify.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from rlinf_core import Reward, RewardResult
from rlinf_core.config import RewardConfig, doc

from rlinf_math.answer import MAX_ANSWER_CHARS
from rlinf_math.grader_pool import GraderPool
from rlinf_math.grading import grade


@dataclass
class MathRewardConfig(RewardConfig):
    """Scores and limits of the math reward."""

    correct_score: float = doc(5.0, "Score of a response whose last \\boxed{} answer matches a reference (RLinf: 5).")
    incorrect_score: float = doc(
        -5.0, "Score of any other response: wrong, no \\boxed{} answer, too long or timed out (RLinf: -5)."
    )
    timeout_s: float = doc(
        5.0,
        "Hard wall-clock limit per verdict in seconds; a grader process that overruns is killed and "
        "the verdict counts as incorrect (reward/timeouts).",
        gt=0.0,
    )
    num_workers: int = doc(2, "Grader processes running math-verify (started on first use).", ge=1)
    max_answer_chars: int = doc(
        MAX_ANSWER_CHARS, "A boxed answer longer than this is scored incorrect without parsing it.", ge=1
    )


class MathReward(Reward):
    """Correctness of the final boxed answer, checked by math-verify in bounded time."""

    config_class = MathRewardConfig

    def __init__(self, config: MathRewardConfig):
        super().__init__(config)
        self._pool: Optional[GraderPool] = None

    @property
    def pool(self) -> GraderPool:
        """The grader pool (created on first use; its processes start on the first verdict)."""
        if self._pool is None:
            self._pool = GraderPool(num_workers=self.config.num_workers, timeout_s=self.config.timeout_s)
        return self._pool

    def score(self, responses: List[str], answers: List[List[str]]) -> RewardResult:
        grades = grade(self.pool, responses, answers, max_answer_chars=self.config.max_answer_chars)
        correct = grades.correct
        cfg = self.config
        return RewardResult(
            scores=[cfg.correct_score if ok else cfg.incorrect_score for ok in correct],
            components={"correct": [1.0 if ok else 0.0 for ok in correct]},
            metrics={f"reward/{name}": float(n) for name, n in grades.counts.items()},
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

