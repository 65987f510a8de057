"""Tests of {{package}}: its reward and task, the rlinf contract suite, the registration, the recipe.

Install the package first (`pip install -e .`): rlinf finds plugins through their entry
points, as its Ray workers do. `rlinf_core.testing` provides the contract checks and, via
conftest.py, the fixtures (`tiny_tokenizer`, `rlinf_registry`, ...).
"""

import json
from pathlib import Path

import pytest

from rlinf_core import ConfigError
from rlinf_core.testing import DEFAULT_REWARD_SAMPLES, check_reward, check_task
from {{module}}.reward import {{class_name}}Reward, {{class_name}}RewardConfig
from {{module}}.task import {{class_name}}DataConfig, {{class_name}}Task, bundled_path

ROOT = Path(__file__).resolve().parent.parent
NAME = "{{name}}"


def score(responses, answers, **config):
    return {{class_name}}Reward({{class_name}}RewardConfig(**config)).score(responses, answers)


# -- the reward ---------------------------------------------------------------------------
def test_exact_match_scores_one_and_anything_else_zero():
    result = score(["enots", "  enots\n", "stone", "Enots", ""], [["enots"]] * 5)
    assert result.scores == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert result.components["correct"] == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert result.metrics == {"reward/empty_responses": 1.0}


def test_any_reference_answer_counts():
    assert score(["b"], [["a", "b"]]).scores == [1.0]


def test_partial_credit_ranks_near_misses_below_a_match():
    result = score(["enots", "enot", "sx", ""], [["enots"]] * 4, partial_credit=0.5)
    exact, near, far, empty = result.scores
    assert exact == 1.0 and 0.0 < far < near < 0.5 and empty == 0.0
    assert near == pytest.approx(0.5 * 8 / 9)  # difflib ratio of "enot" vs "enots": 2*4/(4+5)


def test_case_insensitive_option():
    assert score(["ENOTS"], [["enots"]], case_sensitive=False).scores == [1.0]


# -- the task -----------------------------------------------------------------------------
def test_bundled_answers_are_the_reversed_words():
    rows = [json.loads(line) for line in open(bundled_path("train.jsonl"), encoding="utf-8")]
    assert len(rows) == 64
    assert all(row["answer"] == row["question"][::-1] for row in rows)


def test_prompts_carry_the_instruction_in_the_chat_template(tiny_tokenizer):
    task = {{class_name}}Task({{class_name}}DataConfig(), tiny_tokenizer)
    examples = task.load(["bundled:train.jsonl"])
    text = tiny_tokenizer.decode(examples[0].prompt_ids)
    assert "Reverse the letters of the word." in text and "\ncat" in text
    assert text.endswith("assistant\n")
    assert examples[0].answers == ["tac"] and examples[0].uid == "reverse-000"


def test_bad_rows_name_the_file_and_line_or_are_skipped_and_counted(tmp_path, tiny_tokenizer):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "abc", "answer": "cba"}\n{"question": "abc"}\nnot json\n')
    task = {{class_name}}Task({{class_name}}DataConfig(), tiny_tokenizer)
    with pytest.raises(ConfigError, match="bad.jsonl line 2"):
        task.load([str(path)])
    lenient = {{class_name}}Task({{class_name}}DataConfig(skip_invalid=True), tiny_tokenizer)
    assert len(lenient.load([str(path)])) == 1
    assert lenient.stats["skipped_invalid"] == 2


def test_unknown_bundled_dataset_lists_the_shipped_ones(tiny_tokenizer):
    task = {{class_name}}Task({{class_name}}DataConfig(), tiny_tokenizer)
    with pytest.raises(ConfigError, match="it ships: train.jsonl"):
        task.load(["bundled:nope.jsonl"])


# -- the rlinf contract suite -------------------------------------------------------------
def test_reward_honours_the_rlinf_contract():
    check_reward(NAME, samples=DEFAULT_REWARD_SAMPLES + [("tac", ["tac"]), ("ta", ["tac"])])
    check_reward(NAME, config={"partial_credit": 0.5}, fresh_process=False)  # resolvability was checked above


def test_task_honours_the_rlinf_contract(tiny_tokenizer):
    examples = check_task(NAME, paths=["bundled:train.jsonl"], tokenizer=tiny_tokenizer, batch_size=8)
    assert len(examples) == 64


# -- installed and usable -----------------------------------------------------------------
def test_the_plugin_is_registered_by_its_entry_point(rlinf_registry):
    info = [p for p in rlinf_registry.plugins if p.package == "{{package}}"]
    assert info, "{{package}} is not installed: run `pip install -e .` in its folder"
    assert info[0].registered == {"tasks": [NAME], "rewards": [NAME]}


def test_recipe_validates():
    from rlinf_core.config import derive_sizes, load_config

    cfg = load_config(str(ROOT / "recipe.yaml"))
    assert (cfg.data.task, cfg.reward.name, cfg.runner.prepare) == (NAME, NAME, "tiny-model")
    assert derive_sizes(cfg).rollouts_per_step == cfg.data.rollout_batch_size * cfg.algorithm.group_size
