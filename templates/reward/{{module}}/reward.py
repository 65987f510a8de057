"""The `{{name}}` reward: exact match of the last ``\\boxed{}`` answer, plus a format bonus.

For math-style data whose reference answers look like ``\\boxed{7}`` (the AReaL-boba rows
the ``math`` task reads): the content of the response's last ``\\boxed{...}`` (nested
braces allowed) is compared with each reference's, after removing whitespace, ``$`` signs
and a final period. No symbolic equivalence (``0.5`` is not ``\\frac{1}{2}``): for that use
the ``math`` reward of rlinf-math, which runs math-verify.

Scores: ``reward.correct_score`` for a match; ``reward.format_score`` for a wrong boxed
answer (a format reward, as DeepSeek-R1's rule-based rewards have); ``reward.incorrect_score``
when there is no boxed answer at all. Components: ``correct`` (logged as
``rollout/accuracy``) and ``formatted``. Counters: ``reward/unboxed``, ``reward/too_long``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from rlinf_core import Reward, RewardResult
from rlinf_core.config import RewardConfig, doc

BOXED = "\\boxed{"


def last_boxed(text: str) -> Optional[str]:
    """The content of the last complete ``\\boxed{...}`` in ``text``, or None."""
    start = text.rfind(BOXED)
    while start != -1:
        depth, i = 1, start + len(BOXED)
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            return text[start + len(BOXED) : i - 1]
        start = text.rfind(BOXED, 0, start)  # unclosed: an earlier one may be complete
    return None


def normalise(answer: str) -> str:
    """Whitespace, ``$`` signs and a final period removed."""
    return "".join(answer.split()).strip("$").rstrip(".")


def reference_answer(reference: str) -> str:
    """A reference's boxed content (``\\boxed{7}`` -> ``7``), or the whole reference, normalised."""
    boxed = last_boxed(reference)
    return normalise(boxed if boxed is not None else reference)


@dataclass
class {{class_name}}RewardConfig(RewardConfig):
    """The `reward` section when `reward.name: {{name}}`."""

    correct_score: float = doc(1.0, "Score of a response whose last \\boxed{} answer matches a reference.")
    format_score: float = doc(0.1, "Score of a response with a \\boxed{} answer that does not match (format bonus).")
    incorrect_score: float = doc(0.0, "Score of a response without a \\boxed{} answer.")
    max_answer_chars: int = doc(100, "A boxed answer longer than this counts as wrong without comparing it.", ge=1)


class {{class_name}}Reward(Reward):
    """Exact match of the last boxed answer with a reference's."""

    config_class = {{class_name}}RewardConfig
    config: {{class_name}}RewardConfig

    def score(self, responses: List[str], answers: List[List[str]]) -> RewardResult:
        cfg = self.config
        scores: List[float] = []
        correct: List[float] = []
        formatted: List[float] = []
        unboxed = too_long = 0
        for response, references in zip(responses, answers):
            got = last_boxed(response)
            if got is None:
                unboxed += 1
                scores.append(cfg.incorrect_score)
                correct.append(0.0)
                formatted.append(0.0)
                continue
            wanted = {reference_answer(ref) for ref in references}
            if len(got) > cfg.max_answer_chars:
                too_long += 1
                match = False
            else:
                match = normalise(got) in wanted
            scores.append(cfg.correct_score if match else cfg.format_score)
            correct.append(1.0 if match else 0.0)
            formatted.append(1.0)
        return RewardResult(
            scores=scores,
            components={"correct": correct, "formatted": formatted},
            metrics={"reward/unboxed": float(unboxed), "reward/too_long": float(too_long)},
        )
