"""RLinf's math YAML (our fixture in its published schema) -> an rlinf recipe: values by hand,
every key accounted for once, the CLI round trip, and unsupported settings refused."""

from pathlib import Path

import yaml

from rlinf_core.config.rlinf_compat import _flatten, looks_like_rlinf, translate
from tests.test_cli import rlinf

FIXTURE = Path(__file__).parent / "fixtures" / "rlinf" / "qwen2.5-1.5b-grpo-megatron.yaml"


def fixture() -> dict:
    return yaml.safe_load(FIXTURE.read_text())


def test_the_fixture_translates_to_rlinfs_published_values():
    t = translate(fixture())
    r = t.recipe
    assert t.unsupported == []
    assert r["actor"]["global_batch_size"] == 512 * 16 // 4  # 4 minibatches of the step's responses
    assert r["rollout"]["max_new_tokens"] == 28672 - 1024  # seq_length - max_prompt_length
    assert r["actor"]["optim"]["lr_warmup_steps"] == 40  # 1% of 1000 steps x 4 minibatches
    assert r["actor"]["optim"]["lr"] == 2e-5 and isinstance(r["actor"]["optim"]["lr"], float)
    assert (r["reward"]["correct_score"], r["reward"]["incorrect_score"]) == (5.0, -5.0)
    assert r["rollout"]["top_k"] == -1  # RLinf's 1,000,000 means no top-k
    assert (r["algorithm"]["clip_ratio_low"], r["algorithm"]["clip_ratio_high"]) == (0.2, 0.2)
    assert (r["actor"]["backend"], r["rollout"]["backend"]) == ("megatron", "vllm")
    assert r["actor"]["megatron"]["tensor_parallel_size"] == 2 and r["rollout"]["model"]["precision"] == "fp16"
    assert r["runner"]["save_interval"] == 0 and r["algorithm"]["kl_estimator"] == "k3"
    assert ("runner.max_steps", 1000) == t.defaulted[0][:2]


def test_every_key_lands_in_exactly_one_list():
    raw = fixture()
    t = translate(raw)
    sources = [s for s, _, _ in t.mapped]
    listed = set(sources) | set(t.ignored) | {k for k, _ in t.unsupported} | {k for k, _, _ in t.defaulted}
    assert set(_flatten(raw)) <= listed
    assert not set(t.ignored) & set(sources) and len(t.ignored) == len(set(t.ignored))
    assert looks_like_rlinf(raw) and not looks_like_rlinf({"runner": {"max_steps": 3}})


def test_import_writes_a_recipe_that_validates_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "recipe.yaml"
    first = rlinf("config", "import", str(FIXTURE), "-o", str(out))
    assert first.returncode == 0, first.stderr
    assert "unsupported (0):" in first.stderr and "algorithm.n_minibatches" in first.stderr
    shown = rlinf("config", "show", str(out))
    assert shown.returncode == 0, shown.stderr
    assert "global_batch_size: 2048" in shown.stdout
    again = rlinf("config", "import", str(FIXTURE), "-o", str(out))
    assert again.returncode == 2 and "exists" in again.stderr


def test_unsupported_settings_stop_run_and_import_unless_allowed(tmp_path):
    raw = fixture()
    raw["runner"]["enable_dynamic_batch_size"] = True
    raw["cluster"]["component_placement"] = {"actor": "0-15", "rollout": "16-47", "inference": "48-63", "reward": "all"}
    path = tmp_path / "rlinf.yaml"
    path.write_text(yaml.safe_dump(raw))
    run = rlinf("run", str(path), f"runner.output_dir={tmp_path / 'out'}")
    assert run.returncode == 2
    assert "runner.enable_dynamic_batch_size = True" in run.stderr and "'inference': '48-63'" in run.stderr
    assert not (tmp_path / "out").exists()
    allowed = rlinf("config", "import", str(path), "--allow-unsupported")
    assert allowed.returncode == 0, allowed.stderr
    assert "unsupported (2):" in allowed.stderr and "enable_dynamic_batch_size" not in allowed.stdout


def test_greedy_sampling_wins_over_the_temperature():
    raw = fixture()
    raw["algorithm"]["sampling_params"]["use_greedy"] = True
    t = translate(raw)
    assert t.recipe["rollout"]["temperature"] == 0.0 and "algorithm.sampling_params.temperature" in t.ignored


def test_import_of_a_bad_file_names_it_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("actor: [unclosed\n")
    out = rlinf("config", "import", str(bad), "-o", str(tmp_path / "recipe.yaml"))
    assert out.returncode == 2 and f"'{bad}' is not valid YAML (line" in out.stderr
    assert out.stderr.count("Error:") == 1 and not (tmp_path / "recipe.yaml").exists()
