"""`rlinf run cookbook/math-tiny/grpo.yaml actor.backend=deepspeed runner.max_steps=3` through the
CLI and Ray, ZeRO-3 over two actor ranks with checkpoints at steps 2 and 3 (the recipe's preparer
replaced by the session's tiny checkpoint and a small dataset), and the contract suite, each in its own process (DeepSpeed joins a process group)."""

import subprocess
import sys
from pathlib import Path

import pytest

from rlinf_core.testing.cli import addition_rows, cli_env, metrics_by_step, run_cli, short_run_overrides

pytestmark = pytest.mark.slow
RECIPE = Path(__file__).resolve().parents[3] / "cookbook" / "math-tiny" / "grpo.yaml"


def env(tmp_path):
    return {"RLINF_CACHE": str(tmp_path / "cache")}


def test_grpo_recipe_runs_three_steps_on_deepspeed(tmp_path, tiny_checkpoint):
    data = addition_rows(tmp_path / "train.jsonl")
    out = tmp_path / "out"
    proc = run_cli(
        "run", str(RECIPE), "actor.backend=deepspeed", "actor.deepspeed.zero_stage=3",
        "cluster.devices_per_rank={actor: 1, rollout: 2, reward: 2}", "runner.max_steps=3", "runner.save_interval=2",
        "actor.micro_batch_size=16", *short_run_overrides(tiny_checkpoint, data, out),
        extra_env=env(tmp_path), cwd=tmp_path, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = metrics_by_step(out)
    assert sorted(rows) == [1, 2, 3]
    for row in rows.values():
        assert row["train/rollout_logprob_diff_max"] < 1e-4  # the rollout got the trained weights
        assert row["train/optimizer_steps"] >= 1
    for step in ("step_000002", "step_000003"):
        assert (out / "checkpoints" / step / "actor_state" / "zero").is_dir()  # each rank's ZeRO partitions


def test_contract_suite(tmp_path, tiny_checkpoint):
    code = ("import sys\nfrom rlinf_core.testing import check_train_backend\n"
            f"m = check_train_backend('deepspeed', model_path={tiny_checkpoint!r}, workdir={str(tmp_path)!r})\n"
            "print('metrics', sorted(m))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=cli_env(env(tmp_path)), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "train/optimizer_steps" in proc.stdout  # the suite trained a step and returned its metrics
