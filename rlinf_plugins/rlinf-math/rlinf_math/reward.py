"""The ``math`` reward: +5 for a correct final answer, -5 otherwise.

Follows RLinf's math reward for GRPO on AReaL-boba data (itself the DeepSeek-R1 rule-based
accuracy reward): the response's final answer is checked against the reference solutions
(any matching counts); RLinf's defaults are +5 / -5. No format reward is added.

Deviations, all in :mod:`rlinf_math.grading`: the final answer is the last ``\\boxed{}``
(neighbouring boxes joined into a list) or, with no box, the final stated answer
("The final answer is ...", "Answer: ...", "#### ..."; ``reward.answer_phrases: false``
requires a box, as RLinf does); answers are normalised and cheap cases decided before
math-verify; guards refuse runaway inputs; every verdict has a hard wall-clock deadline
(``reward.timeout_s``) enforced by a pool of grader processes. Nothing is silently zero:
each reason for an incorrect score without a comparison is counted, summed over the batch:
``reward/no_answer``, ``reward/answer_too_long``, ``reward/timeouts``,
``reward/guard_rejections``, ``reward/unsafe_golds``, ``reward/grader_errors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from rlinf_core import Reward, RewardResult
from rlinf_core.config import RewardConfig, doc

from rlinf_math.answer import MAX_ANSWER_CHARS
from rlinf_math.grading import DEFAULT_TIMEOUT_S, Grades, MathGrader


@dataclass
class MathRewardConfig(RewardConfig):
    """Scores and limits of the math reward."""

    correct_score: float = doc(5.0, "Score of a response whose final answer matches a reference (RLinf: 5).")
    incorrect_score: float = doc(
        -5.0, "Score of any other response: wrong, no final answer, too long or timed out (RLinf: -5)."
    )
    timeout_s: float = doc(
        DEFAULT_TIMEOUT_S,
        "Hard wall-clock limit per verdict in seconds; a grader process that overruns is killed and "
        "the verdict counts as incorrect (reward/timeouts).",
        gt=0.0,
    )
    num_workers: int = doc(2, "Grader processes running math-verify.", ge=1)
    start_graders_early: bool = doc(
        True,
        "Start the grader processes when the reward worker starts (their math-verify import and "
        "warm-up, ~2 s of CPU each, then overlaps model loading instead of stalling the first step "
        "with an answer that needs sympy); false starts them on first use.",
    )
    max_answer_chars: int = doc(
        MAX_ANSWER_CHARS, "A final answer longer than this is scored incorrect without parsing it.", ge=1
    )
    answer_phrases: bool = doc(
        True,
        "With no \\boxed{} in a response, take the final stated answer ('The final answer is ...', "
        "'Answer: ...', '#### ...'); false requires a box.",
    )


class MathReward(Reward):
    """Correctness of the final answer, checked in bounded time."""

    config_class = MathRewardConfig

    def __init__(self, config: MathRewardConfig):
        super().__init__(config)
        self._grader: Optional[MathGrader] = None

    @property
    def grader(self) -> MathGrader:
        """The batch grader (created on first use; its processes start on the first verdict)."""
        if self._grader is None:
            cfg = self.config
            self._grader = MathGrader(
                num_workers=cfg.num_workers,
                timeout_s=cfg.timeout_s,
                max_answer_chars=cfg.max_answer_chars,
                answer_phrases=cfg.answer_phrases,
            )
        return self._grader

    def start(self) -> None:
        if self.config.start_graders_early:
            self.grader.pool.start()

    @property
    def pool(self):  # the grader processes (kept for callers that inspect them)
        return self.grader.pool

    def grade(self, responses: List[str], answers: List[List[str]]) -> Grades:
        """Verdicts with reasons (what :meth:`score` turns into rewards)."""
        return self.grader.grade(responses, answers)

    def score(self, responses: List[str], answers: List[List[str]]) -> RewardResult:
        grades = self.grade(responses, answers)
        correct = grades.correct
        cfg = self.config
        return RewardResult(
            scores=[cfg.correct_score if ok else cfg.incorrect_score for ok in correct],
            components={"correct": [1.0 if ok else 0.0 for ok in correct]},
            metrics={f"reward/{name}": float(n) for name, n in grades.counts.items()},
        )

    def close(self) -> None:
        if self._grader is not None:
            self._grader.close()
            self._grader = None
