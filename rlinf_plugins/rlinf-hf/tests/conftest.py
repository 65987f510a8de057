"""The HF rollout backend built on the session's tiny checkpoint, with config overrides."""

import pytest

from rlinf_hf import HFRollout, HFRolloutConfig


@pytest.fixture
def make_rollout(tiny_checkpoint):
    def make(**overrides) -> HFRollout:
        cfg = HFRolloutConfig(**{"max_new_tokens": 12, **overrides})
        cfg.model.model_path = tiny_checkpoint
        backend = HFRollout(cfg)
        backend.load()
        return backend

    return make
