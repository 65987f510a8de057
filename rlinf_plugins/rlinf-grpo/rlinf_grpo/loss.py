"""The clipped policy-gradient loss with GRPO/DAPO options, on packed response tokens.

Per token: ratio = exp(logp - logp_old); loss = max(-A*ratio, -A*clip(ratio, 1-lo, 1+hi))
(PPO, Schulman et al. 2017) with separate low/high epsilons (DAPO clip-higher, Yu et al.
2025); with dual clip c, negative-advantage tokens are bounded by c*|A| (Ye et al. 2020).
Optional KL to the reference policy added per token with weight beta (Shao et al. 2024).
Aggregation: token-mean divides the sum over tokens by the minibatch's token count (DAPO);
seq-mean divides each sequence's token mean by the minibatch's sequence count (GRPO).
"""

from __future__ import annotations

from typing import Dict

import torch


def kl_penalty(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: str) -> torch.Tensor:
    """Per-token KL(pi || pi_ref) estimate."""
    if estimator == "k1":
        return logprobs - ref_logprobs
    if estimator == "k3":
        log_ratio = ref_logprobs - logprobs
        return torch.exp(log_ratio) - log_ratio - 1.0
    raise ValueError(f"unknown KL estimator {estimator!r} (algorithm.kl_estimator: k1 or k3)")


def aggregate(per_token: torch.Tensor, seq_lengths: torch.Tensor, mode: str, num_tokens: float, num_seqs: float) -> torch.Tensor:
    """This micro-batch's share of the minibatch mean (see the module docstring)."""
    if mode == "token-mean":
        return per_token.sum() / num_tokens
    if mode == "seq-mean":
        seq_index = torch.repeat_interleave(torch.arange(len(seq_lengths)), seq_lengths)
        sums = torch.zeros(len(seq_lengths), dtype=per_token.dtype).index_add(0, seq_index, per_token)
        means = sums / seq_lengths.clamp(min=1).to(per_token.dtype)
        return means.sum() / num_seqs
    raise ValueError(f"unknown loss aggregation {mode!r} (algorithm.loss_agg: token-mean or seq-mean)")


def clipped_policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    clip_low: float,
    clip_high: float,
    dual_clip: float = 0.0,
) -> Dict[str, torch.Tensor]:
    """Per-token loss, ratio, and whether a clip changed the token's loss."""
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
    loss = torch.maximum(unclipped, clipped)
    if dual_clip > 0:
        # For A < 0 the loss grows without bound as the ratio grows; cap it at c * |A|.
        loss = torch.where(advantages < 0, torch.minimum(loss, -advantages * dual_clip), loss)
    return {"loss": loss, "ratio": ratio, "clip_active": (loss != unclipped).float()}
