"""TrainBackend interface: log-probs, entropy, loss steps, checkpoints and weights out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, Dict, Tuple

from rlinf_core.config.schema import ActorConfig
from rlinf_core.data import Ragged, TrajectoryBatch

if TYPE_CHECKING:
    import torch

    from rlinf_core.interfaces.algorithm import Algorithm


class TrainBackend(ABC):
    """Training engine of one actor rank. Register a subclass with ``register_train_backends``."""

    config_class: ClassVar[type] = ActorConfig

    def __init__(self, config: ActorConfig, rank: int = 0, world_size: int = 1):
        self.config = config
        self.rank = rank
        self.world_size = world_size

    @abstractmethod
    def load(self) -> None:
        """Load model, tokenizer and optimizer; join the process group when ``world_size > 1``."""

    @abstractmethod
    def compute_logprobs(self, batch: TrajectoryBatch) -> Tuple[Ragged, Ragged]:
        """Per-token log-probs and entropies of ``batch.response_ids`` under the current weights."""

    @abstractmethod
    def train_step(self, batch: TrajectoryBatch, algorithm: "Algorithm") -> Dict[str, float]:
        """All minibatch updates for one step's rollouts; returns metrics (``train/*``)."""

    @abstractmethod
    def state_dict_for_rollout(self) -> Dict[str, "torch.Tensor"]:
        """Full (gathered) weights with Hugging Face names, for the rollout's ``update_weights``."""

    @abstractmethod
    def save_checkpoint(self, path: str) -> None:
        """Write a Hugging Face checkpoint (``save_pretrained``, tokenizer included) to ``path``."""
