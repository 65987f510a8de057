"""DAPO (Yu et al. 2025, "DAPO: An Open-Source LLM Reinforcement Learning System at Scale",
arXiv:2503.14476): GRPO with its four changes.

1. Clip-higher: clip_ratio_low 0.2, clip_ratio_high 0.28 (§3.1).
2. Dynamic sampling (§3.2): groups whose rewards are all equal are dropped and more prompts
   are sampled, up to ``max_num_gen_batches`` generation batches per step (verl's
   ``algorithm.filter_groups``). The runner does the sampling through
   ``max_generation_batches``/``keep_group``; it passes the reward worker's scores, before the
   overlong penalty, which is DAPO's recipe (``filter_groups.metric: acc``). A group the
   runner had to keep to fill the batch though ``keep_group`` rejected it (its reward scores
   all equal) gets advantage 0 here, even when the length penalty would tell its samples
   apart: it trains as little as a dropped group.
3. Token-level policy-gradient loss (§3.3): token-mean aggregation.
4. Overlong reward shaping (§3.4), soft overlong punishment: with L = ``max_response_length``
   and buffer B, a response of |y| tokens gets -factor * clamp(|y| - (L - B), 0, B) / B added to
   its reward, before the group advantage (verl's DAPO reward manager). The paper also tries
   "overlong filtering", masking the loss of truncated samples; its best runs do not use it
   and verl does not implement it, so ``mask_truncated`` is off by default.

Masking truncated samples (``mask_truncated``): a truncated sample still counts in its group's
mean and std (its reward is a real outcome of the prompt), then gets advantage 0 and zero
weight on every per-token loss term (policy, KL, entropy). Its tokens stay in the token-mean
denominator (the minibatch's token count, given by the train backend), exactly as a
zero-advantage sample's do. Deviation: verl-style response masks would also drop them from the
denominator; keeping them there keeps micro-batches and ranks additive without the backend
counting masks, at the price of a proportionally smaller step when many tokens are masked.

With GRPO's ``normalize_advantages`` (off here, as in DAPO), the batch statistics include the
groups and samples zeroed afterwards by the filter and the truncation mask.

Deviations from the paper's setup: ``ratio_early_stop`` (an RLinf option) is off; the paper's
buffer is 4096 of a 20480-token limit (a fifth), which ``overlong_buffer_len: null`` keeps as a
fraction of this run's limit; ``max_num_gen_batches`` 10 is the verl DAPO recipe's value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from rlinf_core import LossInputs, TrajectoryBatch
from rlinf_core.config import doc
from rlinf_core.errors import ConfigError
from rlinf_grpo.algorithm import GRPO
from rlinf_grpo.config import MAX_RESPONSE_LENGTH, GRPOConfig, ratio_early_stop_off, require_int

# The paper's soft-punishment buffer relative to its length limit: 4096 / 20480.
DEFAULT_BUFFER_FRACTION = 0.2


@dataclass
class DAPOConfig(GRPOConfig):
    clip_ratio_high: float = doc(
        0.28, "Upper clip: ratio <= 1 + clip_ratio_high; DAPO's clip-higher (Yu et al. 2025, §3.1).", ge=0.0
    )
    ratio_early_stop: float = ratio_early_stop_off("; off in DAPO (Yu et al. 2025 has none)")
    dynamic_sampling: bool = doc(
        True, "Drop groups whose rewards are all equal and sample more prompts to fill the batch (DAPO §3.2)."
    )
    max_num_gen_batches: int = doc(
        10,
        "Most generation batches one step may draw while dynamic sampling (verl's filter_groups.max_num_gen_batches; "
        "10 in the DAPO recipe). verl's 0 = unlimited has no counterpart here: at least 1.",
        ge=1,
    )
    max_response_length: int = doc(
        MAX_RESPONSE_LENGTH, "L in DAPO's overlong punishment (§3.4): the response length limit.", ge=1
    )
    overlong_buffer_len: Optional[int] = doc(
        None,
        "B in DAPO's soft overlong punishment (§3.4): responses longer than L - B lose up to overlong_penalty_factor, "
        "linearly. null: a fifth of max_response_length (the paper's 4096 of 20480).",
        ge=1,
    )
    overlong_penalty_factor: float = doc(
        1.0,
        "Largest overlong penalty, reached at max_response_length (DAPO §3.4, verl's penalty_factor); 0 disables.",
        ge=0.0,
    )
    mask_truncated: bool = doc(
        False,
        "DAPO's overlong filtering (§3.4): truncated samples get zero loss weight but count in their group's "
        "baseline and in the token-mean denominator. Off in the paper's best runs and in verl.",
    )


def overlong_penalty(lengths: torch.Tensor, max_length: int, buffer: int, factor: float) -> torch.Tensor:
    """DAPO's soft overlong punishment: 0 up to L - B, then linearly down to -factor at L (and beyond)."""
    exceed = (lengths.float() - (max_length - buffer)).clamp(min=0.0, max=float(buffer))
    return -factor * exceed / buffer


class DAPO(GRPO):
    config_class = DAPOConfig
    config: DAPOConfig

    def __init__(self, config: DAPOConfig):
        super().__init__(config)
        length = require_int(config.max_response_length, "algorithm.max_response_length")
        if self.buffer_length >= length:
            raise ConfigError(
                f"`algorithm.overlong_buffer_len` ({self.buffer_length}) must be below "
                f"`algorithm.max_response_length` ({length}): the penalty starts at their difference"
            )

    @property
    def buffer_length(self) -> int:
        c = self.config
        return c.overlong_buffer_len or max(1, int(c.max_response_length * DEFAULT_BUFFER_FRACTION))

    @property
    def max_generation_batches(self) -> int:
        return self.config.max_num_gen_batches if self.config.dynamic_sampling else 1

    def keep_group(self, rewards: torch.Tensor) -> bool:
        if not self.config.dynamic_sampling:
            return True
        # A group of one has std 0 too: DAPO's filter (std > 0) drops it.
        return bool((rewards != rewards.reshape(-1)[0]).any()) if rewards.numel() else False

    def _rewards(self, batch: TrajectoryBatch) -> torch.Tensor:
        c = self.config
        rewards = batch.rewards.float()
        if c.overlong_penalty_factor == 0:
            return rewards
        lengths = batch.response_ids.lengths
        return rewards + overlong_penalty(lengths, c.max_response_length, self.buffer_length, c.overlong_penalty_factor)

    def _post_advantages(self, advantages: torch.Tensor, batch: TrajectoryBatch) -> torch.Tensor:
        out = advantages.clone()
        if self.config.dynamic_sampling:
            for g in torch.unique(batch.group_ids):
                idx = batch.group_ids == g
                if not self.keep_group(batch.rewards[idx]):
                    out[idx] = 0.0
        if self.config.mask_truncated:
            out[batch.truncated.bool()] = 0.0
        return out

    def _loss_mask(self, inputs: LossInputs) -> Optional[torch.Tensor]:
        if not self.config.mask_truncated:
            return None
        if inputs.truncated is None:
            raise ValueError("algorithm.mask_truncated needs LossInputs.truncated from the train backend")
        keep = (~inputs.truncated.bool()).to(inputs.logprobs.dtype).to(inputs.logprobs.device)
        return torch.repeat_interleave(keep, inputs.seq_lengths.to(keep.device))
