"""Advantage estimators shared by the algorithms of this package.

- Group-relative (GRPO, Shao et al. 2024, eq. 3 outcome supervision): A_i = (r_i - mean(r_group))
  / (std(r_group) + eps), with the sample std (Bessel-corrected, as verl and TRL compute it);
  without the std division for Dr. GRPO (Liu et al. 2025, arXiv:2503.20783).
- Leave-one-out (RLOO, Ahmadian et al. 2024, arXiv:2402.14740): A_i = r_i - mean_{j != i} r_j.
- Token-weighted batch normalisation (RLinf's normalize_advantages, arXiv:2509.15965): the
  per-trajectory advantages, each counted once per response token, shifted and scaled to
  mean 0 and population std 1 over the step's batch.
- Returns-to-go with a per-token KL reward and whitening over every token of the step's
  batch (REINFORCE++, Hu 2025, arXiv:2501.03262).

A group of one, or one whose rewards are all equal, gets advantage exactly 0 from the group
estimators, so it adds nothing to the loss (and a train backend may skip it).
"""

from __future__ import annotations

import torch

from rlinf_grpo.loss import sequence_index

# RLinf's masked_normalization eps (added to the std) for the batch normalisation.
BATCH_NORM_EPS = 1e-5


def group_relative_advantages(
    rewards: torch.Tensor, group_ids: torch.Tensor, eps: float, scale_by_std: bool = True
) -> torch.Tensor:
    """Per-trajectory advantages; a group of one (or with identical rewards) gets 0."""
    rewards = rewards.float()
    adv = torch.zeros_like(rewards)
    for g in torch.unique(group_ids):
        idx = group_ids == g
        r = rewards[idx]
        if r.numel() < 2:
            continue
        centred = r - r.mean()
        adv[idx] = centred / (r.std(unbiased=True) + eps) if scale_by_std else centred
    return adv


def leave_one_out_advantages(rewards: torch.Tensor, group_ids: torch.Tensor) -> torch.Tensor:
    """A_i = r_i - mean of the other rewards of i's group, i.e. G/(G-1) * (r_i - group mean)."""
    rewards = rewards.float()
    adv = torch.zeros_like(rewards)
    for g in torch.unique(group_ids):
        idx = group_ids == g
        r = rewards[idx]
        n = r.numel()
        if n < 2:
            continue  # no other sample to compare with
        adv[idx] = r - (r.sum() - r) / (n - 1)
    return adv


def token_weighted_normalize(advantages: torch.Tensor, lengths: torch.Tensor, eps: float = BATCH_NORM_EPS) -> torch.Tensor:
    """(A - mean) / (std + eps) with each trajectory weighted by its response length, as if the
    advantage were broadcast to its tokens and normalised over all of them (population std)."""
    w = lengths.to(torch.float64)
    total = w.sum()
    if total <= 0:
        return torch.zeros_like(advantages)
    a = advantages.to(torch.float64)
    mean = (a * w).sum() / total
    var = ((a - mean).square() * w).sum() / total
    return ((a - mean) / (var.sqrt() + eps)).to(advantages.dtype)


def returns_to_go(token_rewards: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
    """[T] G_t = sum of the rewards from token t to its sequence's end (undiscounted, gamma = 1)."""
    if token_rewards.numel() == 0:
        return token_rewards
    cumsum = torch.cumsum(token_rewards, 0)
    ends = torch.cumsum(seq_lengths.to(token_rewards.device), 0) - 1
    seq_total = cumsum[ends.clamp(min=0)]  # an empty sequence's entry is never gathered below
    index = sequence_index(seq_lengths.to(token_rewards.device))
    # suffix sum = the sequence's cumulative sum at its end - the cumulative sum before token t
    return seq_total[index] - cumsum + token_rewards
