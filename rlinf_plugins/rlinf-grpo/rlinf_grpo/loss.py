"""The clipped policy-gradient loss and its aggregations, on packed response tokens.

Per token: ratio = exp(logp - logp_old); loss = max(-A*ratio, -A*clip(ratio, 1-lo, 1+hi))
(PPO, Schulman et al. 2017) with separate low/high epsilons (DAPO clip-higher, Yu et al.
2025); with dual clip c, negative-advantage tokens are bounded by c*|A| (Ye et al. 2020).
KL to the reference policy per token, k1 or k3 (Schulman 2020), k3 with RLinf's clamps
(arXiv:2509.15965: log-ratio to [-20, 20], the estimate to [-10, 10]) so that one token far
from the reference cannot overflow the loss.

Aggregations, each this micro-batch's share of the minibatch value (so micro-batches and
ranks add up):

- token-mean: the sum over tokens / the minibatch's token count (DAPO);
- seq-mean: the sum of sequence token-means / its sequence count (GRPO, GSPO);
- seq-sum: the sum over tokens / the sequence count, each response's summed log-prob being
  one action (REINFORCE/RLOO, Ahmadian et al. 2024);
- seq-sum-norm: the sum over tokens / (sequence count x a constant length) (Dr. GRPO, Liu et
  al. 2025, as TRL's loss_type="dr_grpo").
"""

from __future__ import annotations

from typing import Dict, Optional

import torch

# RLinf's clamps of the k3 estimator (rlinf/algorithms/utils.py kl_penalty).
K3_LOG_RATIO_CLAMP = 20.0
K3_VALUE_CLAMP = 10.0


def kl_penalty(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: str) -> torch.Tensor:
    """Per-token KL(pi || pi_ref) estimate."""
    if estimator == "k1":
        return logprobs - ref_logprobs
    if estimator == "k3":
        log_ratio = torch.clamp(ref_logprobs - logprobs, -K3_LOG_RATIO_CLAMP, K3_LOG_RATIO_CLAMP)
        return torch.clamp(torch.exp(log_ratio) - log_ratio - 1.0, -K3_VALUE_CLAMP, K3_VALUE_CLAMP)
    raise ValueError(f"unknown KL estimator {estimator!r} (algorithm.kl_estimator: k1 or k3)")


def sequence_index(seq_lengths: torch.Tensor) -> torch.Tensor:
    """[T] the sequence each packed token belongs to."""
    return torch.repeat_interleave(torch.arange(len(seq_lengths), device=seq_lengths.device), seq_lengths)


def sequence_sums(per_token: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
    """[S] the sum of each sequence's tokens (differentiable)."""
    index = sequence_index(seq_lengths.to(per_token.device))
    return torch.zeros(len(seq_lengths), dtype=per_token.dtype, device=per_token.device).index_add(0, index, per_token)


def sequence_means(per_token: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
    """[S] each sequence's token mean; an empty sequence's mean is 0."""
    lengths = seq_lengths.to(per_token.device).clamp(min=1).to(per_token.dtype)
    return sequence_sums(per_token, seq_lengths) / lengths


def aggregate(
    per_token: torch.Tensor,
    seq_lengths: torch.Tensor,
    mode: str,
    num_tokens: float,
    num_seqs: float,
    norm_length: Optional[float] = None,
) -> torch.Tensor:
    """This micro-batch's share of the minibatch mean (see the module docstring)."""
    if mode == "token-mean":
        return per_token.sum() / num_tokens
    if mode == "seq-mean":
        return sequence_means(per_token, seq_lengths).sum() / num_seqs
    if mode == "seq-sum":
        return per_token.sum() / num_seqs
    if mode == "seq-sum-norm":
        if not norm_length:
            raise ValueError("loss aggregation seq-sum-norm needs a constant length (algorithm.max_response_length)")
        return per_token.sum() / (num_seqs * norm_length)
    raise ValueError(
        f"unknown loss aggregation {mode!r} (algorithm.loss_agg: token-mean, seq-mean, seq-sum or seq-sum-norm)"
    )


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
    return clip_ratio_loss(ratio, advantages, clip_low, clip_high, dual_clip)


def clip_ratio_loss(
    ratio: torch.Tensor, advantages: torch.Tensor, clip_low: float, clip_high: float, dual_clip: float = 0.0
) -> Dict[str, torch.Tensor]:
    """The PPO clipped loss of given ratios (per token, or per sequence for GSPO)."""
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
    loss = torch.maximum(unclipped, clipped)
    if dual_clip > 0:
        # For A < 0 the loss grows without bound as the ratio grows; cap it at c * |A|.
        loss = torch.where(advantages < 0, torch.minimum(loss, -advantages * dual_clip), loss)
    return {"loss": loss, "ratio": ratio, "clip_active": (loss != unclipped).float()}
