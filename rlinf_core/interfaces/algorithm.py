"""Algorithm interface: turns scored trajectories into advantages and a policy loss.

Losses work on packed response tokens: every tensor in :class:`LossInputs` is 1-D over the
response tokens of one micro-batch, sequences back to back (``seq_lengths`` tells where
each ends). The backend gives the token and sequence counts of the whole minibatch across
ranks, so that an algorithm normalises by them and gradient accumulation over micro-batches
and data-parallel ranks adds up to the exact minibatch loss.

Optional capabilities, each off by default so a minimal algorithm stays two methods:
dynamic sampling (``max_generation_batches``/``keep_group``, the runner's side), per-token
advantages computed in the actor once old and reference log-probs are known
(``needs_token_advantages``/``token_advantages``), and a differentiable entropy in
:class:`LossInputs` (``needs_entropy_grad``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, ClassVar, Dict, Mapping, Optional

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
    # [T] entropy of each token's distribution; differentiable only when the algorithm's
    # needs_entropy_grad is true (otherwise a detached diagnostic), None when not computed.
    entropy: Optional["torch.Tensor"] = None
    truncated: Optional["torch.Tensor"] = None  # [S] bool: the response hit the length limit


def _no_reduce(values: "torch.Tensor") -> "torch.Tensor":
    return values


@dataclass
class TokenAdvantageInputs:
    """One actor rank's share of the step's batch as packed response tokens, every row in order.

    ``reduce_sum`` sums a tensor over the actor ranks (identity with one rank): statistics
    over the whole step's batch (e.g. REINFORCE++'s global whitening) go through it, and every
    rank calls it the same number of times with tensors of the same shape.
    """

    advantages: "torch.Tensor"  # [S] what compute_advantages returned for these rows
    old_logprobs: "torch.Tensor"  # [T] behaviour policy (recomputed or the rollout's)
    seq_lengths: "torch.Tensor"  # [S] response lengths, sum = T
    ref_logprobs: Optional["torch.Tensor"] = None  # [T] initial policy, when needs_ref_logprobs
    rewards: Optional["torch.Tensor"] = None  # [S] the reward worker's scores
    reduce_sum: Callable[["torch.Tensor"], "torch.Tensor"] = _no_reduce
    values: Optional["torch.Tensor"] = None  # [T] the critic's values (``TrajectoryBatch.values``), when set


# The floor on the variance when whitening (RLinf's REINFORCE++: rsqrt(var.clamp(min=1e-8))).
WHITEN_VAR_FLOOR = 1e-8


def whiten(values: "torch.Tensor", reduce_sum: Callable[["torch.Tensor"], "torch.Tensor"]) -> "torch.Tensor":
    """(x - mean) / sqrt(max(var, floor)) over the tokens of every actor rank (``reduce_sum``,
    e.g. :attr:`TokenAdvantageInputs.reduce_sum`): population variance, float64 sums."""
    import torch

    x = values.to(torch.float64)
    stats = reduce_sum(torch.stack([x.sum(), x.square().sum(), x.new_tensor(float(x.numel()))]))
    count = float(stats[2])
    if count == 0:
        return values
    mean = stats[0] / count
    var = (stats[1] / count - mean * mean).clamp(min=WHITEN_VAR_FLOOR)
    return ((x - mean) * torch.rsqrt(var)).to(values.dtype)


@dataclass
class ActorContext:
    """Where an algorithm's own models (e.g. PPO's critic) live: on the actor's ranks, beside the
    policy, after the train backend has loaded (its process group, when several, is joined)."""

    rank: int
    world_size: int
    device: "torch.device"
    seed: int
    model_path: str  # the policy's checkpoint (``actor.model.model_path``)
    total_optimizer_steps: int


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
        the minibatch's token and sequence counts, and changes nothing about how the other
        rows are treated (no decision over a micro-batch's tokens). Train backends may then
        skip training on it (its loss metrics still count). Default False: only claim it when
        it is true."""
        return False

    @property
    def needs_entropy_grad(self) -> bool:
        """Whether :meth:`compute_loss` differentiates ``LossInputs.entropy`` (e.g. an entropy
        bonus). Train backends then keep the graph of the full softmax; otherwise the entropy
        they pass is a detached diagnostic."""
        return False

    @property
    def needs_token_advantages(self) -> bool:
        """Whether advantages are per token and need the actor's log-probs (e.g. REINFORCE++'s
        KL-in-reward returns): train backends then call :meth:`token_advantages` once per
        ``train_step``, before any update, and pass its result as ``LossInputs.advantages``."""
        return False

    def token_advantages(self, inputs: TokenAdvantageInputs) -> "torch.Tensor":
        """[T] per-token advantages of this rank's rows (see :class:`TokenAdvantageInputs`);
        only called when :attr:`needs_token_advantages` is true."""
        raise NotImplementedError(f"{type(self).__name__} sets needs_token_advantages but has no token_advantages")

    @property
    def advantages_per_group(self) -> bool:
        """Whether :meth:`compute_advantages` over a batch holding some whole prompt groups gives
        their rows the values it gives them over the whole step's batch (no statistic across
        groups). The flow may then stream a step's parts into the actor as they are scored
        (``runner.groups_per_part``). Default False: only claim it when it is true."""
        return False

    @property
    def loss_divides_by_num_tokens(self) -> Optional[bool]:
        """How :meth:`compute_loss` uses ``LossInputs.num_tokens``: True, exactly as a divisor
        of the whole loss (a token mean); False, not at all; None (the default), unknown.
        A backend training parts before the step's token count is known (streaming) needs
        True or False: with True it divides the accumulated gradient by the count at the end."""
        return None

    @property
    def max_generation_batches(self) -> int:
        """Dynamic sampling (DAPO): how many rollout batches one step may draw to fill its batch with kept groups; 1 = off."""
        return 1

    def keep_group(self, rewards: "torch.Tensor") -> bool:
        """Whether a prompt group with these rewards trains (DAPO drops groups whose rewards are all equal)."""
        return True

    @abstractmethod
    def compute_advantages(self, batch: TrajectoryBatch) -> "torch.Tensor":
        """One advantage per trajectory, from ``batch.rewards`` and ``batch.group_ids``."""

    @abstractmethod
    def compute_loss(self, inputs: LossInputs) -> LossOutput:
        """This micro-batch's share of the minibatch policy loss."""

    def skip_update(self, minibatch_metrics: Mapping[str, float]) -> bool:
        """Whether to drop a minibatch's update after seeing its metrics (default: never)."""
        return False

    # -- models the algorithm trains beside the policy, on the actor's ranks (PPO's critic) --
    def attach(self, context: ActorContext) -> None:
        """Load what the algorithm trains itself, once the train backend has loaded (default: nothing)."""

    def before_update(self, batch: TrajectoryBatch) -> TrajectoryBatch:
        """This rank's batch as the policy update gets it, e.g. with ``values`` set (default: as it is)."""
        return batch

    def after_update(self, batch: TrajectoryBatch) -> Dict[str, float]:
        """Train what the algorithm owns on the step's batch (after the policy update); metrics
        reduced over the actor ranks (a collective: every rank calls it). Default: nothing."""
        return {}

    def save_state(self, path: str) -> None:
        """Write what resuming needs of the algorithm's own models into folder ``path`` (a
        collective). Default: nothing."""

    def load_state(self, path: str) -> None:
        """Restore :meth:`save_state`'s folder after :meth:`attach`. Default: nothing."""
