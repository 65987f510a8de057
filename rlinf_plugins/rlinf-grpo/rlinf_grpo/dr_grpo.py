"""Dr. GRPO (Liu et al. 2025, "Understanding R1-Zero-Like Training: A Critical Perspective",
arXiv:2503.20783): GRPO "done right", without its two normalisations that bias the update.

- Advantages: A_i = r_i - mean(r_group), no division by the group's std (which up-weights
  questions that are too easy or too hard).
- Loss: the sum over every response token divided by a constant, not by each response's
  length (which favours long wrong answers and short right ones). The paper's objective is
  (1/G) sum_i sum_t; its code (understand-r1-zero / oat) and TRL's ``loss_type="dr_grpo"``
  divide the token sum by (number of sequences x the generation budget) to keep the loss on
  the usual scale. So does this module: sum / (minibatch sequences x ``max_response_length``),
  the budget defaulting to ``rollout.max_new_tokens``.

Deviations: the paper's runs use no KL and a single update per batch; here the PPO clip
(0.2/0.2) and the minibatch structure of the trainer stay, and RLinf's ratio early stop is off.
``loss_agg`` may still be set to token-mean or seq-mean for ablations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rlinf_core import LossInputs, TrajectoryBatch
from rlinf_core.config import doc
from rlinf_grpo.advantages import group_relative_advantages
from rlinf_grpo.algorithm import GRPO
from rlinf_grpo.config import MAX_RESPONSE_LENGTH, GRPOConfig, ratio_early_stop_off, require_int
from rlinf_grpo.loss import aggregate


@dataclass
class DrGRPOConfig(GRPOConfig):
    loss_agg: str = doc(
        "seq-sum-norm",
        "Loss aggregation: seq-sum-norm divides the sum over tokens by (sequences x max_response_length), Dr. GRPO's "
        "constant normaliser (Liu et al. 2025; TRL's loss_type=dr_grpo); token-mean (DAPO) and seq-mean (GRPO) "
        "for ablations.",
        choices=("seq-sum-norm", "token-mean", "seq-mean"),
    )
    max_response_length: int = doc(
        MAX_RESPONSE_LENGTH,
        "The constant of Dr. GRPO's loss normaliser: the generation budget (Liu et al. 2025; TRL's "
        "max_completion_length).",
        ge=1,
    )
    ratio_early_stop: float = ratio_early_stop_off("; off for Dr. GRPO (Liu et al. 2025 has none)")


class DrGRPO(GRPO):
    config_class = DrGRPOConfig
    config: DrGRPOConfig

    def __init__(self, config: DrGRPOConfig):
        super().__init__(config)
        require_int(config.max_response_length, "algorithm.max_response_length")

    def _group_advantages(self, rewards: torch.Tensor, batch: TrajectoryBatch) -> torch.Tensor:
        return group_relative_advantages(rewards, batch.group_ids, self.config.adv_eps, scale_by_std=False)

    def _aggregate(self, per_token: torch.Tensor, inputs: LossInputs) -> torch.Tensor:
        c = self.config
        return aggregate(
            per_token, inputs.seq_lengths, c.loss_agg, inputs.num_tokens, inputs.num_seqs, float(c.max_response_length)
        )
