"""GRPO's advantages, loss aggregations, clipping, early stop and KL against hand-computed values."""

import math

import pytest
import torch

from rlinf_core import LossInputs, Ragged, TrajectoryBatch
from rlinf_grpo import GRPO, GRPOConfig
from rlinf_grpo.advantages import group_relative_advantages
from rlinf_grpo.loss import aggregate, clipped_policy_loss, kl_penalty


def grpo(**kw):
    return GRPO(GRPOConfig(**kw))


def test_group_relative_advantages_by_hand():
    rewards = torch.tensor([5.0, -5.0, -5.0, -5.0, 1.0, 1.0, 7.0])
    groups = torch.tensor([0, 0, 0, 0, 1, 1, 2])
    adv = group_relative_advantages(rewards, groups, eps=1e-6)
    # group 0: mean -2.5, sample std sqrt((7.5^2 + 3*2.5^2)/3) = 5
    assert adv[:4].tolist() == pytest.approx([1.5, -0.5, -0.5, -0.5], abs=1e-6)
    assert adv[4:6].tolist() == [0.0, 0.0]  # identical rewards: no signal
    assert adv[6].item() == 0.0  # a group of one
    assert float(adv[:4].sum()) == pytest.approx(0.0, abs=1e-6)


def test_compute_advantages_uses_batch_groups():
    batch = TrajectoryBatch(
        prompt_ids=Ragged.from_list([[1]] * 4),
        response_ids=Ragged.from_list([[2]] * 4),
        response_logprobs=Ragged.from_list([[0.0]] * 4, dtype=torch.float32),
        group_ids=torch.tensor([0, 0, 1, 1]),
        prompt_uids=["a", "a", "b", "b"],
        answers=[["1"]] * 4,
        truncated=torch.zeros(4, dtype=torch.bool),
        rewards=torch.tensor([1.0, 0.0, 3.0, 3.0]),
    )
    adv = grpo().compute_advantages(batch)
    s = math.sqrt(0.5)
    assert adv.tolist() == pytest.approx([0.5 / (s + 1e-6), -0.5 / (s + 1e-6), 0.0, 0.0], abs=1e-6)


def test_clipping_each_side():
    old = torch.zeros(4)
    logp = torch.log(torch.tensor([1.5, 0.5, 1.5, 0.5]))  # ratios
    adv = torch.tensor([1.0, 1.0, -1.0, -1.0])
    out = clipped_policy_loss(logp, old, adv, clip_low=0.2, clip_high=0.3)
    # A>0, r=1.5: max(-1.5, -1.3) = -1.3 (clipped); A>0, r=0.5: max(-0.5, -0.8) = -0.5
    # A<0, r=1.5: max(1.5, 1.3) = 1.5;               A<0, r=0.5: max(0.5, 0.8) = 0.8 (clipped)
    assert out["loss"].tolist() == pytest.approx([-1.3, -0.5, 1.5, 0.8], abs=1e-6)
    assert out["clip_active"].tolist() == [1.0, 0.0, 0.0, 1.0]


def test_dual_clip_bounds_negative_advantage_tokens():
    logp = torch.log(torch.tensor([10.0, 10.0]))
    out = clipped_policy_loss(logp, torch.zeros(2), torch.tensor([-2.0, 2.0]), 0.2, 0.2, dual_clip=3.0)
    # A=-2, r=10: unclipped loss 20 capped at 3*2 = 6; A=2 untouched by dual clip: -1.2*2 = -2.4
    assert out["loss"].tolist() == pytest.approx([6.0, -2.4], abs=1e-5)
    assert out["clip_active"].tolist() == [1.0, 1.0]


def test_token_mean_and_seq_mean_aggregation():
    per_token = torch.tensor([1.0, 2.0, 3.0, 10.0])
    lengths = torch.tensor([3, 1])
    # token-mean over a minibatch of 8 tokens: (1+2+3+10)/8 = 2
    assert aggregate(per_token, lengths, "token-mean", num_tokens=8, num_seqs=4).item() == pytest.approx(2.0)
    # seq-mean: sequence means 2 and 10, over a minibatch of 4 sequences: (2+10)/4 = 3
    assert aggregate(per_token, lengths, "seq-mean", num_tokens=8, num_seqs=4).item() == pytest.approx(3.0)


def test_micro_batches_add_up_to_the_minibatch_loss():
    algo = grpo()
    logp = torch.tensor([-1.0, -2.0, -0.5, -0.7, -1.1])
    old = logp + torch.tensor([0.1, -0.1, 0.0, 0.3, -0.3])
    adv = torch.tensor([1.0, 1.0, -1.0, -1.0, -1.0])
    whole = algo.compute_loss(LossInputs(logp, old, adv, torch.tensor([2, 3]), num_tokens=5, num_seqs=2)).loss
    a = algo.compute_loss(LossInputs(logp[:2], old[:2], adv[:2], torch.tensor([2]), num_tokens=5, num_seqs=2)).loss
    b = algo.compute_loss(LossInputs(logp[2:], old[2:], adv[2:], torch.tensor([3]), num_tokens=5, num_seqs=2)).loss
    assert (a + b).item() == pytest.approx(whole.item(), abs=1e-6)


def test_loss_metrics_and_gradient_sign():
    algo = grpo()
    logp = torch.zeros(2, requires_grad=True)
    out = algo.compute_loss(LossInputs(logp, torch.zeros(2), torch.tensor([1.0, -1.0]), torch.tensor([1, 1]), 2, 2))
    out.loss.backward()
    # d/dlogp of -A*exp(logp-old)/2 at ratio 1: -A/2
    assert logp.grad.tolist() == pytest.approx([-0.5, 0.5])
    assert out.metrics["train/ratio"] == 1.0 and out.metrics["train/clip_fraction"] == 0.0


def test_kl_estimators_by_hand():
    logp = torch.tensor([-1.0, -2.0])
    ref = torch.tensor([-1.5, -1.0])
    assert kl_penalty(logp, ref, "k1").tolist() == pytest.approx([0.5, -1.0])
    # k3 with x = ref - logp: e^x - x - 1
    assert kl_penalty(logp, ref, "k3").tolist() == pytest.approx([math.exp(-0.5) + 0.5 - 1, math.e - 1 - 1])


def test_kl_term_enters_the_loss():
    algo = grpo(kl_beta=0.1, kl_estimator="k1")
    assert algo.needs_ref_logprobs
    logp = torch.tensor([-1.0, -1.0])
    inputs = LossInputs(logp, logp.clone(), torch.zeros(2), torch.tensor([2]), 2, 1, ref_logprobs=torch.tensor([-2.0, -2.0]))
    out = algo.compute_loss(inputs)
    # policy term 0 (A = 0), KL k1 = 1 per token, token-mean: 0.1 * (1 + 1) / 2
    assert out.loss.item() == pytest.approx(0.1)
    assert out.metrics["train/kl"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="reference log-probs"):
        algo.compute_loss(LossInputs(logp, logp, torch.zeros(2), torch.tensor([2]), 2, 1))


def test_early_stop_rule():
    algo = grpo()
    assert algo.skip_update({"train/ratio": 5.01})
    assert not algo.skip_update({"train/ratio": 4.99})
    assert not grpo(ratio_early_stop=0.0).skip_update({"train/ratio": 100.0})


def test_config_validates_through_the_core():
    from rlinf_core.config import load_config
    from rlinf_core.errors import ConfigError

    cfg = load_config(None, ["algorithm.clip_ratio_high=0.28"])
    assert cfg.algorithm.clip_ratio_high == 0.28 and cfg.algorithm.ratio_early_stop == 5.0
    with pytest.raises(ConfigError, match="Invalid value for `algorithm.loss_agg`: 'sum'. Allowed: 'token-mean', 'seq-mean'"):
        load_config(None, ["algorithm.loss_agg=sum"])
