"""The DeepSpeed train backend: rlinf-torch's forward, loss and step logic on a DeepSpeed ZeRO engine.

Follows ZeRO (Rajbhandari et al. 2020, arXiv:1910.02054) as DeepSpeed implements it: stage 1
partitions the optimizer states over the actor ranks, stage 2 also the gradients, stage 3 also
the parameters; optimizer states (and, at stage 3, parameters) can live in CPU memory. RLinf
(arXiv:2509.15965) trains with Megatron or FSDP; this backend is the design card's DeepSpeed
option with the same TrainBackend contract as `torch`.

What is rlinf-torch's and what is DeepSpeed's. Everything a step computes (micro-batches of
similar length, the shared-prompt forward, inert rows skipped, old log-probs, metrics) is
:class:`rlinf_torch.TorchTrainBackend`'s; this class swaps in the engine at its seams: the
wrapping (``deepspeed.initialize``), the backward (``engine.backward``), the update
(``engine.step``: DeepSpeed clips to ``actor.optim.clip_grad``, skips a step whose gradient norm
is not finite, and steps the learning-rate schedule), discarding a rejected minibatch's
gradients, and the full weights (gathered at stage 3). Gradient accumulation stays rlinf's: DeepSpeed's unmanaged mode, where
every ``backward`` accumulates and every ``step`` is a boundary, because a minibatch's
micro-batch count varies with its skipped rows.

Deviations: the optimizer is torch's AdamW under ZeRO (not DeepSpeed's JIT-compiled CPU Adam),
so the two backends apply the same update rule; the shared-prompt forward is off at stage 3 (a
module called twice per micro-batch confuses ZeRO-3's parameter prefetching, as it does
FSDP2's); streamed steps (``runner.groups_per_part``) are refused, since they rescale
gradients in place, which partitioned gradients do not allow; offload between phases
(``runner.offload_between_phases``) releases nothing beyond what ZeRO's own CPU offload keeps
off the device.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Dict

import torch

from rlinf_core import TrainBackend
from rlinf_core.errors import ConfigError
from rlinf_core.plan.memory import ActorShards, MemoryEstimate, ModelShape, actor_memory
from rlinf_core.rng import restore_rng_state, rng_state
from rlinf_deepspeed.config import DeepSpeedActorConfig, check_zero_config, deepspeed_config
from rlinf_torch import TorchTrainBackend
from rlinf_torch.schedule import lr_factor

INSTALL_HINT = (
    "`actor.backend`='deepspeed' needs DeepSpeed: pip install wheel && DS_BUILD_OPS=0 pip install "
    "--no-build-isolation 'deepspeed>=0.19.8' (scripts/install.sh does this), then pip install rlinf-deepspeed."
)
TAG = "zero"  # the DeepSpeed checkpoint tag inside a state folder


def import_deepspeed(device: torch.device) -> Any:
    """DeepSpeed, with its accelerator chosen from the actor's device (it must be set before import)."""
    os.environ.setdefault("DS_ACCELERATOR", "cuda" if device.type == "cuda" else "cpu")
    try:
        import deepspeed
    except ImportError as exc:
        raise ConfigError(f"{INSTALL_HINT} ({exc})") from exc
    return deepspeed


class DeepSpeedTrainBackend(TorchTrainBackend):
    config_class = DeepSpeedActorConfig
    config: DeepSpeedActorConfig

    # Streamed steps rescale .grad in place: refused (module docstring). The flow checks these.
    begin_streamed_step = TrainBackend.begin_streamed_step
    train_part = TrainBackend.train_part
    finish_streamed_step = TrainBackend.finish_streamed_step

    @classmethod
    def check_config(cls, config: DeepSpeedActorConfig) -> None:
        check_zero_config(config)
        import importlib.util

        if importlib.util.find_spec("deepspeed") is None:  # found without importing it (seconds) in the driver
            raise ConfigError(INSTALL_HINT)

    @classmethod
    def estimate_memory(cls, config: DeepSpeedActorConfig, shape: ModelShape, num_ranks: int, micro_tokens: int) -> MemoryEstimate:
        """DeepSpeed holds 16-bit weights with an fp32 master copy in its optimizer (fp32 when
        precision is fp32), partitioned by the ZeRO stage; offloaded state lives in CPU memory."""
        return actor_memory(shape, config.model.precision, cls.memory_shards(config, num_ranks), micro_tokens,
                            recompute=config.gradient_checkpointing)

    @classmethod
    def memory_shards(cls, config: DeepSpeedActorConfig, num_ranks: int) -> ActorShards:
        z, part = config.deepspeed, 1 / num_ranks
        return ActorShards(
            weights=0.0 if z.offload_params else (part if z.zero_stage >= 3 else 1.0),
            grads=part if z.zero_stage >= 2 else 1.0,
            optimizer=0.0 if z.offload_optimizer else part,
        )

    def _can_share_prompts(self) -> bool:
        return super()._can_share_prompts() and self.config.deepspeed.zero_stage < 3

    def _wrap_and_optimize(self, model: torch.nn.Module) -> None:
        deepspeed = import_deepspeed(self.device)
        if not torch.distributed.is_initialized():  # one rank: DeepSpeed still wants a process group
            from rlinf_torch import distributed as D

            D.init_process_group(0, 1, "127.0.0.1", _free_port(), self.device)
        # DeepSpeed picks its device by LOCAL_RANK; a rank sees only its own devices (Ray sets
        # CUDA_VISIBLE_DEVICES per rank), so its device is always the first it sees.
        os.environ.setdefault("LOCAL_RANK", str(self.device.index or 0))
        o, total = self.config.optim, self.setup.total_optimizer_steps
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=o.lr, betas=(o.adam_beta1, o.adam_beta2), eps=o.adam_eps, weight_decay=o.weight_decay
        )
        engine, self.optimizer, _, self.scheduler = deepspeed.initialize(
            model=model,
            optimizer=optimizer,
            lr_scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(
                opt, lambda s: lr_factor(s, o.lr_warmup_steps, total, o.lr_scheduler, o.min_lr_ratio)
            ),
            config=deepspeed_config(self.config),
            dist_init_required=False,
        )
        self.model = engine

    def _autocast(self):
        return contextlib.nullcontext()  # DeepSpeed holds bf16/fp16 weights itself

    # -- the engine seams of TorchTrainBackend ----------------------------------------------
    def _micro_batch_context(self, last: bool):
        return contextlib.nullcontext()  # unmanaged accumulation: nothing is reduced until step()

    def _backward(self, loss: torch.Tensor) -> None:
        self.model.backward(loss, scale_wrt_gas=False)

    def _optimizer_step(self) -> float:
        self.model.step()
        if not self.model.was_step_applied():
            return float("nan")  # DeepSpeed found the norm not finite and skipped the update
        norm = self.model.get_global_grad_norm()
        return float(norm) if norm is not None else float("nan")

    def _discard_gradients(self) -> None:
        """Drop the accumulated gradients without an update, as DeepSpeed's own step does when it
        finds them overflowing. There is no public call for it, and ``zero_grad`` is not enough:
        in unmanaged mode ZeRO-1/2 keep each backward's gradients in ``all_grad_tensors`` until
        ``step()`` (found here, DeepSpeed 0.19.8; tests/test_zero_vs_torch.py checks each stage)."""
        opt = self.model.optimizer
        if hasattr(opt, "_overflow_clean_up"):  # ZeRO-3
            opt._overflow_clean_up(prev_scale=None)
            return
        opt.zero_grad(set_to_none=True)
        opt._release_preflattened_grad_buffers()
        if opt.cpu_offload:
            opt.reset_cpu_buffers()
        for held in (opt.all_grad_tensors, opt.averaged_gradients):
            for k in list(held):
                held[k] = None

    def current_lr(self) -> float:
        return float(self.model.get_lr()[0])

    def _full_state_dict(self) -> Dict[str, torch.Tensor]:
        module = self.model.module
        if self.config.deepspeed.zero_stage < 3:
            return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
        import deepspeed

        with deepspeed.zero.GatheredParameters(list(module.parameters()), modifier_rank=None):
            return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}

    # -- exact resumption -----------------------------------------------------------------
    def save_state(self, path: str) -> None:
        """DeepSpeed's own checkpoint (each rank's partitions of the optimizer, the schedule),
        RNG states per rank, and on rank 0 the frozen reference policy when KL is on."""
        os.makedirs(path, exist_ok=True)
        client = {"world_size": self.world_size, "zero_stage": self.config.deepspeed.zero_stage}
        self.model.save_checkpoint(path, tag=TAG, client_state=client, save_latest=False)
        torch.save(rng_state(), os.path.join(path, f"rng_rank{self.rank}.pt"))
        if self.reference is not None and self.rank == 0:
            torch.save({k: v.detach().cpu() for k, v in self.reference.state_dict().items()}, os.path.join(path, "reference.pt"))

    def load_state(self, path: str) -> None:
        if not os.path.isdir(os.path.join(path, TAG)):
            raise ConfigError(f"Checkpoint state {os.path.join(path, TAG)!r} is missing: it was not saved by actor.backend=deepspeed.")
        loaded, client = self.model.load_checkpoint(
            path, tag=TAG, load_optimizer_states=True, load_lr_scheduler_states=True, load_module_strict=True
        )
        if loaded is None:
            raise ConfigError(f"DeepSpeed could not load the checkpoint state in {path!r}.")
        saved = (client.get("world_size"), client.get("zero_stage"))
        if saved != (self.world_size, self.config.deepspeed.zero_stage):
            raise ConfigError(
                f"The checkpoint was saved by {saved[0]} actor ranks at ZeRO stage {saved[1]}; this run has "
                f"{self.world_size} at stage {self.config.deepspeed.zero_stage}. Resume with the same "
                "cluster.component_placement and actor.deepspeed.zero_stage."
            )
        restore_rng_state(torch.load(os.path.join(path, f"rng_rank{self.rank}.pt"), weights_only=False))
        if self.reference is not None:
            self.reference.load_state_dict(torch.load(os.path.join(path, "reference.pt"), map_location=self.device))


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
