"""Step metrics computed by the driver: rewards merged across reward ranks, rollout statistics."""

from __future__ import annotations

from typing import Dict, List

from rlinf_core.data import TrajectoryBatch
from rlinf_core.interfaces.reward import RewardResult


def merge_rewards(results: List[RewardResult]) -> RewardResult:
    """Concatenate per-rank scores and components; sum the counters."""
    scores = [s for r in results for s in r.scores]
    keys = set().union(*(r.components for r in results)) if results else set()
    components = {k: [v for r in results for v in r.components.get(k, [])] for k in keys}
    metrics: Dict[str, float] = {}
    for r in results:
        for k, v in r.metrics.items():
            metrics[k] = metrics.get(k, 0.0) + float(v)
    return RewardResult(scores=scores, components=components, metrics=metrics)


def rollout_metrics(batch: TrajectoryBatch) -> Dict[str, float]:
    """``rollout/*``: reward, accuracy, lengths, truncation, groups with identical rewards."""
    import torch

    lengths = batch.response_ids.lengths.float()
    rewards = batch.rewards
    out = {
        "rollout/rewards": float(rewards.mean()),
        "rollout/response_length": float(lengths.mean()),
        "rollout/response_length_max": float(lengths.max()),
        "rollout/truncated_fraction": float(batch.truncated.float().mean()),
    }
    if "correct" in batch.reward_components:
        out["rollout/accuracy"] = float(batch.reward_components["correct"].float().mean())
    groups = torch.unique(batch.group_ids)
    uniform = sum(int(torch.unique(rewards[batch.group_ids == g]).numel() == 1) for g in groups)
    out["rollout/uniform_reward_groups"] = float(uniform)
    return out
