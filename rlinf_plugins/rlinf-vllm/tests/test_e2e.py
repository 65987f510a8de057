"""`rlinf run cookbook/math-tiny/grpo.yaml rollout.backend=vllm runner.max_steps=3` through the
CLI and Ray: the one end-to-end run of the backend in CI (~70 s here). The recipe's own
preparer (minutes of SFT) is replaced by the session's tiny checkpoint and a small dataset."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RECIPE = Path(__file__).resolve().parents[3] / "cookbook" / "math-tiny" / "grpo.yaml"


def test_grpo_recipe_runs_three_steps_on_vllm(tmp_path, vllm_checkpoint):
    data = tmp_path / "train.jsonl"
    with open(data, "w") as fh:
        for i in range(32):
            a, b = 10 + i, 30 + i
            prompt = [{"role": "user", "content": f"What is {a} + {b}?"}]
            fh.write(json.dumps({"prompt": prompt, "solutions": [f"\\boxed{{{a + b}}}"]}) + "\n")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "rlinf_core.cli", "run", str(RECIPE), "rollout.backend=vllm", "runner.max_steps=3",
         f"rollout.model.model_path={vllm_checkpoint}", f"data.train_data_paths=[{data}]", f"data.val_data_paths=[{data}]",
         "runner.prepare=null", f"runner.output_dir={out}", "tracking.backends=[jsonl]"],
        cwd=tmp_path, env={**os.environ, "RLINF_CACHE": str(tmp_path / "cache"), "RAY_AUTH_MODE": "disabled"},
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = {r["step"]: r for r in map(json.loads, open(out / "metrics.jsonl")) if r["step"] > 0}
    assert sorted(rows) == [1, 2, 3]
    for step, row in rows.items():
        # The trainer recomputes every sampled token's log-prob: vLLM's must agree (fp32 both).
        print(f"step {step}: train/rollout_logprob_diff_max {row['train/rollout_logprob_diff_max']:.2e}")
        assert row["train/rollout_logprob_diff_max"] < 1e-4
        assert row["rollout/response_length"] > 0
    assert (out / "checkpoints" / "step_000003").is_dir()
