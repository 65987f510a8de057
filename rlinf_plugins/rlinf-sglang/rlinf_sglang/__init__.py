"""rlinf-sglang: the `sglang` rollout backend (SGLang's offline ``Engine``, CUDA GPUs)."""

from typing import TYPE_CHECKING

from rlinf_core.lazy import lazy_exports

if TYPE_CHECKING:  # for type checkers and IDEs; at run time each name is imported on first use
    from rlinf_sglang.config import SGLangRolloutConfig
    from rlinf_sglang.rollout import SGLangRollout

__getattr__, __dir__ = lazy_exports(__name__, {
    "SGLangRolloutConfig": "rlinf_sglang.config",
    "SGLangRollout": "rlinf_sglang.rollout",
})

__all__ = ["SGLangRollout", "SGLangRolloutConfig"]
