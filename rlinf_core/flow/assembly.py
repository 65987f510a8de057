"""The step's batch, put together where it is trained: rollout parts + the driver's plan.

The rollout ranks' outputs reach the actor ranks straight from the object store (the driver
holds only their references); the driver sends a :class:`~rlinf_core.data.BatchPlan` with
the kept rows, their rewards and the policy version. Every actor rank assembles the same
batch, computes the advantages over all of it (so algorithms that normalise across the batch,
like REINFORCE++, see what they would see on one process) and keeps its shard.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

from rlinf_core.data import BatchPlan, TrajectoryBatch


def actor_shards(n: int, global_batch_size: int, world: int, seed: int, step: int) -> List[List[int]]:
    """Row indices for each actor rank: a seeded shuffle, cut so that minibatch m of every
    rank holds its slice of the same ``global_batch_size`` rows."""
    import torch

    gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
    perm = torch.randperm(n, generator=gen).tolist()
    per_rank = global_batch_size // world
    shards: List[List[int]] = [[] for _ in range(world)]
    for start in range(0, n, global_batch_size):
        mb = perm[start : start + global_batch_size]
        for r in range(world):
            shards[r].extend(mb[r * per_rank : (r + 1) * per_rank])
    return shards


def group_numbers(keys: Sequence[Any]) -> Any:
    """Group ids 0, 1, ... in order of first appearance of each key: (part, group in part) pairs,
    since every rollout part numbers its own groups from 0."""
    import torch

    order: dict = {}
    return torch.tensor([order.setdefault(k, len(order)) for k in keys], dtype=torch.long)


def assemble(parts: Sequence[TrajectoryBatch], plan: BatchPlan, algorithm: Optional[Any] = None) -> TrajectoryBatch:
    """The planned batch with rewards, versions and (given ``algorithm``) advantages, then the shard."""
    import torch

    selected: List[TrajectoryBatch] = []
    group_keys: List[Any] = []
    for p, rows in plan.pieces:
        part = parts[p]
        piece = part if list(rows) == list(range(len(part))) else part.select(rows)
        selected.append(piece)
        group_keys.extend((p, g) for g in piece.group_ids.tolist())
    batch = TrajectoryBatch.cat(selected)
    batch.group_ids = group_numbers(group_keys)
    if plan.rewards.numel() != len(batch):
        raise ValueError(f"batch plan has {plan.rewards.numel()} rewards for {len(batch)} rows")
    batch.rewards = plan.rewards
    batch.reward_components = dict(plan.reward_components)
    batch.policy_versions = torch.full((len(batch),), plan.policy_version, dtype=torch.long)
    if algorithm is not None:
        batch.advantages = algorithm.compute_advantages(batch).float()
    return batch if plan.shard is None else batch.select(plan.shard)
