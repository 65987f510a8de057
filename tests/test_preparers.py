"""Preparers write only under ``runner.cache_dir`` (issue 14): the base class's path rules and
the ``math-tiny`` preparer's use of them. The CLI side (exit 2, nothing written) is in
tests/test_resume_and_failures.py; the ``tiny-model`` preparer's in tests/test_new_task.py."""

from __future__ import annotations

import json
import os

import pytest

from rlinf_core.config import load_config
from rlinf_core.errors import ConfigError
from rlinf_core.interfaces.preparer import Preparer
from rlinf_core.runner import prepare_assets

RECIPE = os.path.join(os.path.dirname(__file__), "..", "cookbook", "math-tiny", "grpo.yaml")


class _Declares(Preparer):
    """Declares one output (``data.train_data_paths``) and writes nothing."""

    def outputs(self):
        return [("data.train_data_paths", self.config.data.train_data_paths[0])]

    def is_prepared(self):
        return True

    def prepare(self):
        raise AssertionError("never called")


def test_may_write_only_under_the_cache_dir(tmp_path):
    cache = tmp_path / "cache"
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "link")
    p = _Declares(load_config(None, [f"runner.cache_dir={cache}", "data.train_data_paths=[x.jsonl]"]))
    assert p.may_write(str(cache / "math-tiny" / "train.jsonl")) and p.may_write(str(cache))
    assert not p.may_write(str(cache / ".." / "train.jsonl"))
    assert not p.may_write(str(tmp_path / "cache-sibling" / "train.jsonl"))  # a prefix is not a parent
    assert not p.may_write("data/my.jsonl")
    linked = _Declares(load_config(None, [f"runner.cache_dir={tmp_path / 'link'}"]))  # symlinks resolved
    assert linked.may_write(str(tmp_path / "elsewhere" / "a")) and not linked.may_write(str(cache / "a"))


def test_a_missing_given_path_outside_the_cache_is_an_error(tmp_path):
    cfg = load_config(None, [f"runner.cache_dir={tmp_path / 'cache'}", f"data.train_data_paths=[{tmp_path / 'my.jsonl'}]"])
    with pytest.raises(ConfigError, match=r"`data.train_data_paths`='.*my.jsonl' does not exist.*runner.cache_dir"):
        _Declares(cfg).check_given_paths()
    (tmp_path / "my.jsonl").write_text("{}\n")
    _Declares(cfg).check_given_paths()  # it exists: the user's file, used as it is
    inside = load_config(None, [f"runner.cache_dir={tmp_path / 'cache'}", f"data.train_data_paths=[{tmp_path / 'cache' / 'a'}]"])
    _Declares(inside).check_given_paths()  # under the cache: the preparer may create it


def _math_tiny(tmp_path, *overrides):
    from rlinf_math_tiny.preparer import MathTinyPreparer

    cfg = load_config(RECIPE, [f"runner.cache_dir={tmp_path / 'cache'}", *overrides])
    return MathTinyPreparer(cfg)


def test_math_tiny_creates_only_missing_cache_paths_and_never_a_given_file(tmp_path, monkeypatch):
    mine = tmp_path / "my.jsonl"
    mine.write_text('{"prompt": "mine", "solutions": ["1"]}\n')
    preparer = _math_tiny(tmp_path, f"data.train_data_paths=[{mine}]")
    assert preparer._missing() == ["data.val_data_paths", "rollout.model.model_path"]
    built = []
    # The SFT warm start takes minutes; what it writes is the model folder, checked by path here.
    monkeypatch.setattr(type(preparer), "_build_model", lambda self, path, train, test, seed: built.append(path))
    preparer.prepare()
    cache = tmp_path / "cache" / "math-tiny"
    assert built == [str(cache / "sft-model")]
    assert mine.read_text() == '{"prompt": "mine", "solutions": ["1"]}\n'
    assert sorted(p.name for p in cache.iterdir()) == ["test.jsonl"]
    assert len((cache / "test.jsonl").read_text().splitlines()) == preparer.settings.num_test


def test_math_tiny_counts_a_given_model_as_prepared(tmp_path):
    model = tmp_path / "my-model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({}))
    cache = tmp_path / "cache" / "math-tiny"
    cache.mkdir(parents=True)
    for name in ("train.jsonl", "test.jsonl"):
        (cache / name).write_text("{}\n")
    preparer = _math_tiny(tmp_path, f"rollout.model.model_path={model}")
    assert preparer.is_prepared()  # no prepared.json in the user's model: it is never rebuilt
    assert prepare_assets(preparer.config) is False
    assert sorted(p.name for p in model.iterdir()) == ["config.json"]


@pytest.mark.slow  # ~15 s: a real (tiny) build, tokenizer training included
def test_math_tiny_builds_its_model_in_the_cache_beside_a_given_val_file(tmp_path, monkeypatch):
    from rlinf_core.tiny import TinyModelSpec
    from rlinf_math_tiny.preparer import MathTinySettings
    from rlinf_math_tiny.sft import SFTSettings

    mine = tmp_path / "my-val.jsonl"
    mine.write_text('{"prompt": "mine", "solutions": ["1"]}\n')
    preparer = _math_tiny(tmp_path, f"data.val_data_paths=[{mine}]")
    # A few seconds instead of minutes: the real steps with a tiny model and a 2-step SFT.
    small = MathTinySettings(num_test=8, model=TinyModelSpec(hidden_size=16, num_layers=1, num_heads=2, num_kv_heads=1,
                                                             intermediate_size=32), sft=SFTSettings(steps=2, batch_size=4, warmup=1))
    monkeypatch.setattr(type(preparer), "settings", small)  # prepare_assets makes its own instance
    assert prepare_assets(preparer.config) is True
    cache = tmp_path / "cache" / "math-tiny"
    assert sorted(p.name for p in cache.iterdir()) == ["sft-model", "train.jsonl"]  # no test.jsonl: the val file is mine
    marker = json.loads((cache / "sft-model" / "prepared.json").read_text())
    assert 0.0 <= marker["sft_greedy_accuracy"] <= 1.0  # measured on its own 8 held-out problems
    assert mine.read_text() == '{"prompt": "mine", "solutions": ["1"]}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "my-val.jsonl"]
    assert prepare_assets(preparer.config) is False  # idempotent
