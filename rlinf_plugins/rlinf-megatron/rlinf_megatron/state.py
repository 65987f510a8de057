"""What a Megatron actor writes: Hugging Face checkpoints (for the rollout, evaluation and resuming)
and the state exact resumption needs beyond the weights.

The state folder holds, per model-parallel position (tensor rank t, pipeline rank p), the
optimizer's state as Megatron-Core saves it (``optimizer.state_dict()``, plus
``save_parameter_state``'s file for the distributed optimizer, whose shards are gathered to the
first data-parallel rank) and the frozen reference policy's shard when KL is on; per rank, the
RNG states (torch's and Megatron's CUDA RNG tracker's); and ``meta.json`` with the layout and
the optimizer step count. Resuming needs the same actor ranks and layout; anything else is a
ConfigError naming the fields. Deviation from Megatron-LM: not its distributed checkpoint
format (``dist_checkpointing``), which would allow resharding.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import TYPE_CHECKING, Any, Dict, Mapping

import torch

from rlinf_core.errors import ConfigError
from rlinf_core.files import atomic_folder
from rlinf_core.rng import restore_rng_state, rng_state

if TYPE_CHECKING:
    from rlinf_megatron.backend import MegatronTrainBackend

HF_FILES = ("generation_config.json",)


def save_hf_checkpoint(path: str, weights: Mapping[str, torch.Tensor], source: str, tokenizer: Any, hf_config: Mapping[str, Any]) -> None:
    """``weights`` (Hugging Face names) as a checkpoint folder ``path``, whole or not at all."""
    from safetensors.torch import save_file

    tied = bool(hf_config.get("tie_word_embeddings", False))
    # A tied checkpoint stores the embedding once, as save_pretrained does.
    tensors = {k: v.contiguous() for k, v in weights.items() if not (tied and k == "lm_head.weight")}
    with atomic_folder(path) as tmp:
        save_file(tensors, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(tmp, "config.json"), "w") as fh:
            json.dump(dict(hf_config), fh, indent=2)
        for name in HF_FILES:
            if os.path.exists(os.path.join(source, name)):
                shutil.copy(os.path.join(source, name), os.path.join(tmp, name))
        tokenizer.save_pretrained(tmp)


def _position(b: "MegatronTrainBackend") -> str:
    from megatron.core import parallel_state as ps

    return f"tp{ps.get_tensor_model_parallel_rank()}_pp{ps.get_pipeline_model_parallel_rank()}"


def _meta(b: "MegatronTrainBackend") -> Dict[str, int]:
    p = b.config.megatron
    return {"world_size": b.world_size, "tensor_parallel_size": p.tensor_parallel_size,
            "pipeline_parallel_size": p.pipeline_parallel_size, "context_parallel_size": p.context_parallel_size,
            "use_distributed_optimizer": int(p.use_distributed_optimizer)}


def save_megatron_state(b: "MegatronTrainBackend", path: str) -> None:
    """A collective: every actor rank calls it."""
    from megatron.core import parallel_state as ps
    from megatron.core import tensor_parallel

    os.makedirs(path, exist_ok=True)
    pos = _position(b)
    # One writer per (tensor, pipeline) position: context-parallel ranks hold the same weights.
    first_replica = ps.get_data_parallel_rank(with_context_parallel=True) == 0
    if b.config.megatron.use_distributed_optimizer:
        b.optimizer.save_parameter_state(os.path.join(path, f"optimizer_params_{pos}.pt"))  # gathers over DP
    if first_replica:
        torch.save(b.optimizer.state_dict(), os.path.join(path, f"optimizer_{pos}.pt"))
        if b.reference is not None:
            torch.save({k: v.detach().cpu() for k, v in b.reference.state_dict().items() if isinstance(v, torch.Tensor)},
                       os.path.join(path, f"reference_{pos}.pt"))
    tracker = tensor_parallel.get_cuda_rng_tracker().get_states()
    torch.save({"torch": rng_state(), "megatron": tracker}, os.path.join(path, f"rng_rank{b.rank}.pt"))
    if b.rank == 0:
        with open(os.path.join(path, "meta.json"), "w") as fh:
            json.dump({**_meta(b), "optimizer_steps": b.optimizer_steps}, fh)
    torch.distributed.barrier()


def load_megatron_state(b: "MegatronTrainBackend", path: str) -> None:
    from megatron.core import tensor_parallel

    meta_file = os.path.join(path, "meta.json")
    if not os.path.exists(meta_file):
        raise ConfigError(f"Checkpoint state {meta_file!r} is missing: it was not saved by actor.backend=megatron.")
    with open(meta_file) as fh:
        meta = json.load(fh)
    saved, now = {k: meta[k] for k in _meta(b)}, _meta(b)
    if saved != now:
        raise ConfigError(
            f"The checkpoint was saved with {saved}; this run has {now}. Resume with the same "
            "cluster.component_placement and actor.megatron.* sizes."
        )
    pos = _position(b)
    b.optimizer.load_state_dict(torch.load(os.path.join(path, f"optimizer_{pos}.pt"), map_location="cpu", weights_only=False))
    if b.config.megatron.use_distributed_optimizer:
        b.optimizer.load_parameter_state(os.path.join(path, f"optimizer_params_{pos}.pt"))
    if b.reference is not None:
        b.reference.load_state_dict(torch.load(os.path.join(path, f"reference_{pos}.pt"), map_location=b.device), strict=False)
    rng = torch.load(os.path.join(path, f"rng_rank{b.rank}.pt"), weights_only=False)
    restore_rng_state(rng["torch"])
    tensor_parallel.get_cuda_rng_tracker().set_states(rng["megatron"])
    b.optimizer_steps = int(meta["optimizer_steps"])
