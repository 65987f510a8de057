"""REINFORCE++: KL-in-reward returns to go, whitened over the whole batch (all ranks)."""

import math

import pytest
import torch

from rlinf_core.errors import ConfigError
from rlinf_core.interfaces.algorithm import TokenAdvantageInputs
from rlinf_grpo import ReinforcePP, ReinforcePPConfig
from rlinf_grpo.advantages import returns_to_go


def inputs(**kw):
    base = dict(
        advantages=torch.tensor([1.0, 0.0]),  # outcome rewards
        old_logprobs=torch.tensor([-1.0, -1.0, -1.0, -2.0]),
        ref_logprobs=torch.tensor([-1.5, -1.0, -0.5, -1.0]),
        seq_lengths=torch.tensor([3, 1]),
    )
    base.update(kw)
    return TokenAdvantageInputs(**base)


def test_returns_to_go_restart_per_sequence():
    assert returns_to_go(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]), torch.tensor([3, 0, 2])).tolist() == [6.0, 5.0, 3.0, 9.0, 5.0]


def test_token_advantages_by_hand():
    algo = ReinforcePP(ReinforcePPConfig(reward_kl_beta=0.1))
    # KL = old - ref = [0.5, 0, -0.5 | -1]; token rewards -0.1 * KL = [-0.05, 0, 0.05 | 0.1], outcome on the
    # last token: [-0.05, 0, 1.05 | 0.1]; returns to go [1.0, 1.05, 1.05 | 0.1];
    # whitened: mean 0.8, population var (0.04 + 2 * 0.0625 + 0.49) / 4 = 0.16375
    adv = algo.token_advantages(inputs())
    std = math.sqrt(0.16375)
    assert adv.tolist() == pytest.approx([0.2 / std, 0.25 / std, 0.25 / std, -0.7 / std], abs=1e-5)


def test_whitening_is_over_every_rank():
    algo = ReinforcePP(ReinforcePPConfig(reward_kl_beta=0.1))
    whole = algo.token_advantages(inputs())
    # this rank holds sequence 0; the other rank's sequence 1 has return 0.1: (sum, sum of squares, count)
    other = torch.tensor([0.1, 0.01, 1.0], dtype=torch.float64)
    mine = algo.token_advantages(inputs(
        advantages=torch.tensor([1.0]), old_logprobs=torch.tensor([-1.0, -1.0, -1.0]),
        ref_logprobs=torch.tensor([-1.5, -1.0, -0.5]), seq_lengths=torch.tensor([3]), reduce_sum=lambda t: t + other,
    ))
    assert mine.tolist() == pytest.approx(whole[:3].tolist(), abs=1e-6)


def test_without_kl_every_token_carries_the_outcome():
    algo = ReinforcePP(ReinforcePPConfig(reward_kl_beta=0.0))
    assert not algo.needs_ref_logprobs
    # returns [1, 1 | 0]: mean 2/3, var 2/9
    adv = algo.token_advantages(inputs(seq_lengths=torch.tensor([2, 1]), old_logprobs=torch.zeros(3), ref_logprobs=None))
    s = math.sqrt(2 / 9)
    assert adv.tolist() == pytest.approx([(1 / 3) / s, (1 / 3) / s, -(2 / 3) / s], abs=1e-5)


def test_interface_and_errors(scored_batch):
    algo = ReinforcePP(ReinforcePPConfig())
    assert algo.needs_token_advantages and algo.needs_ref_logprobs and not algo.zero_advantage_is_inert
    batch = scored_batch([1.0, 0.0], [0, 0], [2, 2])
    assert algo.compute_advantages(batch).tolist() == [1.0, 0.0]  # the outcome reward, turned into tokens in the actor
    with pytest.raises(ValueError, match="reward_kl_beta > 0 needs reference log-probs"):
        algo.token_advantages(inputs(ref_logprobs=None))
    with pytest.raises(ConfigError, match="`algorithm.normalize_advantages` does not apply to reinforce_pp"):
        ReinforcePP(ReinforcePPConfig(normalize_advantages=True))
