"""Group-relative advantages (GRPO, Shao et al. 2024, eq. 3 outcome supervision).

A_i = (r_i - mean(r_group)) / (std(r_group) + eps), with the sample std (Bessel-corrected,
as verl and TRL compute it). Computed once: RLinf normalises advantages a second time
over the whole batch; we do not, so a group's advantages keep summing to zero and a
uniform-reward group contributes exactly nothing.
"""

from __future__ import annotations

import torch


def group_relative_advantages(rewards: torch.Tensor, group_ids: torch.Tensor, eps: float) -> torch.Tensor:
    """Per-trajectory advantages; a group of one (or with identical rewards) gets 0."""
    rewards = rewards.float()
    adv = torch.zeros_like(rewards)
    for g in torch.unique(group_ids):
        idx = group_ids == g
        r = rewards[idx]
        if r.numel() < 2:
            continue
        adv[idx] = (r - r.mean()) / (r.std(unbiased=True) + eps)
    return adv
