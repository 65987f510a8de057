"""Dr. GRPO: advantages without the std division, the constant loss normaliser."""

import pytest
import torch

from rlinf_core import LossInputs
from rlinf_core.errors import ConfigError
from rlinf_grpo import GRPO, DrGRPO, DrGRPOConfig, GRPOConfig


def test_advantages_are_centred_not_scaled(scored_batch):
    batch = scored_batch([1.0, 0.0, 0.0, 0.0, 3.0, 3.0], [0, 0, 0, 0, 1, 1], [1] * 6)
    # group 0: mean 0.25, no std division; group 1 uniform
    adv = DrGRPO(DrGRPOConfig(max_response_length=4)).compute_advantages(batch)
    assert adv.tolist() == pytest.approx([0.75, -0.25, -0.25, -0.25, 0.0, 0.0])


def test_constant_normaliser_by_hand():
    algo = DrGRPO(DrGRPOConfig(max_response_length=4))
    logp = torch.zeros(4, requires_grad=True)
    adv = torch.tensor([1.0, -1.0, -1.0, -1.0])  # sequences of 1 and 3 tokens, advantages +1 and -1
    inputs = LossInputs(logp, torch.zeros(4), adv, torch.tensor([1, 3]), num_tokens=4, num_seqs=2)
    out = algo.compute_loss(inputs)
    out.loss.backward()
    # per-token loss -A = [-1, 1, 1, 1], summed 2, over (2 sequences x 4 tokens): 0.25
    assert out.loss.item() == pytest.approx(0.25)
    assert logp.grad.tolist() == pytest.approx([-0.125, 0.125, 0.125, 0.125])  # -A / 8: no per-length scaling
    # GRPO's seq-mean would give (-1 + 1) / 2 = 0, token-mean 2 / 4 = 0.5
    assert GRPO(GRPOConfig(loss_agg="seq-mean")).compute_loss(inputs).loss.item() == pytest.approx(0.0)
    assert GRPO(GRPOConfig()).compute_loss(inputs).loss.item() == pytest.approx(0.5)
    # micro-batches add up: (-1) / 8 + 3 / 8
    first = LossInputs(torch.zeros(1), torch.zeros(1), adv[:1], torch.tensor([1]), 4, 2)
    rest = LossInputs(torch.zeros(3), torch.zeros(3), adv[1:], torch.tensor([3]), 4, 2)
    assert algo.compute_loss(first).loss.item() + algo.compute_loss(rest).loss.item() == pytest.approx(0.25)


def test_budget_comes_from_the_rollout_and_must_resolve():
    from rlinf_core.config import load_config

    cfg = load_config(None, ["algorithm.name=dr_grpo", "rollout.max_new_tokens=64"])
    assert cfg.algorithm.max_response_length == 64 and cfg.algorithm.loss_agg == "seq-sum-norm"
    with pytest.raises(ConfigError, match="`algorithm.max_response_length`"):
        DrGRPO(DrGRPOConfig())
