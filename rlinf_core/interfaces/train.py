"""TrainBackend interface: log-probs, entropy, loss steps, checkpoints and weights out."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Dict, Optional, Tuple

from rlinf_core.config.schema import ActorConfig
from rlinf_core.data import Ragged, TrajectoryBatch
from rlinf_core.interfaces.engine import RankEngine
from rlinf_core.plan.memory import ActorShards, MemoryEstimate, ModelShape, actor_memory

if TYPE_CHECKING:
    import torch

    from rlinf_core.interfaces.algorithm import Algorithm


@dataclass
class TrainSetup:
    """Run-level facts a train backend needs beyond its own config section."""

    seed: int
    temperature: float  # log-probs are of softmax(logits / temperature), as the rollout samples
    total_optimizer_steps: int  # for the learning-rate schedule
    keep_reference: bool = False  # keep a frozen copy of the initial policy (KL penalty)
    dist_addr: Optional[str] = None  # torch.distributed rendezvous when world_size > 1
    dist_port: Optional[int] = None


class TrainBackend(RankEngine):
    """Training engine of one actor rank. Register a subclass with ``register_train_backends``.
    ``config`` is its :class:`ActorConfig` section; ``check_config`` refuses one early."""

    config_class: ClassVar[type] = ActorConfig
    config: ActorConfig

    @classmethod
    def check_placement(cls, config: ActorConfig, num_ranks: int, device_type: str, devices_per_rank: int) -> None:
        """Check ``config`` against where the actor will run: ``num_ranks`` ranks on ``device_type``
        devices ("cpu" or "gpu"), ``devices_per_rank`` each. The driver calls it once the placement
        is resolved, before anything is written (a ConfigError naming the field). Default: any."""

    @classmethod
    def estimate_memory(cls, config: ActorConfig, shape: ModelShape, num_ranks: int, micro_tokens: int) -> MemoryEstimate:
        """Bytes one of ``num_ranks`` ranks needs on its device to train ``shape`` in micro-batches
        of ``micro_tokens`` tokens (``rlinf config show`` prints it; GPU placements are checked
        against it). Default: every rank holds everything (DDP), see :mod:`rlinf_core.plan.memory`;
        a backend that shards overrides :meth:`memory_shards` or this."""
        return actor_memory(shape, config.model.precision, cls.memory_shards(config, num_ranks), micro_tokens)

    @classmethod
    def memory_shards(cls, config: ActorConfig, num_ranks: int) -> ActorShards:
        """The fraction of weights, gradients, optimizer state and activations one rank holds."""
        return ActorShards()

    @abstractmethod
    def load(self, setup: TrainSetup) -> None:
        """Load model, tokenizer and optimizer; join the process group when ``world_size > 1``."""

    @abstractmethod
    def compute_logprobs(self, batch: TrajectoryBatch) -> Tuple[Ragged, Ragged]:
        """Per-token log-probs and entropies of ``batch.response_ids`` under the current weights."""

    @abstractmethod
    def train_step(
        self, batch: TrajectoryBatch, algorithm: "Algorithm", num_minibatches: int, recompute_logprobs: bool
    ) -> Dict[str, float]:
        """All updates for this rank's shard of one step: ``num_minibatches`` per epoch.

        Old log-probs are recomputed first when ``recompute_logprobs`` (else the rollout's
        are used). Returns metrics reduced over ranks (``train/*``).
        """

    # -- streaming (runner.groups_per_part): one update per step, trained part by part ----------
    def begin_streamed_step(self, algorithm: "Algorithm", recompute_logprobs: bool, num_seqs: int) -> None:
        """Start a one-update step whose rows arrive in parts (:meth:`train_part`), before the
        step's token count is known. ``num_seqs`` is the step's sequence count over all ranks.
        Backends that cannot stream leave this unimplemented; the flow then refuses
        ``runner.groups_per_part`` when it validates the config."""
        raise NotImplementedError(f"train backend {type(self).__name__} does not train streamed steps")

    def train_part(self, batch: TrajectoryBatch) -> None:
        """Forward/backward over this rank's rows of one part (advantages set), accumulating
        gradients; parts come in the same fixed order in every placement."""
        raise NotImplementedError(f"train backend {type(self).__name__} does not train streamed steps")

    def finish_streamed_step(self) -> Dict[str, float]:
        """The step's update from the accumulated gradients; metrics as :meth:`train_step`'s."""
        raise NotImplementedError(f"train backend {type(self).__name__} does not train streamed steps")

    def offload(self) -> None:
        """Release what training needs and generation does not (optimizer state, gradients) while the
        rollout generates on the same devices (``runner.offload_between_phases``; default: nothing)."""

    def onload(self) -> None:
        """Bring back what :meth:`offload` released, before the next :meth:`train_step` (default: nothing)."""

    @abstractmethod
    def state_dict_for_rollout(self) -> Dict[str, "torch.Tensor"]:
        """Full (gathered) weights with Hugging Face names, for the rollout's ``update_weights``."""

    @abstractmethod
    def save_checkpoint(self, path: str) -> None:
        """Write a Hugging Face checkpoint (``save_pretrained``, tokenizer included) to ``path``."""

    @abstractmethod
    def save_state(self, path: str) -> None:
        """Write what exact resumption needs besides the weights into folder ``path``: optimizer,
        scheduler, RNG states, algorithm state such as a reference policy (a collective: all ranks call it)."""

    @abstractmethod
    def load_state(self, path: str) -> None:
        """Restore :meth:`save_state`'s folder, after :meth:`load` from the checkpoint's weights."""
