"""RLOO (Ahmadian et al. 2024, "Back to Basics: Revisiting REINFORCE Style Optimization for
Learning from Human Feedback in LLMs", arXiv:2402.14740): REINFORCE with a leave-one-out baseline.

- Advantages: with k samples of a prompt, A_i = r_i - (1/(k-1)) sum_{j != i} r_j:
  each sample's baseline is the mean reward of the others, an unbiased baseline that needs no
  critic. A prompt sampled once has no baseline and gets advantage 0.
- Loss: the whole response is one action, so the paper's estimator is
  (1/k) sum_i A_i grad log pi(y_i|x) with log pi(y_i|x) the sum of the token log-probs:
  ``loss_agg: seq-sum`` (sum over tokens / number of sequences).

Deviations: the per-token ratio is clipped as in PPO (0.2/0.2) so that several minibatch
updates per batch stay safe; with one update per batch (the paper's setting) every ratio is 1,
the clip never acts and the gradient is exactly the paper's. The paper puts a sequence-level
KL penalty into the reward; here KL is only available as GRPO's loss term (``kl_beta``, off).
``loss_agg: token-mean`` (verl's and OpenRLHF's RLOO) is allowed. RLinf's ratio early stop
is off.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rlinf_core import TrajectoryBatch
from rlinf_core.config import doc
from rlinf_grpo.advantages import leave_one_out_advantages
from rlinf_grpo.algorithm import GRPO
from rlinf_grpo.config import GRPOConfig, ratio_early_stop_off


@dataclass
class RLOOConfig(GRPOConfig):
    loss_agg: str = doc(
        "seq-sum",
        "Loss aggregation: seq-sum sums each response's token losses and averages over responses, the response "
        "being one action (RLOO, Ahmadian et al. 2024); token-mean as verl's and OpenRLHF's RLOO (DAPO, Yu et al. "
        "2025); seq-mean as GRPO (Shao et al. 2024).",
        choices=("seq-sum", "token-mean", "seq-mean"),
    )
    ratio_early_stop: float = ratio_early_stop_off("; off for RLOO (Ahmadian et al. 2024 has none)")


class RLOO(GRPO):
    config_class = RLOOConfig
    config: RLOOConfig

    def _group_advantages(self, rewards: torch.Tensor, batch: TrajectoryBatch) -> torch.Tensor:
        return leave_one_out_advantages(rewards, batch.group_ids)
