"""The `{{name}}` reward: exact match with the reference answer, with optional partial credit.

A response scores ``reward.correct_score`` when, stripped of surrounding whitespace, it
equals one of the reference answers (``reward.case_sensitive`` decides about case), and
``reward.partial_credit * similarity`` otherwise, where similarity is difflib's ratio
(0..1) to the closest reference. With ``partial_credit: 0`` (the default) this is a pure
exact-match reward; a little partial credit gives an untrained model a gradient to climb.

Components (one value per response): ``correct`` (logged as ``rollout/accuracy``) and
``similarity``. Counter: ``reward/empty_responses``.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import List

from rlinf_core import Reward, RewardResult
from rlinf_core.config import RewardConfig, doc


@dataclass
class {{class_name}}RewardConfig(RewardConfig):
    """The `reward` section when `reward.name: {{name}}`."""

    correct_score: float = doc(1.0, "Score of a response equal to a reference answer.")
    partial_credit: float = doc(
        0.0,
        "Weight of the similarity (difflib ratio, 0..1) of a wrong response to the closest reference; "
        "0 gives a pure exact-match reward.",
        ge=0.0,
        le=1.0,
    )
    case_sensitive: bool = doc(True, "Compare answers case-sensitively.")


class {{class_name}}Reward(Reward):
    """Exact match of the stripped response with a reference answer."""

    config_class = {{class_name}}RewardConfig
    config: {{class_name}}RewardConfig

    def _normalise(self, text: str) -> str:
        text = text.strip()
        return text if self.config.case_sensitive else text.lower()

    def score(self, responses: List[str], answers: List[List[str]]) -> RewardResult:
        cfg = self.config
        scores: List[float] = []
        correct: List[float] = []
        similarity: List[float] = []
        empty = 0
        for response, references in zip(responses, answers):
            got = self._normalise(response)
            wanted = [self._normalise(a) for a in references]
            empty += not got
            match = got in wanted
            sim = 1.0 if match else max((SequenceMatcher(None, got, w).ratio() for w in wanted if got), default=0.0)
            scores.append(cfg.correct_score if match else cfg.partial_credit * sim)
            correct.append(1.0 if match else 0.0)
            similarity.append(sim)
        return RewardResult(
            scores=scores,
            components={"correct": correct, "similarity": similarity},
            metrics={"reward/empty_responses": float(empty)},
        )
