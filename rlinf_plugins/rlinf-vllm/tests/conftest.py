"""One vLLM engine for the whole session (starting one costs ~15-35 s on this CPU), on a tiny
Qwen2 whose attention head size (32) vLLM's CPU kernels support (the root conftest's
``tiny_checkpoint`` has head size 16, which they refuse: see test_bad_input.py)."""

import pytest

from rlinf_core.testing.fixtures import TINY_CORPUS
from rlinf_core.tiny import TinyModelSpec, build_tiny_checkpoint
from rlinf_vllm import VLLMRollout, VLLMRolloutConfig

# hidden 64 over 2 heads: head size 32, the smallest the CPU attention kernels take.
SPEC = TinyModelSpec(hidden_size=64, num_layers=2, num_heads=2, num_kv_heads=1, intermediate_size=128)
BLOCK = 32  # KV block size: prompts longer than this get a cached prefix block


@pytest.fixture(scope="session")
def vllm_checkpoint(tmp_path_factory) -> str:
    return build_tiny_checkpoint(str(tmp_path_factory.mktemp("vllm-tiny") / "ckpt"), TINY_CORPUS, SPEC)


def rollout_config(path: str, **overrides) -> VLLMRolloutConfig:
    cfg = VLLMRolloutConfig(**{"max_new_tokens": 12, "block_size": BLOCK, "kv_cache_memory_gib": 0.25, **overrides})
    cfg.model.model_path = path
    return cfg


@pytest.fixture(scope="session")
def engine(vllm_checkpoint) -> VLLMRollout:
    """The session's engine. Tests that change its weights restore the checkpoint's afterwards."""
    backend = VLLMRollout(rollout_config(vllm_checkpoint))
    backend.load()
    return backend
