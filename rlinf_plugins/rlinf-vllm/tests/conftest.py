"""One vLLM engine for the whole session (starting one costs ~15-35 s on this CPU), on a tiny
Qwen2 whose attention head size (32) vLLM's CPU kernels support (the root conftest's
``tiny_checkpoint`` has head size 16, which they refuse: see test_bad_input.py)."""

import pytest

from rlinf_core.testing.fixtures import TINY_CORPUS
from rlinf_core.tiny import build_tiny_checkpoint
from rlinf_vllm import VLLMRollout

from .helpers import SPEC, rollout_config


@pytest.fixture(scope="session")
def vllm_checkpoint(tmp_path_factory) -> str:
    return build_tiny_checkpoint(str(tmp_path_factory.mktemp("vllm-tiny") / "ckpt"), TINY_CORPUS, SPEC)


@pytest.fixture(scope="session")
def engine(vllm_checkpoint) -> VLLMRollout:
    """The session's engine. Tests that change its weights restore the checkpoint's afterwards."""
    backend = VLLMRollout(rollout_config(vllm_checkpoint))
    backend.load()
    return backend
