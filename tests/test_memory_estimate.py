"""The memory estimate per rank (rlinf_core/plan/memory.py, plan/fit.py) against hand counts,
the backends' sharding, and the refusal of a placement that does not fit."""

import json

import pytest

from rlinf_core.config import load_config, section
from rlinf_core.errors import ConfigError
from rlinf_core.plan.fit import MemoryFit, check_memory
from rlinf_core.plan.memory import (
    GIB,
    ActorShards,
    DeviceUse,
    MemoryEstimate,
    ModelShape,
    actor_memory,
    read_model_shape,
    rollout_memory,
)
from tests.test_cli import rlinf

# h=8, 2 layers, FFN 16, vocabulary 10, 2 heads of 4, 1 KV head, untied head.
SHAPE = ModelShape(hidden=8, layers=2, ffn=16, vocab=10, heads=2, kv_heads=1, head_dim=4, tied_embeddings=False)
# Per layer: q 8x8+8, k and v 8x4+4 each, o 8x8 = 208; MLP 3x8x16 = 384; two norms 16 -> 608.
# Embeddings 80, 2 layers 1216, final norm 8, LM head 80.
PARAMS = 80 + 2 * 608 + 8 + 80


def test_parameter_count_by_hand_and_against_a_real_qwen2():
    assert SHAPE.params == PARAMS == 1384
    from transformers import Qwen2Config, Qwen2ForCausalLM

    model = Qwen2ForCausalLM(Qwen2Config(hidden_size=8, num_hidden_layers=2, intermediate_size=16, vocab_size=10,
                                         num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=False))
    assert sum(p.numel() for p in model.parameters()) == PARAMS
    tied = ModelShape(**{**SHAPE.__dict__, "tied_embeddings": True})
    assert tied.params == PARAMS - 80


def test_read_model_shape(tmp_path):
    assert read_model_shape(str(tmp_path), "actor.model.model_path") is None  # not prepared yet
    (tmp_path / "config.json").write_text(json.dumps({
        "hidden_size": 8, "num_hidden_layers": 2, "intermediate_size": 16, "vocab_size": 10,
        "num_attention_heads": 2, "num_key_value_heads": 1}))
    assert read_model_shape(str(tmp_path), "f") == SHAPE  # head_dim from hidden/heads; untied by default
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    with pytest.raises(ConfigError, match=r"config.json \(from `actor.model.model_path`\).*num_hidden_layers"):
        read_model_shape(str(tmp_path), "actor.model.model_path")


def test_actor_and_rollout_memory_by_hand():
    n = PARAMS
    fp32 = actor_memory(SHAPE, "fp32", ActorShards(), micro_tokens=100)
    assert fp32.parts == {"weights": 4 * n, "gradients": 4 * n, "optimizer": 8 * n,
                          "activations": 100 * 2 * 68 * 8, "logits": 100 * 10 * 8}
    bf16 = actor_memory(SHAPE, "bf16", ActorShards(optimizer=0.5), micro_tokens=100, recompute=True)
    assert bf16.parts["weights"] == 2 * n and bf16.parts["optimizer"] == 12 * n * 0.5  # moments + fp32 master
    assert bf16.parts["activations"] == 100 * 2 * 2 * 8  # 2h bytes per token and layer with recompute
    autocast = actor_memory(SHAPE, "bf16", ActorShards(), micro_tokens=0, fp32_weights=True)
    assert autocast.parts["weights"] == 4 * n and autocast.parts["optimizer"] == 8 * n
    # KV: 2 (K, V) x 2 layers x 1 head x 4 dims x 2 bytes = 32 bytes a token.
    assert SHAPE.kv_bytes_per_token(2) == 32
    assert rollout_memory(SHAPE, "bf16", kv_tokens=1000).parts == {"weights": 2 * n, "kv_cache": 32_000}


def test_backends_shard_as_their_engines_do():
    from rlinf_deepspeed.backend import DeepSpeedTrainBackend
    from rlinf_hf.rollout import HFRollout
    from rlinf_megatron.backend import MegatronTrainBackend
    from rlinf_torch.backend import TorchTrainBackend
    from rlinf_vllm.rollout import VLLMRollout

    def cfg(backend, *overrides):
        return load_config(None, [f"actor.backend={backend}", *overrides])

    assert TorchTrainBackend.memory_shards(section(cfg("torch"), "actor"), 4) == ActorShards()
    assert TorchTrainBackend.memory_shards(section(cfg("torch", "actor.strategy=fsdp2"), "actor"), 4) == \
        ActorShards(0.25, 0.25, 0.25)
    stages = [DeepSpeedTrainBackend.memory_shards(section(cfg("deepspeed", f"actor.deepspeed.zero_stage={s}"), "actor"), 4)
              for s in (1, 2, 3)]
    assert stages == [ActorShards(1, 1, 0.25), ActorShards(1, 0.25, 0.25), ActorShards(0.25, 0.25, 0.25)]
    # Megatron, TP 2 x PP 2 on 8 ranks: DP 2; the distributed optimizer splits over DP too.
    mega = section(cfg("megatron", "actor.megatron.tensor_parallel_size=2", "actor.megatron.pipeline_parallel_size=2",
                       "actor.megatron.sequence_parallel=true"), "actor")
    assert MegatronTrainBackend.memory_shards(mega, 8) == ActorShards(0.25, 0.25, 0.125, 0.5)
    hf = section(load_config(None, ["rollout.backend=hf", "rollout.generation_batch_size=3"]), "rollout")
    assert HFRollout.estimate_memory(hf, SHAPE, rows=10, max_tokens=50, device_bytes=0).parts["kv_cache"] == 3 * 50 * 64
    vllm = section(load_config(None, ["rollout.backend=vllm", "rollout.kv_cache_memory_gib=0",
                                      "rollout.gpu_memory_utilization=0.5"]), "rollout")
    assert VLLMRollout.estimate_memory(vllm, SHAPE, 10, 50, device_bytes=80 * GIB).total == 40 * GIB


def test_collocated_phases_that_take_turns_need_the_larger_share():
    assert DeviceUse(0, 0, {"actor": 30.0, "rollout": 50.0}, takes_turns=True).needed == 50.0
    assert DeviceUse(0, 0, {"actor": 30.0, "rollout": 50.0}, takes_turns=False).needed == 80.0


def test_a_placement_over_a_device_is_refused_naming_the_device_and_the_fix():
    est = {"actor": MemoryEstimate({"weights": 30 * GIB}), "rollout": MemoryEstimate({"kv_cache": 50 * GIB})}
    fits = MemoryFit(est, {"GPU 0 (node 0)": 50 * GIB}, 80 * GIB, "`cluster.gpu_memory_gb`")
    check_memory(fits)  # 50 of 72 usable
    over = MemoryFit(est, {"GPU 0 (node 0)": 50 * GIB, "GPU 1 (node 0)": 75 * GIB}, 80 * GIB, "`cluster.gpu_memory_gb`")
    with pytest.raises(ConfigError, match=r"GPU 1 \(node 0\) needs ~75.0 GiB.*80.0 GiB \(`cluster.gpu_memory_gb`\)"
                                          r".*72.0 GiB are usable.*rollout: 50.0 GiB \(kv_cache 50.0\)"):
        check_memory(over)
    check_memory(MemoryFit(est, {"GPU 0 (node 0)": 500 * GIB}, None, "unknown"))  # unknown capacity: unchecked


@pytest.fixture
def gpu_checkpoint(tmp_path):
    """The config.json of DeepSeek-R1-Distill-Qwen-1.5B (no weights: the estimate reads only the shape)."""
    (tmp_path / "config.json").write_text(json.dumps({
        "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12,
        "num_key_value_heads": 2, "vocab_size": 151936, "tie_word_embeddings": False}))
    return str(tmp_path)


def test_config_show_prints_the_estimate_and_flags_the_hf_loop_at_28k_tokens(gpu_checkpoint, tmp_path):
    """The 1.5B recipe as shipped (vLLM rollout) fits 80 GB GPUs; with the HF loop, whose KV cache
    is preallocated for every row at 27,648 tokens, it does not."""
    from pathlib import Path

    import yaml

    recipe = Path(__file__).resolve().parent.parent / "cookbook/qwen2.5-1.5b-grpo/grpo.yaml"
    model = (f"rollout.model.model_path={gpu_checkpoint}", f"actor.model.model_path={gpu_checkpoint}", "cluster.gpu_memory_gb=80")
    shipped = rlinf("config", "show", str(recipe), *model)
    assert shipped.returncode == 0, shipped.stderr
    assert "engine (gpu_memory_utilization): 44.00 GiB" in shipped.stdout and "does not fit" not in shipped.stdout
    with_hf = yaml.safe_load(recipe.read_text())
    with_hf["rollout"] = {k: v for k, v in with_hf["rollout"].items()
                          if k in ("model", "temperature", "top_p", "top_k", "max_new_tokens")} | {"backend": "hf"}
    (tmp_path / "hf.yaml").write_text(yaml.safe_dump(with_hf))
    out = rlinf("config", "show", str(tmp_path / "hf.yaml"), *model)
    assert out.returncode == 0, out.stderr
    assert "# memory per rank" in out.stdout and "kv_cache: 196.00 GiB" in out.stdout
    assert "# does not fit: GPU 0 (node 0) needs 199.3 GiB" in out.stdout
    assert "# ... and 29 more devices that do not fit" in out.stdout


def test_run_refuses_a_cpu_placement_over_the_machines_ram_before_writing(tmp_path, plugin_site, tiny_checkpoint):
    from tests.test_config import RECIPE

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"prompt": "What is 1 + 1?", "solutions": ["2"]}) + "\n")
    out_dir = tmp_path / "out"
    out = rlinf("run", str(recipe), f"rollout.model.model_path={tiny_checkpoint}", f"runner.output_dir={out_dir}",
                f"data.train_data_paths=[{data}]", "rollout.max_new_tokens=2000000000")
    assert out.returncode == 2, out.stderr
    assert "does not fit in memory: node 0 needs" in out.stderr and "this machine's RAM" in out.stderr
    assert not out_dir.exists()
