"""Reward interface: a named scorer returning a score and its components per response."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Dict, List

from rlinf_core.config.schema import RewardConfig


@dataclass
class RewardResult:
    """Scores of a batch of responses, their named components and batch-level counters.

    ``metrics`` must be counts (e.g. ``reward/timeouts``): the runner sums them over reward
    ranks. A component named ``correct`` (1.0/0.0 per response) is logged as ``rollout/accuracy``.
    """

    scores: List[float]
    components: Dict[str, List[float]] = field(default_factory=dict)
    metrics: Dict[str, float] = field(default_factory=dict)


class Reward(ABC):
    """Scores responses against reference answers. Register with ``register_rewards``."""

    config_class: ClassVar[type] = RewardConfig

    def __init__(self, config: RewardConfig):
        self.config = config

    @abstractmethod
    def score(self, responses: List[str], answers: List[List[str]]) -> RewardResult:
        """One score per response; never silently zero on an internal failure: raise or count it."""

    def start(self) -> None:
        """Start background resources (e.g. grader processes) without waiting for them, so their
        warm-up overlaps model loading rather than the first step (default: nothing)."""

    def close(self) -> None:
        """Release pools and processes (default: nothing)."""
