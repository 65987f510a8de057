"""RLOO: the leave-one-out baseline and the per-sequence REINFORCE loss."""

import pytest
import torch

from rlinf_core import LossInputs
from rlinf_grpo import RLOO, RLOOConfig
from rlinf_grpo.advantages import leave_one_out_advantages


def test_leave_one_out_baseline_by_hand():
    rewards = torch.tensor([1.0, 0.0, 0.0, 0.0, 2.0, 4.0, 7.0])
    groups = torch.tensor([0, 0, 0, 0, 1, 1, 2])
    # row 0: 1 - mean(0, 0, 0) = 1; rows 1-3: 0 - mean(1, 0, 0) = -1/3; group 1: 2 - 4, 4 - 2; a group of one: 0
    adv = leave_one_out_advantages(rewards, groups)
    assert adv.tolist() == pytest.approx([1.0, -1 / 3, -1 / 3, -1 / 3, -2.0, 2.0, 0.0])


def test_rloo_uses_it_and_sums_each_response(scored_batch):
    algo = RLOO(RLOOConfig())
    assert algo.compute_advantages(scored_batch([1.0, 0.0, 0.0, 0.0], [0] * 4, [1, 3, 1, 1])).tolist() == pytest.approx(
        [1.0, -1 / 3, -1 / 3, -1 / 3]
    )
    logp = torch.zeros(4, requires_grad=True)
    adv = torch.tensor([1.0, -1 / 3, -1 / 3, -1 / 3])  # a 1-token and a 3-token response
    out = algo.compute_loss(LossInputs(logp, torch.zeros(4), adv, torch.tensor([1, 3]), num_tokens=4, num_seqs=2))
    out.loss.backward()
    # seq-sum: (-1 + 3 * 1/3) / 2 = 0; gradient -A / k per token, i.e. (1/k) sum_i A_i grad log pi(y_i)
    assert out.loss.item() == pytest.approx(0.0, abs=1e-7)
    assert logp.grad.tolist() == pytest.approx([-0.5, 1 / 6, 1 / 6, 1 / 6])
