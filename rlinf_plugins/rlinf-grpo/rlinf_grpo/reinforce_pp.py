"""REINFORCE++ (Hu 2025, "REINFORCE++: An Efficient RLHF Algorithm with Robustness to Both
Prompt and Reward Models", arXiv:2501.03262), the base variant (one baseline-free estimator
for any number of samples per prompt).

- Reward per token: r_t = -beta * KL_t, KL_t = log pi_old(y_t) - log pi_ref(y_t) (k1, between
  the behaviour and the initial policy), plus the outcome reward r(x, y) on the last token.
- Advantage per token: the return to go, A_t = r(x, y) - beta * sum_{s >= t} KL_s (gamma = 1).
- Global advantage normalisation: A_t whitened over every response token of the step's
  batch, (A - mean) / std with the population variance (RLinf's reinpp estimator floors the
  variance at 1e-8; so does this module), the statistics summed over all actor ranks.
- Loss: the PPO clipped token loss (0.2/0.2) with token-mean aggregation.

The advantages depend on the actor's old and reference log-probs, so this algorithm sets
``needs_token_advantages``: ``compute_advantages`` returns the outcome reward per trajectory
(what ``batch.advantages`` then holds), and the train backend calls ``token_advantages`` once
per step, with every old log-prob known, before any update. A zero outcome reward does not
make a trajectory inert (whitening moves it), so ``zero_advantage_is_inert`` is false.

Deviations: ``reward_kl_beta`` defaults to 1e-4, OpenRLHF's README value for REINFORCE++
(``--init_kl_coef 1e-4``); the "REINFORCE++-baseline" variant (group-mean subtraction, KL as a
loss term) is not implemented; RLinf's ratio early stop is off; GRPO's ``normalize_advantages``
does not apply (the whitening is part of the algorithm) and is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rlinf_core.config import doc
from rlinf_core.interfaces.algorithm import TokenAdvantageInputs, whiten
from rlinf_grpo.advantages import returns_to_go
from rlinf_grpo.config import GRPOConfig, ratio_early_stop_off
from rlinf_grpo.token_level import TokenAdvantageGRPO


@dataclass
class ReinforcePPConfig(GRPOConfig):
    reward_kl_beta: float = doc(
        1e-4,
        "beta of the per-token KL penalty in the reward, -beta * (log pi_old - log pi_ref) summed to go (REINFORCE++, "
        "Hu 2025; 1e-4 as OpenRLHF's --init_kl_coef example); 0 disables and needs no reference model.",
        ge=0.0,
    )
    ratio_early_stop: float = ratio_early_stop_off("; off for REINFORCE++ (Hu 2025 has none)")


class ReinforcePP(TokenAdvantageGRPO):
    config_class = ReinforcePPConfig
    config: ReinforcePPConfig
    name = "reinforce_pp"

    @property
    def needs_ref_logprobs(self) -> bool:
        return self.config.reward_kl_beta > 0 or self.config.kl_beta > 0

    def token_advantages(self, inputs: TokenAdvantageInputs) -> torch.Tensor:
        lengths = inputs.seq_lengths.to(inputs.old_logprobs.device)
        token_rewards = torch.zeros(int(lengths.sum()), dtype=torch.float64, device=lengths.device)
        beta = self.config.reward_kl_beta
        if beta > 0:
            if inputs.ref_logprobs is None:
                raise ValueError("algorithm.reward_kl_beta > 0 needs reference log-probs from the train backend")
            kl = inputs.old_logprobs.to(torch.float64) - inputs.ref_logprobs.to(token_rewards)
            token_rewards = token_rewards - beta * kl
        ends = torch.cumsum(lengths, 0) - 1
        has_tokens = lengths > 0
        token_rewards[ends[has_tokens]] += inputs.advantages.to(token_rewards)[has_tokens]
        return whiten(returns_to_go(token_rewards, lengths), inputs.reduce_sum).float()
