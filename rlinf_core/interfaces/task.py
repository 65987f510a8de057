"""Task interface: a dataset, its prompt format and its evaluation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Iterator, List

from rlinf_core.config.schema import DataConfig


@dataclass
class Example:
    """One prompt with its reference answers, tokenised."""

    uid: str
    prompt_ids: List[int]
    answers: List[str]


class Task(ABC):
    """Reads data files and yields tokenised examples. Register with ``register_tasks``."""

    config_class: ClassVar[type] = DataConfig
    default_reward: ClassVar[str] = ""

    def __init__(self, config: DataConfig, tokenizer: Any):
        self.config = config
        self.tokenizer = tokenizer
        # Counters the runner logs as data/<name> (e.g. dropped_too_long, skipped_invalid).
        self.stats: Dict[str, int] = {}

    @abstractmethod
    def load(self, paths: List[str]) -> List[Example]:
        """Read, validate and tokenise the rows of ``paths``; errors name the file and line."""

    @abstractmethod
    def batches(self, examples: List[Example], batch_size: int, seed: int, epoch: int) -> Iterator[List[Example]]:
        """One epoch of full batches in an order fixed by (seed, epoch); the last partial batch is dropped."""
