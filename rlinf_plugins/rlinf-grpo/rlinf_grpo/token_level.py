"""The base of algorithms whose advantages are per token and whitened over the step's batch
(REINFORCE++ here, PPO in rlinf-ppo): ``compute_advantages`` passes the outcome reward on, the
train backend calls ``token_advantages`` once per step with the actor's log-probs (and a critic's
values), and GRPO's clipped loss trains on the result."""

from __future__ import annotations

import torch

from rlinf_core import TrajectoryBatch
from rlinf_core.errors import ConfigError
from rlinf_grpo.algorithm import GRPO
from rlinf_grpo.config import GRPOConfig


class TokenAdvantageGRPO(GRPO):
    name = "this algorithm"  # for error messages

    def __init__(self, config: GRPOConfig):
        super().__init__(config)
        if config.normalize_advantages:
            raise ConfigError(
                f"`algorithm.normalize_advantages` does not apply to {self.name}: it whitens its token advantages "
                "over the step's batch itself; leave it false"
            )

    @property
    def needs_token_advantages(self) -> bool:
        return True

    @property
    def zero_advantage_is_inert(self) -> bool:
        return False  # whitening (and a critic's values) move a zero outcome

    @property
    def advantages_per_group(self) -> bool:
        return False  # whitened over the step's batch

    def compute_advantages(self, batch: TrajectoryBatch) -> torch.Tensor:
        if batch.rewards is None:
            raise ValueError(f"{type(self).__name__}.compute_advantages needs batch.rewards (score the batch first)")
        return batch.rewards.float().clone()  # the outcome reward; token_advantages does the rest
