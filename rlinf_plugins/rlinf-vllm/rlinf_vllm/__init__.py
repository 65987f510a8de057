"""rlinf-vllm: a rollout backend on vLLM's offline engine, with in-place weight sync."""

from rlinf_vllm.config import VLLMRolloutConfig
from rlinf_vllm.rollout import VLLMRollout

__all__ = ["VLLMRollout", "VLLMRolloutConfig"]
