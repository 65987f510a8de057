"""Step metrics computed by the driver: rewards merged across reward ranks, rollout statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Tuple

from rlinf_core.data import ScoredRows
from rlinf_core.interfaces.reward import RewardResult

if TYPE_CHECKING:
    import torch


def merge_rewards(results: List[RewardResult]) -> RewardResult:
    """Concatenate per-rank scores and components; sum the counters."""
    scores = [s for r in results for s in r.scores]
    keys = set().union(*(r.components for r in results)) if results else set()
    components = {k: [v for r in results for v in r.components.get(k, [])] for k in keys}
    short = sorted(k for k, v in components.items() if len(v) != len(scores))
    if short:
        raise ValueError(f"reward components {short} do not have one value per response in every reward call")
    metrics: Dict[str, float] = {}
    for r in results:
        for k, v in r.metrics.items():
            metrics[k] = metrics.get(k, 0.0) + float(v)
    return RewardResult(scores=scores, components=components, metrics=metrics)


def scored_tensors(result: RewardResult) -> Tuple["torch.Tensor", Dict[str, "torch.Tensor"]]:
    """A reward result's scores and components as float32 tensors: the driver's and the actor's
    view of the same scores must be the same numbers."""
    import torch

    components = {k: torch.tensor(v, dtype=torch.float32) for k, v in result.components.items()}
    return torch.tensor(result.scores, dtype=torch.float32), components


def rollout_metrics(rows: ScoredRows) -> Dict[str, float]:
    """``rollout/*``: reward, accuracy, lengths, truncation, groups with identical rewards."""
    import torch

    lengths = rows.shape.response_lengths.float()
    rewards = rows.rewards
    out = {
        "rollout/rewards": float(rewards.mean()),
        "rollout/response_length": float(lengths.mean()),
        "rollout/response_length_max": float(lengths.max()),
        "rollout/truncated_fraction": float(rows.shape.truncated.float().mean()),
    }
    if "correct" in rows.reward_components:
        out["rollout/accuracy"] = float(rows.reward_components["correct"].float().mean())
    group_ids = rows.shape.group_ids
    uniform = sum(int(torch.unique(rewards[group_ids == g]).numel() == 1) for g in torch.unique(group_ids))
    out["rollout/uniform_reward_groups"] = float(uniform)
    return out
