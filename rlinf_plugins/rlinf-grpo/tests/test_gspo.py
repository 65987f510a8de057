"""GSPO: sequence-level ratio (geometric mean of token ratios), its clipping, sequence-mean loss."""

import math

import pytest
import torch

from rlinf_core import LossInputs
from rlinf_grpo import GSPO, GSPOConfig
from rlinf_grpo.gspo import sequence_ratios


def test_paper_clip_ranges():
    c = GSPOConfig()
    assert (c.clip_ratio_low, c.clip_ratio_high, c.loss_agg) == (3e-4, 4e-4, "seq-mean")


def test_sequence_ratio_is_the_geometric_mean():
    # log-ratios [0.2, 0.4 | -0.3]: sequence means 0.3 and -0.3
    s = sequence_ratios(torch.tensor([0.2, 0.4, -0.3]), torch.zeros(3), torch.tensor([2, 1]))
    assert s.tolist() == pytest.approx([math.exp(0.3), math.exp(-0.3)])


def test_clipped_sequences_by_hand():
    algo = GSPO(GSPOConfig())
    logp = torch.tensor([0.2, 0.4, -0.3], requires_grad=True)
    out = algo.compute_loss(LossInputs(logp, torch.zeros(3), torch.tensor([1.0, 1.0, -1.0]), torch.tensor([2, 1]), 3, 2))
    out.loss.backward()
    # seq 0: A=1, s=e^0.3 > 1.0004 -> max(-1.3499, -1.0004) = -1.0004 (clipped)
    # seq 1: A=-1, s=e^-0.3 < 0.9997 -> max(0.7408, 0.9997) = 0.9997 (clipped); mean over sequences
    assert out.loss.item() == pytest.approx((-1.0004 + 0.9997) / 2, abs=1e-7)
    assert logp.grad.abs().sum().item() == 0.0  # both clipped: no gradient
    assert out.metrics["train/clip_fraction"] == 1.0
    # token-weighted mean of the broadcast sequence ratios
    assert out.metrics["train/ratio"] == pytest.approx((2 * math.exp(0.3) + math.exp(-0.3)) / 3)


def test_unclipped_gradient_is_the_sequence_level_one():
    algo = GSPO(GSPOConfig())
    logp = torch.zeros(3, requires_grad=True)
    out = algo.compute_loss(LossInputs(logp, torch.zeros(3), torch.tensor([1.0, 1.0, -1.0]), torch.tensor([2, 1]), 3, 2))
    out.loss.backward()
    # s = 1: loss (-1 + 1) / 2 = 0; d/dlogp_t of -A_i s_i / G = -A_i s_i / (|y_i| G): seq 0 -1/4 per token, seq 1 +1/2
    assert out.loss.item() == pytest.approx(0.0)
    assert logp.grad.tolist() == pytest.approx([-0.25, -0.25, 0.5])
    assert out.metrics["train/clip_fraction"] == 0.0
