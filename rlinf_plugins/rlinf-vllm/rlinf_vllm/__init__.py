"""rlinf-vllm: a rollout backend on vLLM's offline engine, with in-place weight sync."""

from typing import TYPE_CHECKING

from rlinf_core.lazy import lazy_exports

if TYPE_CHECKING:  # for type checkers and IDEs; at run time each name is imported on first use
    from rlinf_vllm.config import VLLMRolloutConfig
    from rlinf_vllm.rollout import VLLMRollout

__getattr__, __dir__ = lazy_exports(__name__, {
    "VLLMRolloutConfig": "rlinf_vllm.config",
    "VLLMRollout": "rlinf_vllm.rollout",
})

__all__ = ["VLLMRollout", "VLLMRolloutConfig"]
