"""The driver's checks of ``actor.megatron.*`` (before anything is written), the group of ranks
that hold one model replica, and the union of their shards (:mod:`rlinf_megatron.batching` says
why they train on it)."""

from __future__ import annotations

import importlib.util
from typing import Any, List, Tuple

from rlinf_core import TrajectoryBatch
from rlinf_core.engine_rollout import read_model_config
from rlinf_core.errors import ConfigError
from rlinf_megatron.batching import union_order
from rlinf_megatron.config import MegatronActorConfig
from rlinf_megatron.shapes import ModelShape, check_layout

INSTALL_HINT = "`actor.backend`='megatron' needs Megatron-Core: pip install 'megatron-core>=0.16' (rlinf-megatron depends on it)."


def check_megatron_config(config: MegatronActorConfig) -> None:
    """ConfigErrors naming the field: what the backend does not build, and layouts the
    checkpoint cannot split (the rank count is checked with the placement)."""
    p = config.megatron
    if p.context_parallel_size > 1 and not p.transformer_engine:
        raise ConfigError(
            f"`actor.megatron.context_parallel_size`={p.context_parallel_size} needs Transformer Engine's attention "
            "(Megatron-Core's local attention runs on one rank's sequence only): set actor.megatron.transformer_engine true."
        )
    if p.sequence_parallel and p.tensor_parallel_size == 1:
        raise ConfigError("`actor.megatron.sequence_parallel` needs `actor.megatron.tensor_parallel_size` > 1.")
    if importlib.util.find_spec("megatron.core") is None:
        raise ConfigError(INSTALL_HINT)
    hf = read_model_config(config.model.model_path, "actor.model.model_path")
    check_layout(ModelShape.from_hf_config(hf), p.layout())


def same_rows_group() -> Any:
    """The process group of the ranks that hold one model replica between them (its tensor,
    pipeline and context parallel ranks: every rank with this rank's data-parallel rank), which
    must train on the same rows. A collective over every rank, once at load."""
    from megatron.core import parallel_state as ps
    import torch

    world = torch.distributed.get_world_size()
    replica_of: List[Any] = [None] * world
    torch.distributed.all_gather_object(replica_of, ps.get_data_parallel_rank())
    members: dict = {}
    for rank, replica in enumerate(replica_of):
        members.setdefault(replica, []).append(rank)
    mine = None
    for replica in sorted(members):  # every rank creates every group, in the same order
        group = torch.distributed.new_group(members[replica])
        if replica == replica_of[torch.distributed.get_rank()]:
            mine = group
    return mine


def group_union(batch: TrajectoryBatch, num_minibatches: int, group: Any) -> Tuple[TrajectoryBatch, List[List[int]]]:
    """The union of the shards of ``group`` (:func:`same_rows_group`), minibatch by minibatch,
    and where each member's rows went in it (a collective over the group)."""
    import torch

    size = torch.distributed.get_world_size(group)
    if size == 1:
        return batch, [list(range(len(batch)))]
    shards: List[TrajectoryBatch] = [None] * size  # type: ignore[list-item]
    torch.distributed.all_gather_object(shards, batch, group=group)
    return union_of(shards, num_minibatches)


def union_of(shards: List[TrajectoryBatch], num_minibatches: int) -> Tuple[TrajectoryBatch, List[List[int]]]:
    """``shards`` (in member order) as one batch, minibatch by minibatch, and each member's positions."""
    order, positions = union_order([len(s) for s in shards], num_minibatches)
    offsets = [sum(len(s) for s in shards[:m]) for m in range(len(shards))]
    return TrajectoryBatch.cat(shards).select([offsets[m] + row for m, row in order]), positions
