"""GSPO (Zheng et al. 2025, "Group Sequence Policy Optimization", arXiv:2507.18071).

The importance ratio, its clipping and the aggregation are per sequence, matching the
sequence-level reward:

- s_i = (pi(y_i|x) / pi_old(y_i|x))^(1/|y_i|) = exp(mean over y_i's tokens of (log p - log p_old)),
  the geometric mean of the token ratios;
- loss_i = max(-A_i s_i, -A_i clip(s_i, 1 - eps_low, 1 + eps_high)), with the group-relative
  advantage A_i = (r_i - mean) / std of GRPO;
- J = (1/G) sum_i (...): the sequence mean (``loss_agg: seq-mean``).

The clip ranges are those of the paper's experiments: 3e-4 below and 4e-4 above, two orders of magnitude
smaller than a token-level clip because s_i averages the log-ratio over the sequence.

In the packed layout loss_i is broadcast to its tokens and the seq-mean aggregation takes each
sequence's token mean, which is loss_i again: its gradient is the paper's (s_i / |y_i| times
the sum of the token log-prob gradients, when not clipped). Metrics: ``train/ratio`` and
``train/clip_fraction`` are token-weighted averages of the sequences' s_i and clip indicators.

Deviations: the sequence log-ratio is clamped at 10 before exp (as verl's GSPO loss) so a
diverged sequence cannot overflow; RLinf's ratio early stop is off; ``loss_agg: token-mean``
(length-weighted sequences) is allowed for ablations; GSPO-token (per-token advantages) is
not implemented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

import torch

from rlinf_core import LossInputs
from rlinf_core.config import doc
from rlinf_grpo.algorithm import GRPO
from rlinf_grpo.config import GRPOConfig, ratio_early_stop_off
from rlinf_grpo.loss import clip_ratio_loss, sequence_index, sequence_means

# verl's clamp of the sequence log-ratio before exp (compute_policy_loss_gspo).
SEQ_LOG_RATIO_MAX = 10.0


@dataclass
class GSPOConfig(GRPOConfig):
    loss_agg: str = doc(
        "seq-mean",
        "Loss aggregation: seq-mean is GSPO's (1/G) sum over sequences (Zheng et al. 2025); token-mean weights "
        "each sequence by its length (ablation).",
        choices=("seq-mean", "token-mean"),
    )
    clip_ratio_low: float = doc(
        3e-4, "Lower clip of the sequence ratio: s >= 1 - clip_ratio_low (GSPO, Zheng et al. 2025: 3e-4).", ge=0.0, le=1.0
    )
    clip_ratio_high: float = doc(
        4e-4, "Upper clip of the sequence ratio: s <= 1 + clip_ratio_high (GSPO, Zheng et al. 2025: 4e-4).", ge=0.0
    )
    ratio_early_stop: float = ratio_early_stop_off(", on the sequence ratios; off for GSPO")


def sequence_ratios(logprobs: torch.Tensor, old_logprobs: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
    """[S] s_i = exp(mean_t(log p - log p_old)), the log-ratio clamped at SEQ_LOG_RATIO_MAX."""
    mean_log_ratio = sequence_means(logprobs - old_logprobs, seq_lengths)
    return torch.exp(mean_log_ratio.clamp(max=SEQ_LOG_RATIO_MAX))


def sequence_values(per_token: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
    """[S] the value at each sequence's first token (a broadcast per-sequence value); 0 for empty ones."""
    lengths = seq_lengths.to(per_token.device)
    starts = torch.cumsum(lengths, 0) - lengths
    if per_token.numel() == 0:
        return per_token.new_zeros(len(lengths))
    values = per_token[starts.clamp(max=per_token.numel() - 1)]
    return torch.where(lengths > 0, values, torch.zeros_like(values))


class GSPO(GRPO):
    config_class = GSPOConfig
    config: GSPOConfig

    def _policy_terms(self, inputs: LossInputs) -> Dict[str, torch.Tensor]:
        c = self.config
        lengths = inputs.seq_lengths.to(inputs.logprobs.device)
        ratios = sequence_ratios(inputs.logprobs, inputs.old_logprobs.to(inputs.logprobs.dtype), lengths)
        advantages = sequence_values(inputs.advantages.to(inputs.logprobs.dtype), lengths)
        parts = clip_ratio_loss(ratios, advantages, c.clip_ratio_low, c.clip_ratio_high, c.dual_clip)
        index = sequence_index(lengths)
        return {k: v[index] for k, v in parts.items()}
