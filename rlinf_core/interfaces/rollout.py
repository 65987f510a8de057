"""RolloutBackend interface: samples responses with their log-probs and accepts new weights."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, ClassVar, Dict

from rlinf_core.config.schema import RolloutConfig
from rlinf_core.data import RolloutRequest, TrajectoryBatch
from rlinf_core.interfaces.engine import RankEngine
from rlinf_core.plan.memory import MemoryEstimate, ModelShape, rollout_memory

if TYPE_CHECKING:
    import torch


class RolloutBackend(RankEngine):
    """Generation engine of one rollout rank. Register a subclass with ``register_rollout_backends``.
    ``config`` is its :class:`RolloutConfig` section; ``check_config`` refuses one early."""

    config_class: ClassVar[type] = RolloutConfig
    config: RolloutConfig

    @classmethod
    def estimate_memory(cls, config: RolloutConfig, shape: ModelShape, rows: int, max_tokens: int,
                        device_bytes: float) -> MemoryEstimate:
        """Bytes one rank needs on its device to generate ``rows`` sequences of up to
        ``max_tokens`` tokens (prompt and response) on a device of ``device_bytes`` (0: unknown).
        Default: the weights and a KV cache for every row at full length, allocated at once
        (see :mod:`rlinf_core.plan.memory`); an engine with a paged or fixed-size cache overrides it."""
        return rollout_memory(shape, config.model.precision, rows * max_tokens)

    @abstractmethod
    def load(self) -> None:
        """Load the model and tokenizer named by ``config.model``."""

    @abstractmethod
    def generate(self, request: RolloutRequest) -> TrajectoryBatch:
        """Sample ``request.group_size`` responses per prompt with token ids and sampling log-probs."""

    @abstractmethod
    def update_weights(self, state_dict: Dict[str, "torch.Tensor"]) -> None:
        """Replace the policy weights (Hugging Face parameter names) with the trainer's."""

    def last_generate_costs(self) -> Dict[str, float]:
        """What the engine measured of its last :meth:`generate` call, for the run's cost
        profile (default: nothing). Known key: ``decode_fixed_share``, the share of the call's
        time that would not shrink with fewer rows (see :mod:`rlinf_core.plan.decode_cost`);
        the planner predicts rollouts split over ranks or streamed parts from it."""
        return {}

    def offload(self) -> None:
        """Release memory while the actor trains on the same devices (``runner.offload_between_phases``):
        KV caches and the weights may go (default: nothing). The flow always calls
        :meth:`update_weights` with the trained weights before :meth:`onload` and the next
        :meth:`generate`, so weights need not be kept anywhere."""

    def onload(self) -> None:
        """Be ready to generate again after :meth:`offload` and :meth:`update_weights` (default: nothing)."""
