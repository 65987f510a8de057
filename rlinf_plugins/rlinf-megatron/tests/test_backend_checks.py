"""What the driver refuses before anything is written: layouts the checkpoint or the actor ranks
cannot split, what the backend does not build, and any placement without GPUs (Megatron-Core's
forward runs on CUDA only), through the classmethods and through `rlinf run` (exit 2)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlinf_core.errors import ConfigError
from rlinf_megatron import MegatronActorConfig, MegatronParallelConfig
from rlinf_megatron.backend import MegatronTrainBackend


def actor(path, **parallel):
    cfg = MegatronActorConfig(megatron=MegatronParallelConfig(**parallel))
    cfg.model.model_path = path
    return cfg


def test_config_errors_name_the_field(tiny_checkpoint):  # tiny: 4 heads, 2 KV heads, 2 layers
    fits = actor(tiny_checkpoint, tensor_parallel_size=2, pipeline_parallel_size=2, sequence_parallel=True)
    MegatronTrainBackend.check_config(fits)
    MegatronTrainBackend.check_placement(fits, 8, "gpu", 1)  # 2-way data parallel
    with_context = actor(tiny_checkpoint, tensor_parallel_size=2, context_parallel_size=2)
    MegatronTrainBackend.check_config(with_context)
    MegatronTrainBackend.check_placement(with_context, 4, "gpu", 1)
    cases = [
        (dict(tensor_parallel_size=4), r"`actor.megatron.tensor_parallel_size`=4 does not divide the model's num_key_value_heads \(2\)"),
        (dict(pipeline_parallel_size=4), r"`actor.megatron.pipeline_parallel_size`=4 does not divide the model's num_hidden_layers \(2\)"),
        (dict(context_parallel_size=2, transformer_engine=False),
         r"`actor.megatron.context_parallel_size`=2 needs Transformer Engine's attention"),
        (dict(sequence_parallel=True), r"`actor.megatron.sequence_parallel` needs `actor.megatron.tensor_parallel_size` > 1"),
    ]
    for parallel, message in cases:
        with pytest.raises(ConfigError, match=message):
            MegatronTrainBackend.check_config(actor(tiny_checkpoint, **parallel))
    with pytest.raises(ConfigError, match=r"`actor.model.model_path`='/nonexistent' has no config.json"):
        MegatronTrainBackend.check_config(actor("/nonexistent"))


def test_placement_errors_name_the_field(tiny_checkpoint):
    cfg = actor(tiny_checkpoint, pipeline_parallel_size=2)
    with pytest.raises(ConfigError, match=r"needs GPUs: Megatron-Core's forward runs on CUDA only. Set `cluster.num_gpus_per_node`"):
        MegatronTrainBackend.check_placement(cfg, 2, "cpu", 1)
    with pytest.raises(ConfigError, match=r"`cluster.devices_per_rank.actor`=2: a Megatron rank drives one GPU"):
        MegatronTrainBackend.check_placement(cfg, 2, "gpu", 2)
    with pytest.raises(ConfigError, match=r"3 actor ranks do not split into model-parallel groups of .* = 2"):
        MegatronTrainBackend.check_placement(cfg, 3, "gpu", 1)


def test_the_cli_refuses_megatron_on_cpus_before_writing_anything(tmp_path, tiny_checkpoint):
    recipe = Path(__file__).resolve().parents[3] / "cookbook" / "math-tiny" / "grpo.yaml"
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"prompt": [{"role": "user", "content": f"What is {i} + 1?"}], "solutions": [str(i + 1)]}) + "\n" for i in range(20)))
    work = tmp_path / "work"
    work.mkdir()
    before = sorted(tmp_path.rglob("*"))
    proc = subprocess.run(
        [sys.executable, "-m", "rlinf_core.cli", "run", str(recipe), f"rollout.model.model_path={tiny_checkpoint}",
         f"data.train_data_paths=[{data}]", "data.val_data_paths=[]", "runner.prepare=null", "actor.backend=megatron"],
        cwd=work, env={**os.environ, "RLINF_CACHE": str(tmp_path / "cache"), "RAY_AUTH_MODE": "disabled"},
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "`actor.backend`='megatron' needs GPUs" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(tmp_path.rglob("*")) == before
