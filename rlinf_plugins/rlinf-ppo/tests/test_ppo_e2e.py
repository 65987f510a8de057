"""`rlinf run cookbook/math-tiny/grpo.yaml algorithm.name=ppo` through the CLI and Ray: two steps
of critic warm-up with a checkpoint, then a resumed third step in which the policy trains too (the
resumed run knows the warm-up is over: the critic's step count came back with its weights)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
RECIPE = Path(__file__).resolve().parents[3] / "cookbook" / "math-tiny" / "grpo.yaml"


def test_ppo_warms_up_its_critic_checkpoints_and_resumes(tmp_path, tiny_checkpoint):
    data = tmp_path / "train.jsonl"
    data.write_text("".join(
        json.dumps({"prompt": [{"role": "user", "content": f"What is {10 + i} + {30 + i}?"}], "solutions": [str(40 + 2 * i)]}) + "\n"
        for i in range(32)))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "rlinf_core.cli", "run", str(RECIPE), "algorithm.name=ppo", "algorithm.critic_warmup_steps=2",
           "algorithm.critic_lr=1e-4", "runner.save_interval=2", f"rollout.model.model_path={tiny_checkpoint}",
           f"data.train_data_paths=[{data}]", "data.val_data_paths=[]", "runner.prepare=null", f"runner.output_dir={out}",
           "tracking.backends=[jsonl]", "rollout.max_new_tokens=16"]
    env = {**os.environ, "RLINF_CACHE": str(tmp_path / "cache"), "RAY_AUTH_MODE": "disabled"}
    for steps in (2, 3):
        proc = subprocess.run(cmd + [f"runner.max_steps={steps}"], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, proc.stderr[-4000:]
    assert (out / "checkpoints" / "step_000002" / "actor_state" / "critic.pt").exists()
    rows = {r["step"]: r for r in map(json.loads, open(out / "metrics.jsonl")) if r["step"] > 0}
    assert sorted(rows) == [1, 2, 3]
    assert [rows[s]["critic/warmup"] for s in (1, 2, 3)] == [1.0, 1.0, 0.0]
    assert [rows[s]["train/optimizer_steps"] for s in (1, 2)] == [0.0, 0.0]  # warm-up: the policy waits
    assert rows[3]["train/optimizer_steps"] >= 1.0
    for row in rows.values():
        assert row["critic/value_loss"] > 0 and row["critic/grad_norm"] > 0
        assert "critic/explained_variance" in row
