"""`rlinf run cookbook/math-tiny/grpo.yaml algorithm.name=ppo` through the CLI and Ray: two steps
of critic warm-up with a checkpoint, then a resumed third step in which the policy trains too (the
resumed run knows the warm-up is over: the critic's step count came back with its weights)."""

from pathlib import Path

import pytest

from rlinf_core.testing.cli import addition_rows, metrics_by_step, run_cli, short_run_overrides

pytestmark = pytest.mark.slow
RECIPE = Path(__file__).resolve().parents[3] / "cookbook" / "math-tiny" / "grpo.yaml"


def test_ppo_warms_up_its_critic_checkpoints_and_resumes(tmp_path, tiny_checkpoint):
    data = addition_rows(tmp_path / "train.jsonl")
    out = tmp_path / "out"
    cmd = ["run", str(RECIPE), "algorithm.name=ppo", "algorithm.critic_warmup_steps=2", "algorithm.critic_lr=1e-4",
           "runner.save_interval=2", *short_run_overrides(tiny_checkpoint, data, out)]
    env = {"RLINF_CACHE": str(tmp_path / "cache")}
    for steps in (2, 3):
        proc = run_cli(*cmd, f"runner.max_steps={steps}", extra_env=env, cwd=tmp_path, timeout=900)
        assert proc.returncode == 0, proc.stderr[-4000:]
    assert (out / "checkpoints" / "step_000002" / "actor_state" / "critic.pt").exists()
    rows = metrics_by_step(out)
    assert sorted(rows) == [1, 2, 3]
    assert [rows[s]["critic/warmup"] for s in (1, 2, 3)] == [1.0, 1.0, 0.0]
    assert [rows[s]["train/optimizer_steps"] for s in (1, 2)] == [0.0, 0.0]  # warm-up: the policy waits
    assert rows[3]["train/optimizer_steps"] >= 1.0
    for row in rows.values():
        assert row["critic/value_loss"] > 0 and row["critic/grad_norm"] > 0
        assert "critic/explained_variance" in row
