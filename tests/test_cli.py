"""The rlinf CLI through a subprocess: exit codes, messages, plugin listing, config show."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_config import RECIPE


def rlinf(*args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "rlinf_core.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture
def recipe(tmp_path, plugin_site):
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE)
    return str(path)


def test_help_everywhere():
    for args in [["--help"], ["run", "--help"], ["plugins", "--help"], ["config", "show", "--help"], ["version", "--help"]]:
        out = rlinf(*args)
        assert out.returncode == 0, (args, out.stderr)
        assert "Usage:" in out.stdout


def test_version():
    out = rlinf("version")
    assert out.returncode == 0
    assert out.stdout.startswith("rlinf-core 0.1.0")


def test_plugins_lists_installed_packages(plugin_site):
    out = rlinf("plugins")
    assert out.returncode == 0, out.stderr
    assert "testplugin (rlinf-testplugin 0.0.1, entry point)" in out.stdout
    assert "rewards: exact" in out.stdout
    rows = json.loads(rlinf("plugins", "--json").stdout)
    assert {r["name"] for r in rows} >= {"testplugin", "rlinf_core.trackers.builtin"}
    only = json.loads(rlinf("plugins", "--json", "--hook", "register_rewards").stdout)
    assert "testplugin" in [r["name"] for r in only]
    assert all("register_rewards" in r["hooks"] for r in only)
    assert "rlinf_core.trackers.builtin" not in [r["name"] for r in only]
    bad = rlinf("plugins", "--hook", "register_reward")
    assert bad.returncode == 2 and "Did you mean 'register_rewards'" in bad.stderr


def test_plugin_command_reaches_the_cli(plugin_site):
    out = rlinf("testplugin-hello")
    assert out.returncode == 0 and "hello from rlinf-testplugin" in out.stdout


def test_config_show_prints_resolved_config_and_sizes(recipe):
    out = rlinf("config", "show", recipe, "runner.max_steps=9")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# resolved config\n")
    assert "max_steps: 9" in out.stdout
    assert "baseline_decay: 0.9" in out.stdout
    assert "rollouts_per_step: 32" in out.stdout
    assert "mode: collocated" in out.stdout
    assert "- 'rollout -> actor: responses (object references) (train_on)'" in out.stdout
    assert "offload between phases: true" in out.stdout  # collocated, synchronous
    assert "# fields" not in out.stdout and "Decay of the running reward baseline." not in out.stdout


def test_config_show_fields_documents_each_section_without_the_config_dump(recipe):
    out = rlinf("config", "show", recipe, "runner.max_steps=9", "--fields")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    # Straight to the docs: a section heading, then a field with its type and default, then its help.
    assert lines[0].startswith("# cluster (ClusterConfig): ")
    assert lines[1] == "cluster.num_nodes: int = 1" and lines[2].startswith("    Number of machines")
    assert "# resolved config" not in out.stdout and "# derived sizes" not in out.stdout
    assert "runner.max_steps: int = 100  (this recipe: 9)\n    Training steps" in out.stdout
    # A plugin's own section class and field (the test plugin's algorithm), documented the same way.
    heading = next(line for line in lines if line.startswith("# algorithm ("))
    assert heading.endswith("Algorithm plugins extend this with their own fields."), heading
    assert "algorithm.baseline_decay: float = 0.9\n    Decay of the running reward baseline." in out.stdout
    assert "# rollout.model (ModelConfig): Checkpoint the rollout starts from." in lines
    headings = [line.split(" (")[0][2:] for line in lines if line.startswith("# ")]
    assert headings[:4] == ["cluster", "runner", "data", "rollout"] and "actor.optim" in headings


def test_user_errors_exit_2_with_one_paragraph(recipe):
    out = rlinf("config", "show", recipe, "runner.max_step=3")
    assert out.returncode == 2
    assert "Error: Unknown config field `runner.max_step`. Did you mean `runner.max_steps`?" in out.stderr
    assert "Traceback" not in out.stderr
    debug = rlinf("--debug", "config", "show", recipe, "runner.max_step=3")
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_missing_recipe_and_bad_usage_exit_2(tmp_path):
    out = rlinf("config", "show", str(tmp_path / "missing.yaml"))
    assert out.returncode == 2 and "does not exist" in out.stderr
    assert rlinf("run").returncode == 2  # click usage error
    assert rlinf("no-such-command").returncode == 2


def test_run_with_an_unknown_plugin_exits_2_naming_it(recipe):
    out = rlinf("run", recipe, "algorithm.name=no_such_algorithm")
    assert out.returncode == 2
    assert "Unknown algorithm 'no_such_algorithm' (config field `algorithm.name`)" in out.stderr


@pytest.mark.parametrize("recipe", ["cookbook/math-tiny/grpo.yaml", "cookbook/qwen2.5-1.5b-grpo/grpo.yaml", "cookbook/qwen2.5-7b-grpo/grpo.yaml"])
def test_cookbook_recipes_validate(recipe):
    out = rlinf("config", "show", str(Path(__file__).resolve().parent.parent / recipe))
    assert out.returncode == 0, out.stderr
    assert "# derived sizes" in out.stdout
