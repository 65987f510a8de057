"""A Qwen2 config.json as Megatron-Core's TransformerConfig and GPTModel arguments; parallel sizes
that do not fit the actor ranks name the field."""

import pytest

from rlinf_core.errors import ConfigError
from rlinf_megatron.config import MegatronParallelConfig, check_parallel, gpt_model_kwargs, transformer_config_kwargs
from rlinf_megatron.shapes import ModelShape

QWEN25_1_5B = {  # Qwen2.5-1.5B's published config.json (the fields read)
    "num_hidden_layers": 28, "hidden_size": 1536, "intermediate_size": 8960, "num_attention_heads": 12,
    "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 131072, "rope_theta": 1000000.0,
    "rms_norm_eps": 1e-06, "tie_word_embeddings": True, "attention_dropout": 0.0,
}


def test_qwen25_15b_translates():
    parallel = MegatronParallelConfig(tensor_parallel_size=2, pipeline_parallel_size=2, recompute_granularity="full")
    kw = transformer_config_kwargs(QWEN25_1_5B, parallel, "bf16")
    assert (kw["num_layers"], kw["hidden_size"], kw["ffn_hidden_size"]) == (28, 1536, 8960)
    assert (kw["num_attention_heads"], kw["num_query_groups"], kw["kv_channels"]) == (12, 2, 128)
    assert kw["normalization"] == "RMSNorm" and kw["gated_linear_unit"] and kw["add_qkv_bias"] and not kw["add_bias_linear"]
    assert (kw["params_dtype"], kw["bf16"], kw["recompute_granularity"]) == ("bfloat16", True, "full")
    model = gpt_model_kwargs(QWEN25_1_5B, parallel)
    assert model["vocab_size"] == 152064  # 151936 padded to a multiple of 128 x 2
    assert model["rotary_base"] == 1000000 and model["share_embeddings_and_output_weights"]


def test_parallel_sizes_that_do_not_fit_name_the_field():
    shape = ModelShape.from_hf_config(QWEN25_1_5B)
    check_parallel(MegatronParallelConfig(tensor_parallel_size=2, pipeline_parallel_size=2), shape, world_size=8)
    with pytest.raises(ConfigError, match=r"`actor.megatron.tensor_parallel_size`=4 does not divide the model's num_key_value_heads \(2\)"):
        check_parallel(MegatronParallelConfig(tensor_parallel_size=4), shape, world_size=8)
    with pytest.raises(ConfigError, match=r"6 actor ranks do not split into model-parallel groups of .* = 4"):
        check_parallel(MegatronParallelConfig(tensor_parallel_size=2, pipeline_parallel_size=2), shape, world_size=6)
    with pytest.raises(ConfigError, match=r"`actor.megatron.sequence_parallel` needs"):
        check_parallel(MegatronParallelConfig(sequence_parallel=True), shape, world_size=1)
