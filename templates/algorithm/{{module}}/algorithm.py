"""`{{name}}`: REINFORCE with a per-group baseline, as an rlinf Algorithm.

Each prompt is answered ``algorithm.group_size`` (G) times; a response's advantage is its
reward minus a baseline from the other responses to the same prompt:

- ``baseline: leave-one-out`` (RLOO; Ahmadian et al. 2024, "Back to Basics: Revisiting
  REINFORCE Style Optimization for Learning from Human Feedback in LLMs"; Kool et al. 2019):
  A_i = r_i - mean_{j != i} r_j = G / (G - 1) * (r_i - mean_j r_j), an unbiased baseline;
- ``baseline: group-mean`` (Dr. GRPO; Liu et al. 2025, "Understanding R1-Zero-Like Training:
  A Critical Perspective"): A_i = r_i - mean_j r_j, i.e. GRPO's advantage without dividing
  by the group's reward std.

A group of one response, or whose rewards are all equal, gets zero advantages.

Loss, per response token t of response i (tensors are packed, see
``rlinf_core.LossInputs``): -A_i * rho_t with rho_t = exp(logp_t - logp_old_t), the
importance ratio (1 on-policy, where the gradient is -A_i * grad logp_t: REINFORCE). With
``clip_ratio`` > 0, PPO's clipped surrogate max(-A rho, -A clip(rho, 1 - c, 1 + c))
(Schulman et al. 2017). The sum over tokens is divided by ``inputs.num_tokens`` (the
minibatch's tokens on all ranks), so micro-batches and data-parallel ranks add up to the
minibatch's token mean (DAPO's token-level loss, Yu et al. 2025).

Deviation from RLOO: the loss is token-level (a sum over tokens over the token count),
not a per-sequence log-likelihood of the whole response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

import torch

from rlinf_core import Algorithm, LossInputs, LossOutput, TrajectoryBatch
from rlinf_core.config import AlgorithmConfig, doc

BASELINES = ("leave-one-out", "group-mean")


@dataclass
class {{class_name}}Config(AlgorithmConfig):
    """The `algorithm` section when `algorithm.name: {{name}}`."""

    baseline: str = doc(
        "leave-one-out",
        "Baseline subtracted from each reward: leave-one-out (RLOO, Ahmadian et al. 2024) or group-mean "
        "(Dr. GRPO, Liu et al. 2025).",
        choices=BASELINES,
    )
    clip_ratio: float = doc(
        0.0,
        "Clip the importance ratio to [1 - c, 1 + c] in PPO's surrogate (Schulman et al. 2017); 0 disables.",
        ge=0.0,
        le=1.0,
    )


def group_baseline_advantages(rewards: torch.Tensor, group_ids: torch.Tensor, baseline: str) -> torch.Tensor:
    """One advantage per trajectory: its reward minus its group's baseline (see the module docstring)."""
    if baseline not in BASELINES:
        raise ValueError(f"unknown baseline {baseline!r} (algorithm.baseline: {', '.join(BASELINES)})")
    rewards = rewards.float()
    adv = torch.zeros_like(rewards)
    for g in torch.unique(group_ids):
        idx = group_ids == g
        r = rewards[idx]
        n = r.numel()
        if n < 2:
            continue
        centred = r - r.mean()
        adv[idx] = centred * n / (n - 1) if baseline == "leave-one-out" else centred
    return adv


def policy_loss(
    logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor, clip_ratio: float
) -> Dict[str, torch.Tensor]:
    """Per-token loss, importance ratio and whether clipping changed the token's loss."""
    ratio = torch.exp(logprobs - old_logprobs)
    loss = -advantages * ratio
    clipped = torch.zeros_like(loss, dtype=torch.bool)
    if clip_ratio > 0:
        bounded = -advantages * torch.clamp(ratio, 1.0 - clip_ratio, 1.0 + clip_ratio)
        clipped = bounded > loss
        loss = torch.maximum(loss, bounded)
    return {"loss": loss, "ratio": ratio, "clipped": clipped}


class {{class_name}}(Algorithm):
    """REINFORCE with a leave-one-out or group-mean baseline, token-level loss."""

    config_class = {{class_name}}Config
    config: {{class_name}}Config

    def compute_advantages(self, batch: TrajectoryBatch) -> torch.Tensor:
        if batch.rewards is None:
            raise ValueError("compute_advantages needs batch.rewards (score the batch first)")
        return group_baseline_advantages(batch.rewards, batch.group_ids, self.config.baseline)

    def compute_loss(self, inputs: LossInputs) -> LossOutput:
        parts = policy_loss(inputs.logprobs, inputs.old_logprobs, inputs.advantages, self.config.clip_ratio)
        loss = parts["loss"].sum() / inputs.num_tokens
        ratio = parts["ratio"].detach()
        metrics = {
            "train/policy_loss": float(parts["loss"].detach().mean()) if ratio.numel() else 0.0,
            "train/ratio": float(ratio.mean()) if ratio.numel() else 1.0,
            "train/ratio_max": float(ratio.max()) if ratio.numel() else 1.0,
            "train/clip_fraction": float(parts["clipped"].float().mean()) if ratio.numel() else 0.0,
        }
        return LossOutput(loss=loss, metrics=metrics)
