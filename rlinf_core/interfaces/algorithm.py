"""Algorithm interface: turns scored trajectories into advantages and a policy loss.

Losses work on packed response tokens: every tensor in :class:`LossInputs` is 1-D over the
response tokens of one micro-batch, sequences back to back (``seq_lengths`` tells where
each ends). The backend gives the token and sequence counts of the whole minibatch across
ranks, so that an algorithm normalises by them and gradient accumulation over micro-batches
and data-parallel ranks adds up to the exact minibatch loss.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Dict, Mapping, Optional

from rlinf_core.config.schema import AlgorithmConfig
from rlinf_core.data import TrajectoryBatch

if TYPE_CHECKING:
    import torch


@dataclass
class LossInputs:
    """One micro-batch of packed response tokens and the minibatch-wide normalisers."""

    logprobs: "torch.Tensor"  # [T] current policy, differentiable
    old_logprobs: "torch.Tensor"  # [T] behaviour policy
    advantages: "torch.Tensor"  # [T] per token (sequence advantages broadcast)
    seq_lengths: "torch.Tensor"  # [S] response lengths, sum = T
    num_tokens: float  # response tokens in the whole minibatch, all ranks
    num_seqs: float  # sequences in the whole minibatch, all ranks
    ref_logprobs: Optional["torch.Tensor"] = None  # [T] initial policy, when KL is on


@dataclass
class LossOutput:
    """This micro-batch's share of the minibatch loss, and token-weighted metrics.

    Metric names ending in ``_max`` are reduced with max, the others averaged weighted
    by tokens, across micro-batches and ranks.
    """

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

    @property
    def needs_ref_logprobs(self) -> bool:
        """Whether :meth:`compute_loss` needs the initial policy's log-probs (e.g. a KL term)."""
        return False

    @property
    def zero_advantage_is_inert(self) -> bool:
        """Whether a trajectory whose advantage is exactly 0 adds exactly nothing to
        :meth:`compute_loss` or its gradient (no KL, entropy or other per-token term), given
        the minibatch's token and sequence counts. Train backends may then skip forwarding
        it. Default False: only claim it when it is true."""
        return False

    @abstractmethod
    def compute_advantages(self, batch: TrajectoryBatch) -> "torch.Tensor":
        """One advantage per trajectory, from ``batch.rewards`` and ``batch.group_ids``."""

    @abstractmethod
    def compute_loss(self, inputs: LossInputs) -> LossOutput:
        """This micro-batch's share of the minibatch policy loss."""

    def skip_update(self, minibatch_metrics: Mapping[str, float]) -> bool:
        """Whether to drop a minibatch's update after seeing its metrics (default: never)."""
        return False
