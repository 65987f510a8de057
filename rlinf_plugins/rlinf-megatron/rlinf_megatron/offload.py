"""Free a Megatron actor's GPU memory while the rollout generates on the same GPUs, and bring it
back before training (``runner.offload_between_phases``; RLinf's collocated mode).

Follows RLinf (arXiv:2509.15965), which offloads the actor's weights, gradients and optimizer
state between phases, through Megatron-Core's own calls: the DDP buffers' ``offload_to_cpu`` /
``reload_from_cpu`` (the gradient buffer is freed, not copied: it is zero at a step's start;
weights in a contiguous parameter buffer are copied to pinned memory, and every parameter stays
a view of the buffer) and the optimizer's ``offload_to_cpu`` / ``restore_from_cpu``. Weights
outside a parameter buffer (there is one only with the distributed optimizer) move one by one.
Each part follows its ``actor.megatron.offload_*`` switch.
"""

from __future__ import annotations

from typing import Any

import torch

from rlinf_megatron.config import MegatronParallelConfig


def _buffers(model: Any) -> list:
    return list(model.buffers) + list(getattr(model, "expert_parallel_buffers", []))


def _loose_params(model: Any) -> list:
    """Parameters whose weights do not live in a DDP parameter buffer."""
    if any(b.param_data is not None for b in _buffers(model)):
        return []
    return list(model.module.parameters())


def offload_to_cpu(model: Any, optimizer: Any, settings: MegatronParallelConfig) -> None:
    torch.cuda.synchronize()
    for buffer in _buffers(model):
        buffer.offload_to_cpu(move_params=settings.offload_params, move_grads=settings.offload_grads)
    if settings.offload_params:
        for p in _loose_params(model):
            p.data = p.data.to("cpu", non_blocking=True)
    if settings.offload_optimizer:
        optimizer.offload_to_cpu()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()


def reload_from_cpu(model: Any, optimizer: Any, settings: MegatronParallelConfig, device: torch.device) -> None:
    for buffer in _buffers(model):
        buffer.reload_from_cpu(move_params=settings.offload_params, move_grads=settings.offload_grads)
    if settings.offload_params:
        for p in _loose_params(model):
            p.data = p.data.to(device, non_blocking=True)
    if settings.offload_optimizer:
        optimizer.restore_from_cpu()
    torch.cuda.synchronize()
