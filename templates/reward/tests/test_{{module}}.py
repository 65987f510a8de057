"""Tests of {{package}}: its reward, the rlinf contract suite, the registration, the recipe.

Install the package first (`pip install -e .`): rlinf finds plugins through their entry
points, as its Ray workers do. `rlinf_core.testing` provides the contract checks and, via
conftest.py, the fixtures.
"""

from pathlib import Path

import pytest

from rlinf_core.testing import DEFAULT_REWARD_SAMPLES, check_reward
from {{module}}.reward import {{class_name}}Reward, {{class_name}}RewardConfig, last_boxed, normalise

ROOT = Path(__file__).resolve().parent.parent
NAME = "{{name}}"


def score(responses, answers, **config):
    return {{class_name}}Reward({{class_name}}RewardConfig(**config)).score(responses, answers)


@pytest.mark.parametrize(
    "text, boxed",
    [
        ("so \\boxed{7}", "7"),
        ("\\boxed{1} then \\boxed{2}", "2"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\boxed{3} and an unclosed \\boxed{4", "3"),
        ("no box", None),
        ("\\boxed{", None),
    ],
)
def test_last_boxed(text, boxed):
    assert last_boxed(text) == boxed


def test_normalise_ignores_spacing_dollars_and_a_final_period():
    assert normalise(" $1 2.$ ") == "12" and normalise("3.") == "3"


def test_scores_match_format_bonus_and_no_answer():
    result = score(["\\boxed{7}", "it is \\boxed{ 7 }", "\\boxed{8}", "7"], [["\\boxed{7}"]] * 4)
    assert result.scores == [1.0, 1.0, 0.1, 0.0]
    assert result.components == {"correct": [1.0, 1.0, 0.0, 0.0], "formatted": [1.0, 1.0, 1.0, 0.0]}
    assert result.metrics == {"reward/unboxed": 1.0, "reward/too_long": 0.0}


def test_plain_reference_answers_and_overlong_boxes():
    assert score(["\\boxed{cat}"], [["cat"]]).scores == [1.0]
    result = score(["\\boxed{" + "1" * 200 + "}"], [["\\boxed{" + "1" * 200 + "}"]])
    assert result.scores == [0.1] and result.metrics["reward/too_long"] == 1.0


def test_reward_honours_the_rlinf_contract():
    check_reward(NAME, samples=DEFAULT_REWARD_SAMPLES + [("\\boxed{12}", ["\\boxed{12}"])])
    check_reward(NAME, config={"format_score": 0.0, "incorrect_score": -1.0}, fresh_process=False)


def test_the_plugin_is_registered_by_its_entry_point(rlinf_registry):
    info = [p for p in rlinf_registry.plugins if p.package == "{{package}}"]
    assert info, "{{package}} is not installed: run `pip install -e .` in its folder"
    assert info[0].registered == {"rewards": [NAME]}


def test_recipe_validates_and_its_data_loads(tiny_tokenizer, monkeypatch):
    from rlinf_core.config import derive_sizes, load_config, section
    from rlinf_core.plugins import get_registry

    monkeypatch.chdir(ROOT)  # the recipe's data path is relative to this folder
    cfg = load_config("recipe.yaml")
    assert cfg.reward.name == NAME and cfg.runner.prepare == "tiny-model"
    derive_sizes(cfg)
    task = get_registry().get("tasks", cfg.data.task)(section(cfg, "data"), tiny_tokenizer)
    examples = task.load(list(cfg.data.train_data_paths))
    assert len(examples) == 64
    assert all(last_boxed(a) is not None for e in examples for a in e.answers)
