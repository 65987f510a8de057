"""Tests of {{package}}: the algorithm's math against hand-computed values, the rlinf
contract suite, the registration, the recipe.

Install the package first (`pip install -e .`): rlinf finds plugins through their entry
points, as its Ray workers do. `rlinf_core.testing` provides the contract checks and, via
conftest.py, the fixtures.
"""

from pathlib import Path

import pytest
import torch

from rlinf_core import LossInputs
from rlinf_core.testing import check_algorithm
from {{module}}.algorithm import {{class_name}}, {{class_name}}Config, group_baseline_advantages, policy_loss

ROOT = Path(__file__).resolve().parent.parent
NAME = "{{name}}"


def test_leave_one_out_baseline_by_hand():
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 3.0, 3.0])
    groups = torch.tensor([0, 0, 0, 0, 1, 1])
    adv = group_baseline_advantages(rewards, groups, "leave-one-out")
    # r_0 = 1, the others' mean (0 + 0 + 1) / 3 = 1/3 -> 2/3; the uniform group gets 0.
    assert torch.allclose(adv, torch.tensor([2 / 3, -2 / 3, -2 / 3, 2 / 3, 0.0, 0.0]))


def test_group_mean_baseline_by_hand():
    adv = group_baseline_advantages(torch.tensor([1.0, 0.0, 0.0, 1.0]), torch.zeros(4, dtype=torch.long), "group-mean")
    assert torch.allclose(adv, torch.tensor([0.5, -0.5, -0.5, 0.5]))


def test_a_group_of_one_gets_no_advantage_and_groups_sum_to_zero():
    adv = group_baseline_advantages(torch.tensor([5.0, 1.0, 2.0, 4.0]), torch.tensor([0, 1, 1, 1]), "leave-one-out")
    assert adv[0] == 0.0 and abs(float(adv[1:].sum())) < 1e-6


def test_unknown_baseline_is_refused():
    with pytest.raises(ValueError, match="algorithm.baseline"):
        group_baseline_advantages(torch.ones(2), torch.zeros(2, dtype=torch.long), "median")


def test_on_policy_gradient_is_minus_advantage_over_token_count():
    logp = torch.tensor([-1.0, -2.0, -0.5], requires_grad=True)
    adv = torch.tensor([2.0, 2.0, -1.0])
    algo = {{class_name}}({{class_name}}Config(name=NAME))
    inputs = LossInputs(
        logprobs=logp, old_logprobs=logp.detach(), advantages=adv,
        seq_lengths=torch.tensor([2, 1]), num_tokens=6.0, num_seqs=4.0,
    )
    out = algo.compute_loss(inputs)
    out.loss.backward()
    assert torch.allclose(logp.grad, -adv / 6.0)  # ratio 1: d(-A * ratio)/d logp = -A
    assert out.metrics["train/ratio"] == pytest.approx(1.0) and out.metrics["train/clip_fraction"] == 0.0


def test_clipping_stops_the_gradient_past_the_bound():
    logp = torch.log(torch.tensor([1.5, 0.5, 1.5])).requires_grad_(True)  # ratios against old log-prob 0
    adv = torch.tensor([1.0, 1.0, -1.0])
    parts = policy_loss(logp, torch.zeros(3), adv, clip_ratio=0.2)
    parts["loss"].sum().backward()
    # A > 0 and ratio 1.5 > 1.2: clipped (no gradient); A > 0, ratio 0.5: not clipped; A < 0, ratio 1.5: not clipped.
    assert parts["clipped"].tolist() == [True, False, False]
    assert torch.allclose(logp.grad, torch.tensor([0.0, -0.5, 1.5]))


def test_algorithm_honours_the_rlinf_contract():
    check_algorithm(NAME)  # by name, in a fresh process too, as a Ray worker resolves it
    check_algorithm(NAME, config={"baseline": "group-mean", "clip_ratio": 0.2}, fresh_process=False)


def test_the_plugin_is_registered_by_its_entry_point(rlinf_registry):
    info = [p for p in rlinf_registry.plugins if p.package == "{{package}}"]
    assert info, "{{package}} is not installed: run `pip install -e .` in its folder"
    assert info[0].registered == {"algorithms": [NAME]}


def test_recipe_validates(monkeypatch):
    from rlinf_core.config import derive_sizes, load_config

    monkeypatch.chdir(ROOT)
    cfg = load_config("recipe.yaml")
    assert cfg.algorithm.name == NAME and cfg.algorithm.baseline == "leave-one-out"
    derive_sizes(cfg)
    assert Path(cfg.data.train_data_paths[0]).is_file()
