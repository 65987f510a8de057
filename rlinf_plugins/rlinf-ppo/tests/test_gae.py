"""GAE and the clipped value loss against values computed by hand."""

import math

import pytest
import torch

from rlinf_ppo.gae import clipped_value_loss, explained_variance, gae


def test_gae_by_hand():
    # sequence 1: 3 tokens, reward 1 on the last; sequence 2: 1 token, reward -1
    rewards = torch.tensor([0.0, 0.0, 1.0, -1.0])
    values = torch.tensor([0.5, 0.2, 0.4, 0.3])
    adv, ret = gae(rewards, values, torch.tensor([3, 1]), gamma=0.9, lam=0.8)
    d2 = 1.0 - 0.4  # last token: next value 0
    d1 = 0.0 + 0.9 * 0.4 - 0.2
    d0 = 0.0 + 0.9 * 0.2 - 0.5
    a2, a1 = d2, d1 + 0.72 * d2
    a0 = d0 + 0.72 * a1
    expected = [a0, a1, a2, -1.0 - 0.3]
    assert adv.tolist() == pytest.approx(expected, abs=1e-6)  # the inputs are fp32
    assert ret.tolist() == pytest.approx([a + v for a, v in zip(expected, values.tolist())], abs=1e-7)


def test_gamma_lambda_one_is_reward_minus_value():
    rewards, values = torch.tensor([0.0, 0.0, 5.0]), torch.tensor([1.0, 2.0, 3.0])
    adv, ret = gae(rewards, values, torch.tensor([3]), 1.0, 1.0)
    assert adv.tolist() == [4.0, 3.0, 2.0] and ret.tolist() == [5.0, 5.0, 5.0]


def test_clipped_value_loss_by_hand():
    values, old, returns = torch.tensor([1.0, 0.0, 0.5]), torch.tensor([0.5, 0.5, 0.5]), torch.tensor([2.0, 0.0, 0.5])
    loss, was_clipped = clipped_value_loss(values, old, returns, clip=0.2)
    # token 0: plain (1-2)^2 = 1; clipped V = 0.7 -> (0.7-2)^2 = 1.69 -> max 1.69
    # token 1: plain 0; clipped V = 0.3 -> 0.09 -> 0.09; token 2: both 0
    assert loss.tolist() == pytest.approx([0.845, 0.045, 0.0])
    assert was_clipped.tolist() == [True, True, False]
    assert clipped_value_loss(values, old, returns, clip=0.0)[0].tolist() == pytest.approx([0.5, 0.0, 0.0])


def test_explained_variance():
    r = torch.tensor([1.0, 2.0, 3.0])
    assert explained_variance(r, r) == 1.0
    assert explained_variance(torch.full((3,), 2.0), r) == pytest.approx(0.0)
    assert math.isnan(explained_variance(r, torch.ones(3)))
