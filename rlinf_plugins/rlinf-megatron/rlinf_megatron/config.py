"""The Megatron parallel settings (``actor.megatron.*``) and their translation, with a Hugging Face
Qwen2 ``config.json``, into Megatron-Core's ``TransformerConfig`` keyword arguments.

Follows Megatron-LM's Qwen2 recipe: RMSNorm, SwiGLU (gated linear unit with SiLU), bias on the
QKV projection only, rotary embeddings with the checkpoint's base, grouped-query attention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping

from rlinf_core.config import ActorConfig, doc
from rlinf_core.errors import ConfigError
from rlinf_megatron.shapes import Layout, ModelShape, check_layout

PARAMS_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


@dataclass
class MegatronParallelConfig:
    """How one actor model is split over the actor ranks (Megatron-LM's parallel sizes)."""

    tensor_parallel_size: int = doc(1, "Ranks that split each layer's matrices (must divide heads, KV heads, FFN width).", ge=1)
    pipeline_parallel_size: int = doc(1, "Ranks that split the decoder layers into stages (must divide the layer count).", ge=1)
    context_parallel_size: int = doc(1, "Ranks that split each sequence (long responses).", ge=1)
    sequence_parallel: bool = doc(False, "Shard norm/dropout activations over the tensor-parallel ranks (needs tensor_parallel_size > 1).")
    use_distributed_optimizer: bool = doc(True, "Shard optimizer states over the data-parallel ranks (ZeRO-1 style).")
    recompute_granularity: str = doc(
        "none", "Activation recompute: none, selective (attention core) or full (whole layers).", choices=("none", "selective", "full")
    )
    vocab_divisor: int = doc(128, "Pad the vocabulary to a multiple of this times tensor_parallel_size.", ge=1)
    transformer_engine: bool = doc(True, "Use Transformer Engine layers (norms fused into linear_qkv / linear_fc1).")
    max_tokens_per_micro_batch: int = doc(
        0,
        "Dynamic micro-batching: each forward/backward holds as many length-sorted sequences as fit this many "
        "padded tokens (rows x longest). 0: actor.micro_batch_size sequences per micro-batch.",
        ge=0,
    )
    offload_params: bool = doc(True, "Between phases on shared devices, move the weights to CPU memory.")
    offload_grads: bool = doc(True, "Between phases on shared devices, free the gradient buffers.")
    offload_optimizer: bool = doc(True, "Between phases on shared devices, move the optimizer state to CPU memory.")

    def layout(self) -> Layout:
        return Layout(self.tensor_parallel_size, self.pipeline_parallel_size, self.vocab_divisor, self.transformer_engine)


@dataclass
class MegatronActorConfig(ActorConfig):
    megatron: MegatronParallelConfig = doc(MegatronParallelConfig(), "Megatron-Core parallel sizes, micro-batching and offload.")


def check_parallel(parallel: MegatronParallelConfig, shape: ModelShape, world_size: int) -> None:
    """ConfigErrors naming the field and the numbers, before any process starts."""
    check_layout(shape, parallel.layout())
    model_parallel = parallel.tensor_parallel_size * parallel.pipeline_parallel_size * parallel.context_parallel_size
    if world_size % model_parallel:
        raise ConfigError(
            f"{world_size} actor ranks do not split into model-parallel groups of "
            f"tensor_parallel_size x pipeline_parallel_size x context_parallel_size = {model_parallel} "
            "(`actor.megatron.*`); the rest of the ranks are data parallel."
        )
    if parallel.sequence_parallel and parallel.tensor_parallel_size == 1:
        raise ConfigError("`actor.megatron.sequence_parallel` needs `actor.megatron.tensor_parallel_size` > 1.")


def transformer_config_kwargs(hf: Mapping[str, Any], parallel: MegatronParallelConfig, precision: str) -> Dict[str, Any]:
    """``megatron.core.transformer.TransformerConfig`` keyword arguments for a Qwen2 ``config.json``
    (``activation_func`` is named "silu": the caller passes ``torch.nn.functional.silu``)."""
    shape = ModelShape.from_hf_config(hf)
    return {
        "num_layers": shape.num_layers,
        "hidden_size": shape.hidden_size,
        "ffn_hidden_size": shape.ffn_hidden_size,
        "num_attention_heads": shape.num_heads,
        "num_query_groups": shape.num_query_groups,
        "kv_channels": shape.head_dim,
        "normalization": "RMSNorm",
        "layernorm_epsilon": float(hf.get("rms_norm_eps", 1e-6)),
        "gated_linear_unit": True,
        "activation_func": "silu",
        "add_bias_linear": False,
        "add_qkv_bias": shape.qkv_bias,
        "hidden_dropout": 0.0,
        "attention_dropout": float(hf.get("attention_dropout", 0.0)),
        "tensor_model_parallel_size": parallel.tensor_parallel_size,
        "pipeline_model_parallel_size": parallel.pipeline_parallel_size,
        "context_parallel_size": parallel.context_parallel_size,
        "sequence_parallel": parallel.sequence_parallel,
        "recompute_granularity": None if parallel.recompute_granularity == "none" else parallel.recompute_granularity,
        "params_dtype": PARAMS_DTYPES[precision],
        "bf16": precision == "bf16",
        "fp16": precision == "fp16",
    }


def gpt_model_kwargs(hf: Mapping[str, Any], parallel: MegatronParallelConfig) -> Dict[str, Any]:
    """``GPTModel`` keyword arguments besides the config and layer spec."""
    shape = ModelShape.from_hf_config(hf)
    return {
        "vocab_size": parallel.layout().padded_vocab(shape),
        "max_sequence_length": int(hf.get("max_position_embeddings", 4096)),
        "position_embedding_type": "rope",
        "rotary_base": int(hf.get("rope_theta", 10000)),
        "share_embeddings_and_output_weights": shape.tied_embeddings,
    }
