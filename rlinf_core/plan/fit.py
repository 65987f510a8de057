"""Does a placement fit in memory? The per-rank estimates of :mod:`rlinf_core.plan.memory`,
asked of the recipe's own backends, laid onto the placement's devices and checked against
what a device (GPU) or a node (CPU) holds.

Used by the run before anything is written (``Trainer.validate``), by ``rlinf config show``
(which prints the table) and by ``rlinf plan`` (which drops candidates that do not fit).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from rlinf_core.config.derived import derive_sizes
from rlinf_core.config.loader import section
from rlinf_core.errors import ConfigError
from rlinf_core.plan.memory import GIB, HEADROOM, MemoryEstimate, device_uses, node_uses, read_model_shape

GPU_FIELD = "cluster.gpu_memory_gb"


@dataclass
class MemoryFit:
    """The estimates per component rank, what each device or node needs, and what it has."""

    estimates: Dict[str, MemoryEstimate]
    needed: Dict[str, float]  # "GPU 3 (node 0)" or "node 0" -> bytes
    capacity: Optional[float]  # bytes of one device (GPU) or node (CPU); None: unknown
    capacity_source: str

    @property
    def usable(self) -> Optional[float]:
        return None if self.capacity is None else self.capacity * (1 - HEADROOM)

    def over(self) -> Dict[str, float]:
        return {} if self.usable is None else {k: v for k, v in self.needed.items() if v > self.usable}

    def describe(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {f"{name} (one rank)": est.describe() for name, est in self.estimates.items()}
        worst = max(self.needed.items(), key=lambda kv: kv[1], default=None)
        if worst is not None:
            out["fullest"] = f"{worst[0]}, {worst[1] / GIB:.2f} GiB"
        out["capacity"] = (f"{self.capacity / GIB:.1f} GiB ({self.capacity_source}), "
                           f"{self.usable / GIB:.1f} GiB usable after {HEADROOM:.0%} headroom"
                           if self.capacity is not None else f"unknown ({self.capacity_source})")
        return out


def gpu_capacity(cfg: Any) -> tuple:
    """(bytes of one GPU, where that figure comes from): ``cluster.gpu_memory_gb``, else the
    driver's first visible CUDA device, else unknown."""
    if cfg.cluster.get("gpu_memory_gb"):
        return float(cfg.cluster.gpu_memory_gb) * GIB, f"`{GPU_FIELD}`"
    try:
        import torch

        if torch.cuda.is_available():
            return float(torch.cuda.get_device_properties(0).total_memory), "the driver's GPU 0"
    except (ImportError, RuntimeError):
        pass
    return None, f"set `{GPU_FIELD}` to check GPU placements"


def node_capacity(cfg: Any) -> tuple:
    """(bytes of a node's RAM, source) for CPU placements on the embedded Ray (this machine)."""
    if cfg.cluster.address is not None:
        return None, "the cluster's nodes are not this machine"
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")), "this machine's RAM"
    except (ValueError, OSError):
        return None, "this machine's RAM is unknown"


def estimate_memory(cfg: Any, placement: Any, registry: Any) -> Optional[MemoryFit]:
    """Every component rank's estimate on ``placement``; None while the checkpoint has no
    ``config.json`` (a preparer writes it when the run starts)."""
    actor_shape = read_model_shape(cfg.actor.model.model_path, "actor.model.model_path")
    rollout_shape = read_model_shape(cfg.rollout.model.model_path, "rollout.model.model_path")
    if actor_shape is None or rollout_shape is None:
        return None
    gpu = placement.device_type == "gpu"
    capacity, source = gpu_capacity(cfg) if gpu else node_capacity(cfg)
    sizes = derive_sizes(cfg, placement)
    max_tokens = cfg.data.max_prompt_length + cfg.rollout.max_new_tokens
    actor_cls = registry.get("train_backends", cfg.actor.backend, field_name="actor.backend")
    rollout_cls = registry.get("rollout_backends", cfg.rollout.backend, field_name="rollout.backend")
    estimates = {
        "actor": actor_cls.estimate_memory(section(cfg, "actor"), actor_shape, sizes.actor_ranks,
                                           cfg.actor.micro_batch_size * max_tokens),
        "rollout": rollout_cls.estimate_memory(section(cfg, "rollout"), rollout_shape,
                                               sizes.rollouts_per_step // sizes.rollout_ranks, max_tokens,
                                               capacity or 0.0),
    }
    if gpu:
        from rlinf_core.flow.step import offloads_between_phases

        uses = device_uses(estimates, placement, offloads_between_phases(cfg, placement))
        needed = {f"GPU {u.device} (node {u.node})": u.needed for u in uses}
    else:
        needed = {f"node {n}": b for n, b in node_uses(estimates, placement).items()}
    return MemoryFit(estimates, needed, capacity, source)


def check_memory(fit: Optional[MemoryFit]) -> None:
    """A ConfigError naming the fullest device or node and the fields that shrink it."""
    over = fit.over() if fit is not None else {}
    if not over:
        return
    where, need = max(over.items(), key=lambda kv: kv[1])
    parts = "; ".join(f"{name}: {est.total / GIB:.1f} GiB ({_largest(est)})" for name, est in fit.estimates.items())
    raise ConfigError(
        f"The placement does not fit in memory: {where} needs ~{need / GIB:.1f} GiB, it has "
        f"{fit.capacity / GIB:.1f} GiB ({fit.capacity_source}) of which {fit.usable / GIB:.1f} GiB are usable "
        f"after {HEADROOM:.0%} headroom. Per rank: {parts}. Shrink it with more ranks "
        "(`cluster.component_placement`), a sharding backend (`actor.backend`/its strategy), "
        "`actor.micro_batch_size`, `rollout.max_new_tokens` or the rollout's batch/cache size; "
        f"`rlinf config show` prints the estimate. (The estimate: rlinf_core/plan/memory.py.)"
    )


def _largest(estimate: MemoryEstimate) -> str:
    parts: List[tuple] = sorted(estimate.parts.items(), key=lambda kv: -kv[1])[:2]
    return ", ".join(f"{k} {v / GIB:.1f}" for k, v in parts)
