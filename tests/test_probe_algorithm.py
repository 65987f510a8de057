"""rlinf_core.testing's probe algorithm, against hand-computed losses: the train backends' tests
trust it to be the loss its docstring says."""

import dataclasses
import math

import pytest
import torch

from rlinf_core import LossInputs
from rlinf_core.interfaces.algorithm import TokenAdvantageInputs
from rlinf_core.testing import check_algorithm
from rlinf_core.testing.algorithms import PROBE_NAME, ClippedPolicyGradient

MODULE = "rlinf_core.testing.algorithms"


def near(expected):
    """float32 arithmetic against float64 hand computation."""
    return pytest.approx(expected, rel=1e-6, abs=1e-6)


def inputs(advantages=(1.0, 1.0, -1.0), **kw) -> LossInputs:
    """Two sequences (2 tokens, 1 token), old log-probs 0, importance ratios 1.5, 0.9, 1.1."""
    return LossInputs(**{
        "logprobs": torch.log(torch.tensor([1.5, 0.9, 1.1])).requires_grad_(True),
        "old_logprobs": torch.zeros(3),
        "advantages": torch.tensor(advantages),
        "seq_lengths": torch.tensor([2, 1]),
        "num_tokens": 3.0,
        "num_seqs": 2.0,
        **kw,
    })


def test_clipped_loss_and_metrics_by_hand():
    # per token: max(-A r, -A clip(r, 0.8, 1.2)) = max(-1.5, -1.2), max(-0.9, -0.9), max(1.1, 1.1)
    x = inputs()
    out = ClippedPolicyGradient().compute_loss(x)
    assert out.loss.item() == near((-1.2 - 0.9 + 1.1) / 3)
    out.loss.backward()
    assert x.logprobs.grad.tolist() == near([0.0, -0.9 / 3, 1.1 / 3])  # the clipped token has none
    assert out.metrics == near({"train/policy_loss": -1.0 / 3, "train/ratio": 3.5 / 3, "train/ratio_max": 1.5,
                                         "train/clip_fraction": 1.0 / 3})
    seq_mean = ClippedPolicyGradient(loss_agg="seq-mean").compute_loss(inputs()).loss
    assert seq_mean.item() == near(((-1.2 - 0.9) / 2 + 1.1) / 2)


def test_kl_entropy_and_truncation_terms_by_hand():
    lp = torch.log(torch.tensor([1.5, 0.9, 1.1]))
    kl = ClippedPolicyGradient(kl_beta=0.5).compute_loss(inputs((0.0,) * 3, ref_logprobs=lp - math.log(2)))
    k3 = 0.5 + math.log(2) - 1  # exp(r) - r - 1 at r = -log 2
    assert kl.loss.item() == near(0.5 * k3) and kl.metrics["train/kl"] == near(k3)
    entropy = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    bonus = ClippedPolicyGradient(entropy_coef=0.5).compute_loss(inputs((0.0,) * 3, entropy=entropy))
    bonus.loss.backward()
    assert bonus.loss.item() == near(-0.5 * 6 / 3) and entropy.grad.tolist() == near([-0.5 / 3] * 3)
    masked = ClippedPolicyGradient(mask_truncated=True).compute_loss(inputs(truncated=torch.tensor([True, False])))
    assert masked.loss.item() == near(1.1 / 3)  # only the untruncated sequence's token


def test_token_advantages_by_hand_and_across_ranks():
    algo = ClippedPolicyGradient(token_advantages=True, reward_kl_beta=0.5)
    old, ref = torch.tensor([-1.0, -1.0, -2.0]), torch.tensor([-1.5, -1.0, -1.0])
    x = TokenAdvantageInputs(advantages=torch.tensor([1.0, -1.0]), old_logprobs=old, seq_lengths=torch.tensor([2, 1]),
                             ref_logprobs=ref)
    raw = torch.tensor([1 - 0.5 * 0.5, 1.0, -1 + 0.5 * 1.0])  # A - beta * (old - ref)
    whitened = (raw - raw.mean()) / raw.std(unbiased=False)
    assert torch.allclose(algo.token_advantages(x), whitened, atol=1e-6)
    # two ranks of one sequence each, reduce_sum adding the other rank's statistics: the same values
    parts = [dataclasses.replace(x, advantages=x.advantages[s], old_logprobs=old[t], seq_lengths=x.seq_lengths[s],
                                 ref_logprobs=ref[t]) for s, t in ((slice(0, 1), slice(0, 2)), (slice(1, 2), slice(2, 3)))]
    stats = []
    for part in parts:  # each rank's own sums, as reduce_sum receives them
        algo.token_advantages(dataclasses.replace(part, reduce_sum=lambda t: stats.append(t) or t))
    got = [algo.token_advantages(dataclasses.replace(part, reduce_sum=lambda t, o=other: t + o))
           for part, other in zip(parts, reversed(stats))]
    assert torch.allclose(torch.cat(got), whitened, atol=1e-6)


def test_hooks_follow_the_switches():
    assert ClippedPolicyGradient().zero_advantage_is_inert
    for off in ({"kl_beta": 0.1}, {"entropy_coef": 0.1}, {"token_advantages": True}, {"inert_zero_advantage": False}):
        assert not ClippedPolicyGradient(**off).zero_advantage_is_inert, off
    assert ClippedPolicyGradient(kl_beta=0.1).needs_ref_logprobs and ClippedPolicyGradient(entropy_coef=0.1).needs_entropy_grad
    assert not ClippedPolicyGradient(token_advantages=True).needs_ref_logprobs
    assert ClippedPolicyGradient(token_advantages=True, reward_kl_beta=0.1).needs_ref_logprobs
    assert ClippedPolicyGradient(loss_agg="seq-mean").loss_divides_by_num_tokens is False
    early = ClippedPolicyGradient(ratio_early_stop=1.5)
    assert early.skip_update({"train/ratio": 1.6}) and not early.skip_update({"train/ratio": 1.4})
    assert not ClippedPolicyGradient().skip_update({"train/ratio": 100.0})


@pytest.mark.parametrize("config", [{}, {"loss_agg": "seq-mean", "kl_beta": 0.1, "entropy_coef": 0.01, "mask_truncated": True},
                                    {"token_advantages": True, "reward_kl_beta": 0.1}])
def test_the_probe_keeps_the_algorithm_contract_by_name(config):
    check_algorithm(PROBE_NAME, config=config, modules=[MODULE], fresh_process=not config)
