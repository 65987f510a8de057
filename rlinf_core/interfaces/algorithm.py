"""Algorithm interface: turns scored trajectories into advantages and a policy loss."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Dict, Optional

from rlinf_core.config.schema import AlgorithmConfig
from rlinf_core.data import TrajectoryBatch

if TYPE_CHECKING:
    import torch


@dataclass
class LossOutput:
    """A differentiable loss and the scalar metrics that describe it."""

    loss: "torch.Tensor"
    metrics: Dict[str, float] = field(default_factory=dict)


class Algorithm(ABC):
    """An RL algorithm. Register a subclass with ``register_algorithms``.

    ``config_class`` is the dataclass of the ``algorithm`` config section when this
    algorithm is selected; subclass :class:`AlgorithmConfig` to add fields.
    """

    config_class: ClassVar[type] = AlgorithmConfig

    def __init__(self, config: AlgorithmConfig):
        self.config = config

    @abstractmethod
    def compute_advantages(self, batch: TrajectoryBatch) -> "torch.Tensor":
        """One advantage per trajectory (or per token for token-level algorithms), from ``batch.rewards``."""

    @abstractmethod
    def compute_loss(
        self,
        logprobs: "torch.Tensor",
        old_logprobs: "torch.Tensor",
        advantages: "torch.Tensor",
        loss_mask: "torch.Tensor",
        ref_logprobs: Optional["torch.Tensor"] = None,
    ) -> LossOutput:
        """The policy loss over response tokens; all tensors are token-aligned ``[batch, tokens]``."""
