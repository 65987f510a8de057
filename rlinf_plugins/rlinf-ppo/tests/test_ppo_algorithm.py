"""PPO's advantages from the critic's values by hand, the warm-up, the contract suite."""

import pytest
import torch

from rlinf_core.config import doc  # noqa: F401  (the config module must import)
from rlinf_core.errors import ConfigError
from rlinf_core.interfaces.algorithm import TokenAdvantageInputs
from rlinf_core.testing import check_algorithm
from rlinf_ppo.algorithm import PPO, outcome_token_rewards
from rlinf_ppo.config import PPOConfig


def test_outcome_reward_sits_on_the_last_token():
    assert outcome_token_rewards(torch.tensor([2.0, -1.0, 5.0]), torch.tensor([2, 0, 1])).tolist() == [0.0, 2.0, 5.0]


def test_token_advantages_are_whitened_return_minus_value():
    algo = PPO(PPOConfig(group_size=2))
    lengths, outcome = torch.tensor([2, 1]), torch.tensor([1.0, 0.0])
    values = torch.tensor([0.25, 0.5, 0.5])
    adv = algo.token_advantages(TokenAdvantageInputs(advantages=outcome, old_logprobs=torch.zeros(3), seq_lengths=lengths,
                                                     values=values))
    raw = torch.tensor([0.75, 0.5, -0.5], dtype=torch.float64)  # gamma = lambda = 1: R - V
    expected = (raw - raw.mean()) / raw.var(unbiased=False).sqrt()
    assert adv.tolist() == pytest.approx(expected.tolist(), abs=1e-6)
    with pytest.raises(ValueError, match="ppo needs the critic's values"):
        algo.token_advantages(TokenAdvantageInputs(advantages=outcome, old_logprobs=torch.zeros(3), seq_lengths=lengths))


def test_warmup_skips_the_policy_updates_then_defers_to_grpo():
    algo = PPO(PPOConfig(group_size=2, critic_warmup_steps=2))
    assert algo.skip_update({}) is True
    algo.critic_steps = 2
    assert algo.skip_update({"train/ratio": 1.0}) is False
    with pytest.raises(ConfigError, match="`algorithm.normalize_advantages` does not apply to ppo"):
        PPO(PPOConfig(group_size=2, normalize_advantages=True))


def test_contract_suite():
    check_algorithm(PPO, fresh_process=False)
