"""One iteration's update of the policy (and the critic, PPO) on its collected steps.

PPO (Schulman et al. 2017, eq. 7 and 9): the clipped surrogate on advantages whitened over the
batch, plus ``value_coef`` times the critic's squared error to the GAE returns (clipped around
the sampling-time values when ``value_clip`` > 0, as in OpenAI baselines' PPO2), minus
``entropy_coef`` times the entropy; Adam, ``epochs`` passes of ``minibatches`` minibatches,
global-norm clipping. GRPO: the same clipped surrogate on the episode-level group advantages
(already standardised per group, so not whitened again), no critic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict

import torch

from rlinf_embodied.policy import ActorCritic


@dataclass
class Batch:
    """Flattened alive steps of one iteration: what the policy saw, did and should learn."""

    obs: torch.Tensor  # [B, obs_size]
    actions: torch.Tensor  # [B, action_size]
    logprobs: torch.Tensor  # [B] at sampling time
    advantages: torch.Tensor  # [B]
    returns: torch.Tensor  # [B] (PPO's critic targets; zeros for GRPO)
    values: torch.Tensor  # [B] at sampling time


def explained_variance(pred: torch.Tensor, target: torch.Tensor) -> float:
    """1 - Var(target - pred) / Var(target) (nan when the targets do not vary)."""
    var = float(target.var())
    return float("nan") if var == 0 else 1.0 - float((target - pred).var()) / var


def _losses(model: ActorCritic, b: Batch, idx: torch.Tensor, cfg: Any, with_critic: bool) -> Dict[str, torch.Tensor]:
    dist = model.distribution(b.obs[idx])
    logp = dist.log_prob(b.actions[idx]).sum(-1)
    ratio = torch.exp(logp - b.logprobs[idx])
    adv = b.advantages[idx]
    surrogate = torch.min(ratio * adv, ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * adv)
    out = {"policy": -surrogate.mean(), "entropy": dist.entropy().sum(-1).mean(),
           "kl": (b.logprobs[idx] - logp).mean().detach(), "clipped": ((ratio - 1).abs() > cfg.clip).float().mean()}
    if with_critic:
        v, old = model.value(b.obs[idx]), b.values[idx]
        err = (v - b.returns[idx]) ** 2
        if cfg.value_clip > 0:
            clipped = old + (v - old).clamp(-cfg.value_clip, cfg.value_clip)
            err = torch.max(err, (clipped - b.returns[idx]) ** 2)
        out["value"] = 0.5 * err.mean()
    return out


def update(model: ActorCritic, optimizer: torch.optim.Optimizer, b: Batch, cfg: Any, generator: torch.Generator,
           train_policy: bool = True) -> Dict[str, float]:
    """Train on ``b`` (see the module docstring); returns the iteration's mean losses and stats.
    ``train_policy`` False (PPO's critic warm-up) trains only the critic."""
    with_critic = cfg.name == "ppo"
    if with_critic:  # whiten PPO's advantages over the batch; GRPO's are standardised per group already
        b.advantages = (b.advantages - b.advantages.mean()) / (b.advantages.std() + 1e-8)
    sums: Dict[str, float] = {}
    count = 0
    size = b.obs.shape[0]
    per = max(1, size // cfg.minibatches)
    for _ in range(cfg.epochs):
        order = torch.randperm(size, generator=generator)
        for start in range(0, per * cfg.minibatches, per):
            parts = _losses(model, b, order[start : start + per], cfg, with_critic)
            loss = parts.get("value", 0.0) * cfg.value_coef
            if train_policy:
                loss = loss + parts["policy"] - cfg.entropy_coef * parts["entropy"]
            optimizer.zero_grad()
            loss.backward()
            if cfg.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            count += 1
    metrics = {f"train/{k}": v / count for k, v in sums.items() if k != "value"}
    if with_critic:
        with torch.no_grad():
            metrics["critic/value_loss"] = sums["value"] / count
            metrics["critic/explained_variance"] = explained_variance(b.values, b.returns)
    return metrics
