"""The DeepSpeed config derived from rlinf's fields, and the errors that name the field."""

import pytest

from rlinf_core.errors import ConfigError
from rlinf_deepspeed import DeepSpeedActorConfig, ZeroConfig
from rlinf_deepspeed.config import deepspeed_config


def actor(**zero):
    cfg = DeepSpeedActorConfig(micro_batch_size=3, deepspeed=ZeroConfig(**zero))
    cfg.optim.clip_grad = 0.8
    return cfg


def test_derived_from_rlinfs_own_fields():
    ds = deepspeed_config(actor(zero_stage=3, offload_optimizer=True, offload_params=True, reduce_bucket_mb=2,
                                extra={"communication_data_type": "fp32"}))
    assert ds["train_micro_batch_size_per_gpu"] == 3 and ds["gradient_accumulation_steps"] == 1
    assert ds["managed_gradient_accumulation"] is False  # rlinf decides where a minibatch ends
    assert ds["gradient_clipping"] == 0.8
    assert ds["zero_optimization"] == {"stage": 3, "reduce_bucket_size": 2 * 2**20 // 4, "allgather_bucket_size": 2 * 2**20 // 4,
                                       "offload_optimizer": {"device": "cpu"}, "offload_param": {"device": "cpu"}}
    assert ds["bf16"] == {"enabled": False} and ds["fp16"] == {"enabled": False}
    assert ds["communication_data_type"] == "fp32"
    a = actor()
    a.model.precision = "bf16"
    assert deepspeed_config(a)["bf16"] == {"enabled": True}


@pytest.mark.parametrize("zero, message", [
    ({"zero_stage": 2, "offload_params": True}, r"`actor.deepspeed.offload_params` needs ZeRO stage 3 \(`actor.deepspeed.zero_stage` is 2\)"),
    ({"extra": {"gradient_clipping": 1.0}}, r"`actor.deepspeed.extra.gradient_clipping` is derived by rlinf from actor.optim.clip_grad"),
    ({"extra": {"zero_optimization": {}}}, r"`actor.deepspeed.extra.zero_optimization` is derived"),
])
def test_bad_settings_name_the_field(zero, message):
    with pytest.raises(ConfigError, match=message):
        deepspeed_config(actor(**zero))


def test_the_cli_refuses_a_bad_zero_setting_before_writing_anything(tmp_path, tiny_checkpoint):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    recipe = Path(__file__).resolve().parents[3] / "cookbook" / "math-tiny" / "grpo.yaml"
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"What is {i} + 1?", "solutions": [str(i + 1)]}) + "\n" for i in range(20)))
    work = tmp_path / "work"
    work.mkdir()
    before = sorted(tmp_path.rglob("*"))
    proc = subprocess.run(
        [sys.executable, "-m", "rlinf_core.cli", "run", str(recipe), f"rollout.model.model_path={tiny_checkpoint}",
         f"data.train_data_paths=[{data}]", "data.val_data_paths=[]", "runner.prepare=null", "actor.backend=deepspeed",
         "actor.deepspeed.offload_params=true"],
        cwd=work, env={**os.environ, "RLINF_CACHE": str(tmp_path / "cache"), "RAY_AUTH_MODE": "disabled"},
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "`actor.deepspeed.offload_params` needs ZeRO stage 3" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(tmp_path.rglob("*")) == before
