"""PPO with a critic (Schulman et al. 2017, arXiv:1707.06347) for language-model post-training,
as RLHF applies it (Ouyang et al. 2022; verl and OpenRLHF's PPO): per-token GAE advantages
(Schulman et al. 2016) from a learned value model, whitened over the step's batch, the clipped
policy loss, and the critic trained on the GAE returns with a clipped value loss.

One step on each actor rank:
1. ``before_update``: the critic scores the state before every response token (``batch.values``);
2. the train backend's update: ``token_advantages`` turns the outcome reward (on the last token)
   and the values into GAE advantages, whitened over every token of every rank, and the policy
   loss is GRPO's clipped surrogate (token-mean, clip 0.2/0.2; an optional KL loss term,
   ``kl_beta``, and entropy bonus);
3. ``after_update``: the critic's updates toward the returns R_t = A_t + V_t (before whitening).
During ``critic_warmup_steps`` only the critic learns (the policy's updates are skipped).

Deviations: the critic lives on the actor's ranks (:mod:`rlinf_ppo.critic`), not in a worker
group of its own; the reward carries no per-token KL penalty (InstructGPT's reward shaping): the
KL to the initial policy is GRPO's loss term (``kl_beta``), as in GRPO; no ratio early stop by
default.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Mapping, Optional

import torch

from rlinf_core import Ragged, TrajectoryBatch
from rlinf_core.interfaces.algorithm import ActorContext, TokenAdvantageInputs, whiten
from rlinf_grpo.token_level import TokenAdvantageGRPO
from rlinf_ppo.config import PPOConfig
from rlinf_ppo.critic import Critic, CriticSettings
from rlinf_ppo.gae import explained_variance, gae


def outcome_token_rewards(outcome: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
    """[T] zero everywhere but each sequence's last token, which gets its outcome reward."""
    rewards = torch.zeros(int(seq_lengths.sum()), dtype=torch.float64)
    ends = torch.cumsum(seq_lengths, 0) - 1
    has_tokens = seq_lengths > 0
    rewards[ends[has_tokens]] = outcome.to(torch.float64)[has_tokens]
    return rewards


class PPO(TokenAdvantageGRPO):
    config_class = PPOConfig
    config: PPOConfig
    name = "ppo"

    def __init__(self, config: PPOConfig):
        super().__init__(config)
        self.critic: Optional[Critic] = None
        self.critic_steps = 0  # steps whose critic update has run (the warm-up counts them)

    def _gae(self, outcome: torch.Tensor, values: torch.Tensor, seq_lengths: torch.Tensor):
        return gae(outcome_token_rewards(outcome, seq_lengths.cpu()), values.cpu(), seq_lengths.cpu(),
                   self.config.gamma, self.config.lam)

    def token_advantages(self, inputs: TokenAdvantageInputs) -> torch.Tensor:
        if inputs.values is None:
            raise ValueError("ppo needs the critic's values (batch.values): train through the actor worker, "
                             "which calls PPO.before_update")
        advantages, _ = self._gae(inputs.advantages, inputs.values, inputs.seq_lengths)
        return whiten(advantages, inputs.reduce_sum).float().to(inputs.old_logprobs.device)

    # -- the critic ----------------------------------------------------------------------
    def attach(self, context: ActorContext) -> None:
        c = self.config
        settings = CriticSettings(lr=c.critic_lr, weight_decay=c.critic_weight_decay, clip_grad=c.critic_clip_grad,
                                  value_clip=c.value_clip, micro_batch_size=c.critic_micro_batch_size,
                                  updates_per_step=c.critic_updates_per_step)
        self.critic = Critic(context, settings, c.critic_model_path or context.model_path)

    def _attached(self) -> Critic:
        if self.critic is None:
            raise RuntimeError("ppo's critic is not loaded: the actor worker attaches it after the train backend loads")
        return self.critic

    def before_update(self, batch: TrajectoryBatch) -> TrajectoryBatch:
        return dataclasses.replace(batch, values=self._attached().values(batch))

    def after_update(self, batch: TrajectoryBatch) -> Dict[str, float]:
        critic = self._attached()
        if batch.values is None or batch.advantages is None:
            raise ValueError("PPO.after_update needs the batch PPO.before_update returned, with advantages")
        lengths = batch.response_ids.lengths
        _, returns = self._gae(batch.advantages, batch.values.values, lengths)
        returns_ragged = Ragged(values=returns.float(), offsets=batch.values.offsets)
        metrics = critic.train(batch, returns_ragged, batch.values)
        metrics["critic/explained_variance"] = explained_variance(batch.values.values, returns.float(), critic.sum_over_ranks)
        metrics["critic/values_mean"] = _token_mean(batch.values.values, critic)
        metrics["critic/returns_mean"] = _token_mean(returns.float(), critic)
        metrics["critic/warmup"] = float(self.critic_steps < self.config.critic_warmup_steps)
        self.critic_steps += 1
        return metrics

    def skip_update(self, minibatch_metrics: Mapping[str, float]) -> bool:
        if self.critic_steps < self.config.critic_warmup_steps:
            return True  # warm-up: only the critic learns this step
        return super().skip_update(minibatch_metrics)

    def save_state(self, path: str) -> None:
        self._attached().save(path, {"critic_steps": self.critic_steps})

    def load_state(self, path: str) -> None:
        self.critic_steps = int(self._attached().load(path)["critic_steps"])


def _token_mean(values: torch.Tensor, critic: Critic) -> float:
    s = critic.sum_over_ranks(torch.tensor([float(values.sum()), float(values.numel())], dtype=torch.float64))
    return float(s[0]) / max(float(s[1]), 1.0)
