"""GRPO's advantages, loss aggregations, clipping, early stop, KL, entropy and batch normalisation
against hand-computed values."""

import math

import pytest
import torch

from rlinf_core import LossInputs, Ragged, TrajectoryBatch
from rlinf_grpo import GRPO, GRPOConfig
from rlinf_grpo.advantages import group_relative_advantages, token_weighted_normalize
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


# -- RLinf's options of GRPO -----------------------------------------------------------------
def test_token_weighted_batch_normalisation_by_hand():
    # advantages [2, 0] with 1 and 3 tokens: mean (2 + 0) / 4 = 0.5, var (1.5^2 + 3 * 0.5^2) / 4 = 0.75
    out = token_weighted_normalize(torch.tensor([2.0, 0.0]), torch.tensor([1, 3]), eps=0.0)
    assert out.tolist() == pytest.approx([1.5 / math.sqrt(0.75), -0.5 / math.sqrt(0.75)], abs=1e-6)


def test_normalize_advantages_after_the_group_advantages(scored_batch):
    # group 0 rewards [1, 0] -> advantages [a, -a]; group 1 uniform -> [0, 0]; lengths [1, 3, 2, 2].
    # Token-weighted: mean (a - 3a) / 8 = -a/4; var (1*(5a/4)^2 + 3*(3a/4)^2 + 4*(a/4)^2) / 8 = 7a^2/16,
    # so the normalised advantages are [5, -3, 1, 1] / sqrt(7), whatever a is.
    batch = scored_batch([1.0, 0.0, 1.0, 1.0], [0, 0, 1, 1], [1, 3, 2, 2])
    adv = grpo(normalize_advantages=True).compute_advantages(batch)
    assert adv.tolist() == pytest.approx([5 / math.sqrt(7), -3 / math.sqrt(7), 1 / math.sqrt(7), 1 / math.sqrt(7)], abs=1e-4)
    assert grpo().compute_advantages(batch)[2:].tolist() == [0.0, 0.0]  # off by default: uniform groups stay at 0


def test_microbatch_early_stop_zeroes_that_micro_batch_and_still_steps():
    algo = grpo(ratio_early_stop=1.5, ratio_early_stop_scope="microbatch")
    assert not algo.zero_advantage_is_inert  # a zero-advantage row would change the micro-batch's mean ratio
    assert not algo.skip_update({"train/ratio": 100.0})  # the optimizer still steps
    logp = torch.log(torch.tensor([2.0, 2.0])).requires_grad_(True)
    out = algo.compute_loss(LossInputs(logp, torch.zeros(2), torch.ones(2), torch.tensor([2]), 2, 1))
    out.loss.backward()
    # mean ratio 2 > 1.5: loss 0 and no gradient
    assert out.loss.item() == 0.0 and logp.grad.abs().sum().item() == 0.0
    assert out.metrics["train/early_stopped_token_fraction"] == 1.0
    kept = algo.compute_loss(LossInputs(torch.log(torch.tensor([1.2, 1.2])), torch.zeros(2), torch.ones(2), torch.tensor([2]), 2, 1))
    # mean ratio 1.2 <= 1.5: per token max(-1.2, -clip(1.2, 0.8, 1.2)) = -1.2, token-mean -1.2
    assert kept.loss.item() == pytest.approx(-1.2) and kept.metrics["train/early_stopped_token_fraction"] == 0.0
    assert grpo(ratio_early_stop=1.5).skip_update({"train/ratio": 1.6})  # minibatch scope: skip the step


def test_k3_has_rlinf_clamps():
    # ref - logp = +30 -> clamped to 20 -> e^20 - 21 ~ 4.9e8 -> clamped to 10;
    # ref - logp = -30 -> clamped to -20 -> e^-20 + 19 ~ 19 -> clamped to 10
    assert kl_penalty(torch.tensor([0.0, 30.0]), torch.tensor([30.0, 0.0]), "k3").tolist() == [10.0, 10.0]


def test_entropy_bonus_by_hand():
    algo = grpo(entropy_coef=0.1)
    assert algo.needs_entropy_grad and not algo.zero_advantage_is_inert
    logp = torch.zeros(2, requires_grad=True)
    entropy = torch.tensor([1.0, 3.0], requires_grad=True)
    out = algo.compute_loss(LossInputs(logp, torch.zeros(2), torch.tensor([1.0, -1.0]), torch.tensor([1, 1]), 2, 2, entropy=entropy))
    out.loss.backward()
    # policy: (-1 + 1) / 2 = 0; bonus: -0.1 * (1 + 3) / 2 = -0.2; d/d entropy = -0.1 / 2
    assert out.loss.item() == pytest.approx(-0.2)
    assert entropy.grad.tolist() == pytest.approx([-0.05, -0.05])
    with pytest.raises(ValueError, match="differentiable LossInputs.entropy"):
        algo.compute_loss(LossInputs(logp, torch.zeros(2), torch.ones(2), torch.tensor([1, 1]), 2, 2))
    with pytest.raises(ValueError, match="differentiable LossInputs.entropy"):
        algo.compute_loss(LossInputs(logp, torch.zeros(2), torch.ones(2), torch.tensor([1, 1]), 2, 2, entropy=torch.ones(2)))


@pytest.mark.parametrize("options,inert", [
    ({}, True),
    ({"kl_beta": 0.1}, False),
    ({"entropy_coef": 0.01}, False),
    ({"ratio_early_stop_scope": "microbatch"}, False),
    ({"ratio_early_stop_scope": "microbatch", "ratio_early_stop": 0.0}, True),  # no early stop at all
    ({"normalize_advantages": True, "dual_clip": 3.0}, True),  # a row whose advantage is 0 still adds nothing
])
def test_zero_advantage_is_inert_only_when_true(options, inert):
    algo = grpo(**options)
    assert algo.zero_advantage_is_inert is inert
    if inert:  # check the claim: a zero-advantage row adds exactly nothing to the loss or its gradient
        logp = torch.tensor([-1.0, -2.0, -0.5], requires_grad=True)
        old = torch.tensor([-1.1, -1.0, -0.2])
        out = algo.compute_loss(LossInputs(logp, old, torch.tensor([0.0, 0.0, 0.0]), torch.tensor([2, 1]), 5, 4))
        out.loss.backward()
        assert out.loss.item() == 0.0 and logp.grad.abs().sum().item() == 0.0
