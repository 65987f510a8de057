"""DAPO: clip-higher defaults, dynamic sampling, soft overlong punishment, truncation masking."""

import math

import pytest
import torch

from rlinf_core import LossInputs
from rlinf_core.errors import ConfigError
from rlinf_grpo import DAPO, DAPOConfig
from rlinf_grpo.dapo import overlong_penalty


def dapo(**kw):
    return DAPO(DAPOConfig(**{"max_response_length": 20, "overlong_buffer_len": 4, **kw}))


def test_paper_defaults():
    c = DAPOConfig()
    assert (c.clip_ratio_low, c.clip_ratio_high, c.loss_agg) == (0.2, 0.28, "token-mean")
    assert c.dynamic_sampling and c.max_num_gen_batches == 10 and not c.mask_truncated
    assert dapo().max_generation_batches == 10 and dapo(dynamic_sampling=False).max_generation_batches == 1
    assert dapo().zero_advantage_is_inert and not dapo().needs_ref_logprobs


def test_keep_group_drops_groups_with_equal_rewards():
    algo = dapo()
    assert algo.keep_group(torch.tensor([1.0, 0.0, 1.0])) is True
    assert algo.keep_group(torch.tensor([1.0, 1.0, 1.0])) is False
    assert algo.keep_group(torch.tensor([0.5])) is False  # a group of one has std 0 too
    assert dapo(dynamic_sampling=False).keep_group(torch.tensor([1.0, 1.0])) is True


def test_soft_overlong_punishment_by_hand():
    # L = 20, B = 4: free up to 16 tokens, then -1/4 per token, -1 from 20 on (clamped beyond)
    lengths = torch.tensor([10, 16, 17, 18, 20, 25])
    assert overlong_penalty(lengths, 20, 4, 1.0).tolist() == [0.0, 0.0, -0.25, -0.5, -1.0, -1.0]
    assert overlong_penalty(lengths, 20, 4, 0.5).tolist() == [0.0, 0.0, -0.125, -0.25, -0.5, -0.5]


def test_penalty_enters_the_reward_before_the_group_advantage(scored_batch):
    # group 0: rewards [1, 1], lengths [10, 18] -> shaped [1, 0.5]; group 1: [1, 0], lengths [10, 20] -> [1, -1]
    batch = scored_batch([1.0, 1.0, 1.0, 0.0], [0, 0, 1, 1], [10, 18, 10, 20])
    s = 1 / math.sqrt(2)
    # without dynamic sampling: group 0 mean 0.75, sample std sqrt(2 * 0.25^2) -> [+-0.25 / 0.35355] = +-s
    adv = dapo(dynamic_sampling=False).compute_advantages(batch)
    assert adv.tolist() == pytest.approx([s, -s, s, -s], abs=1e-5)
    # with it, group 0's scores are all equal (the filter reads them, as DAPO's acc metric): it trains as if dropped
    adv = dapo().compute_advantages(batch)
    assert adv.tolist() == pytest.approx([0.0, 0.0, s, -s], abs=1e-5)
    assert torch.equal(batch.rewards, torch.tensor([1.0, 1.0, 1.0, 0.0]))  # the batch's rewards are untouched


def test_buffer_defaults_to_a_fifth_of_the_limit_and_is_validated():
    assert DAPO(DAPOConfig(max_response_length=100)).buffer_length == 20
    with pytest.raises(ConfigError, match="`algorithm.overlong_buffer_len` \\(20\\) must be below `algorithm.max_response_length` \\(20\\)"):
        dapo(overlong_buffer_len=20)
    with pytest.raises(ConfigError, match="`algorithm.max_response_length` is '\\$\\{rollout.max_new_tokens\\}'"):
        DAPO(DAPOConfig())


def test_max_response_length_follows_the_rollout_limit():
    from rlinf_core.config import load_config

    cfg = load_config(None, ["algorithm.name=dapo", "rollout.max_new_tokens=100"])
    assert cfg.algorithm.max_response_length == 100 and cfg.algorithm.clip_ratio_high == 0.28


def test_truncated_samples_count_in_the_baseline_but_get_no_loss(scored_batch):
    # one group [1, 0, 0, 1], the second truncated: mean 0.5, sample std sqrt(4 * 0.25 / 3) = 1/sqrt(3),
    # so +-0.5 * sqrt(3) = +-0.8660 for all four, then the truncated one is zeroed
    batch = scored_batch([1.0, 0.0, 0.0, 1.0], [0, 0, 0, 0], [3, 3, 3, 3], truncated=[False, True, False, False])
    algo = dapo(mask_truncated=True, overlong_penalty_factor=0.0)
    a = 0.5 * math.sqrt(3)
    assert algo.compute_advantages(batch).tolist() == pytest.approx([a, 0.0, -a, a], abs=1e-5)
    # the loss masks every term of truncated sequences; their tokens stay in the token-mean denominator
    logp = torch.zeros(3, requires_grad=True)
    inputs = LossInputs(logp, torch.zeros(3), torch.ones(3), torch.tensor([1, 2]), 3, 2, truncated=torch.tensor([False, True]))
    out = algo.compute_loss(inputs)
    out.loss.backward()
    assert out.loss.item() == pytest.approx(-1 / 3)  # (-1 + 0 + 0) / 3
    assert logp.grad.tolist() == pytest.approx([-1 / 3, 0.0, 0.0])
    with pytest.raises(ValueError, match="mask_truncated needs LossInputs.truncated"):
        algo.compute_loss(LossInputs(logp, torch.zeros(3), torch.ones(3), torch.tensor([1, 2]), 3, 2))
