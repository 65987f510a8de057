"""Task interface: a dataset, its prompt format and its evaluation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator, List

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

    @abstractmethod
    def load(self, paths: List[str]) -> List[Example]:
        """Read, validate and tokenise the rows of ``paths``; errors name the file and line."""

    @abstractmethod
    def batches(self, examples: List[Example], batch_size: int, seed: int) -> Iterator[List[Example]]:
        """Seeded, shuffled batches over epochs."""
