"""GAE and GRPO's episode-group advantages against hand-computed values; the update's helpers."""

import pytest
import torch

from rlinf_embodied.advantages import alive_mask, gae, group_advantages
from rlinf_embodied.update import explained_variance
from rlinf_embodied.workers import global_rows, noise_seed, stage_sizes


def column(values):
    return torch.tensor(values, dtype=torch.float32)[:, None]


def test_gae_by_hand_with_a_bootstrap_at_the_horizon():
    # gamma 0.9, lam 0.8: delta_2 = 2 + 0.9 * 0.2 - 0.3 = 1.88; delta_1 = 0.27 - 0.4 = -0.13;
    # delta_0 = 1 + 0.36 - 0.5 = 0.86; A_1 = -0.13 + 0.72 * 1.88; A_0 = 0.86 + 0.72 * A_1.
    adv, ret = gae(column([1, 0, 2]), column([0.5, 0.4, 0.3, 0.2]), column([0, 0, 0]).bool(), 0.9, 0.8)
    assert adv[:, 0].tolist() == pytest.approx([1.740992, 1.2236, 1.88], abs=1e-5)
    assert ret[:, 0].tolist() == pytest.approx([2.240992, 1.6236, 2.18], abs=1e-5)


def test_gae_stops_at_a_termination_and_masks_what_follows():
    # Terminated at t = 1: A_1 = 0 - 0.4 (no bootstrap), A_0 = 0.86 + 0.72 * -0.4; step 2 is masked.
    adv, ret = gae(column([1, 0, 2]), column([0.5, 0.4, 0.3, 0.2]), column([0, 1, 0]).bool(), 0.9, 0.8)
    assert adv[:, 0].tolist() == pytest.approx([0.572, -0.4, 0.0], abs=1e-6)
    assert ret[2, 0] == 0 and alive_mask(column([0, 1, 0]).bool())[:, 0].tolist() == [1, 1, 0]


def test_gae_needs_the_bootstrap_row():
    with pytest.raises(ValueError, match="T \\+ 1"):
        gae(column([1, 0]), column([0.5, 0.4]), column([0, 0]).bool(), 0.9, 0.8)


def test_group_advantages_score_each_return_in_its_group():
    # Returns 1, 3 | 2, 2 over two steps each: group 0 is +-1/sqrt(2) (sample std sqrt 2), group 1 all 0.
    rewards = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 2.0, 1.0, 1.0]])
    adv = group_advantages(rewards, torch.zeros_like(rewards, dtype=torch.bool), 2)
    assert adv[0].tolist() == pytest.approx([-0.70710, 0.70710, 0.0, 0.0], abs=1e-4)
    assert torch.equal(adv[0], adv[1])
    with pytest.raises(ValueError, match="groups of 3"):
        group_advantages(rewards, torch.zeros_like(rewards, dtype=torch.bool), 3)


def test_explained_variance():
    target = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(target, target) == 1.0
    assert explained_variance(torch.full((4,), 2.5), target) == pytest.approx(0.0)


def test_stages_split_a_worker_batch_and_name_global_rows():
    assert stage_sizes(16, 2) == [8, 8] and stage_sizes(5, 2) == [3, 2]
    with pytest.raises(ValueError, match="pipeline_stage_num"):
        stage_sizes(2, 3)

    class Cfg:
        class env:
            envs_per_worker, pipeline_stage_num = 5, 2

    assert list(global_rows(Cfg, (1, 1))) == [8, 9] and list(global_rows(Cfg, (0, 0))) == [0, 1, 2]
    assert len({noise_seed(1, i, t) for i in range(50) for t in range(60)}) == 3000
