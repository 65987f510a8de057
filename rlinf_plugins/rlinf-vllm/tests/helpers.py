"""The tests' engine settings: a KV block small enough for short prompts to fill one."""

from rlinf_core.tiny import TinyModelSpec
from rlinf_vllm import VLLMRolloutConfig

# hidden 64 over 2 heads: head size 32, the smallest vLLM's CPU attention kernels take.
SPEC = TinyModelSpec(hidden_size=64, num_layers=2, num_heads=2, num_kv_heads=1, intermediate_size=128)
BLOCK = 32  # KV block size: prompts longer than this get a cached prefix block


def rollout_config(path: str, **overrides) -> VLLMRolloutConfig:
    cfg = VLLMRolloutConfig(**{"max_new_tokens": 12, "block_size": BLOCK, "kv_cache_memory_gib": 0.25, **overrides})
    cfg.model.model_path = path
    return cfg
