"""torch.distributed set-up and the wrappers: DDP, or FSDP2 (``fully_shard``) per decoder layer."""

from __future__ import annotations

from typing import Any, Dict

import torch
import torch.distributed as dist


def init_process_group(rank: int, world_size: int, addr: str, port: int, device: torch.device) -> None:
    if dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, init_method=f"tcp://{addr}:{port}", rank=rank, world_size=world_size)


def wrap(model: torch.nn.Module, strategy: str, device: torch.device) -> torch.nn.Module:
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return model
    if strategy == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if strategy == "fsdp2":
        from torch.distributed.fsdp import fully_shard

        for layer in _decoder_layers(model):
            fully_shard(layer)
        fully_shard(model)
        return model
    raise ValueError(f"unknown strategy {strategy!r} (actor.strategy: ddp or fsdp2)")


def _decoder_layers(model: torch.nn.Module):
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    return list(layers) if layers is not None else []


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return getattr(model, "module", model)


def full_state_dict(model: torch.nn.Module, strategy: str) -> Dict[str, torch.Tensor]:
    """The full, unsharded weights on CPU (a collective under FSDP2: every rank must call it)."""
    if strategy == "fsdp2" and dist.is_initialized() and dist.get_world_size() > 1:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return {k: v.detach().to("cpu", copy=True) for k, v in unwrap(model).state_dict().items()}


def all_reduce(values: torch.Tensor, op: Any = None) -> torch.Tensor:
    """``values`` reduced over every rank, in place (SUM unless ``op``). NCCL reduces only device
    tensors: a CPU tensor (metric sums, token counts) makes the trip to this rank's GPU and back."""
    if dist.is_initialized() and dist.get_world_size() > 1:
        if dist.get_backend() == "nccl" and not values.is_cuda:
            on_device = values.to(torch.device("cuda", torch.cuda.current_device()))
            dist.all_reduce(on_device, op=op or dist.ReduceOp.SUM)
            values.copy_(on_device.cpu())
        else:
            dist.all_reduce(values, op=op or dist.ReduceOp.SUM)
    return values
