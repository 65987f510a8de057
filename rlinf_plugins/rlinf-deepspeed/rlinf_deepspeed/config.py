"""The `deepspeed` train backend's config section, and the DeepSpeed config JSON built from it.

rlinf's own fields (optimizer, clipping, micro-batch size, precision) stay the single source:
the DeepSpeed config is derived from them, never written by hand, so the two cannot disagree.
``actor.deepspeed.extra`` passes further DeepSpeed keys through (DeepSpeed validates them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict

from rlinf_core.config import doc
from rlinf_core.errors import ConfigError
from rlinf_torch import TorchActorConfig

# Keys rlinf derives from its own fields; `extra` may not set them.
DERIVED_KEYS = {
    "train_micro_batch_size_per_gpu": "actor.micro_batch_size",
    "train_batch_size": "actor.global_batch_size",
    "gradient_accumulation_steps": "actor.global_batch_size / actor.micro_batch_size",
    "gradient_clipping": "actor.optim.clip_grad",
    "optimizer": "actor.optim",
    "scheduler": "actor.optim.lr_scheduler",
    "bf16": "actor.model.precision",
    "fp16": "actor.model.precision",
    "zero_optimization": "actor.deepspeed.zero_stage and its offload fields",
}


@dataclass
class ZeroConfig:
    """DeepSpeed ZeRO (Rajbhandari et al. 2020): what is partitioned over the actor ranks."""

    zero_stage: int = doc(
        2,
        "1: optimizer states partitioned over the actor ranks; 2: + gradients; 3: + parameters "
        "(plain data parallel: actor.backend=torch).",
        choices=(1, 2, 3),
    )
    offload_optimizer: bool = doc(False, "Keep optimizer states (and the update) in CPU memory (stages 1-3).")
    offload_params: bool = doc(False, "Keep parameters in CPU memory between uses (stage 3 only).")
    reduce_bucket_mb: int = doc(200, "Gradient reduce/all-gather bucket size in MiB.", ge=1)
    extra: Dict[str, Any] = doc(
        factory=dict,
        help="Further DeepSpeed config keys, passed through as they are (e.g. {communication_data_type: fp32}); "
        "keys rlinf derives from its own fields are refused.",
    )


@dataclass
class DeepSpeedActorConfig(TorchActorConfig):
    strategy: str = doc("zero", "Data parallelism: DeepSpeed ZeRO (see actor.deepspeed).", choices=("zero",))
    deepspeed: ZeroConfig = doc(ZeroConfig(), "DeepSpeed ZeRO settings.")


def check_zero_config(actor: DeepSpeedActorConfig) -> None:
    """ConfigErrors naming the field, before any process starts."""
    z = actor.deepspeed
    if z.offload_params and z.zero_stage != 3:
        raise ConfigError(f"`actor.deepspeed.offload_params` needs ZeRO stage 3 (`actor.deepspeed.zero_stage` is {z.zero_stage}).")
    for key in z.extra:
        if key in DERIVED_KEYS:
            raise ConfigError(f"`actor.deepspeed.extra.{key}` is derived by rlinf from {DERIVED_KEYS[key]}; set that instead.")


def deepspeed_config(actor: DeepSpeedActorConfig) -> Dict[str, Any]:
    """The DeepSpeed config for ``actor``. Gradient accumulation is left to rlinf (a minibatch's
    micro-batch count varies with its skipped rows): DeepSpeed's unmanaged mode, where every
    ``backward`` accumulates and every ``step`` is a boundary."""
    check_zero_config(actor)
    z = actor.deepspeed
    bucket = z.reduce_bucket_mb * 2**20 // 4  # DeepSpeed counts elements
    zero: Dict[str, Any] = {"stage": z.zero_stage, "reduce_bucket_size": bucket, "allgather_bucket_size": bucket}
    if z.offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu"}
    if z.offload_params:
        zero["offload_param"] = {"device": "cpu"}
    return {
        **z.extra,
        "train_micro_batch_size_per_gpu": actor.micro_batch_size,
        "gradient_accumulation_steps": 1,
        "managed_gradient_accumulation": False,
        "gradient_clipping": actor.optim.clip_grad,
        "bf16": {"enabled": actor.model.precision == "bf16"},
        "fp16": {"enabled": actor.model.precision == "fp16"},
        "zero_optimization": zero,
        # rlinf's AdamW (torch's) under ZeRO: DeepSpeed's CPU Adam would be a JIT-compiled op,
        # and the optimizer must be the one the torch backend uses for the two to agree.
        "zero_allow_untested_optimizer": True,
        "zero_force_ds_cpu_optimizer": False,
        "steps_per_print": 2**31 - 1,
        "wall_clock_breakdown": False,
    }
