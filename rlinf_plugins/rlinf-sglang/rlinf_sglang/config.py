"""The `sglang` rollout backend's config section: the engine settings rlinf passes to
``sglang.Engine`` (SGLang's ServerArgs names in brackets where they differ).

Defaults suit an RL run on GPUs beside a trainer: half the device memory for weights and KV cache
(the trainer needs the rest in collocated mode), memory release between phases, prefix caching on
(flushed after every weight sync, RLinf PR #96).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict

from rlinf_core.config import doc
from rlinf_core.engine_rollout import EngineRolloutConfig


@dataclass
class SGLangRolloutConfig(EngineRolloutConfig):
    mem_fraction_static: float = doc(
        0.5, "Fraction of GPU memory SGLang takes for weights and KV cache (its mem_fraction_static).", gt=0.0, le=1.0
    )
    tensor_parallel_size: int = doc(1, "GPUs one engine shards the model over (SGLang's tp_size).", ge=1)
    disable_cuda_graph: bool = doc(False, "Run decode without CUDA graphs: faster start, slower decode.")
    context_length: int = doc(
        0, "Longest prompt + response the engine accepts; 0 takes the checkpoint's max_position_embeddings.", ge=0
    )
    enable_prefix_caching: bool = doc(
        True, "Keep SGLang's radix cache of prompt prefixes (off: disable_radix_cache); flushed after every weight sync."
    )
    attention_backend: str = doc("", "SGLang attention backend (e.g. fa3, flashinfer, triton); empty: SGLang chooses.")
    deterministic_inference: bool = doc(
        False,
        "SGLang's enable_deterministic_inference: batch-invariant kernels, and the per-row sampling seeds are honoured "
        "(a fixed rollout seed reproduces a rollout). Slower; needs a supporting attention backend.",
    )
    release_memory: bool = doc(
        True,
        "Collocated mode: release the KV cache and weights while the actor trains (SGLang's enable_memory_saver, "
        "release/resume_memory_occupation).",
    )
    log_level: str = doc("error", "SGLang's own log level.", choices=("debug", "info", "warning", "error"))
    extra_sampling: Dict[str, Any] = doc(
        factory=dict,
        help="Further SGLang sampling_params fields for every request, e.g. {repetition_penalty: 1.1, min_p: 0.05}. "
        "Fields rlinf sets itself (temperature, top_p, top_k, max_new_tokens, n, sampling_seed, stop_token_ids) "
        "are refused.",
    )
