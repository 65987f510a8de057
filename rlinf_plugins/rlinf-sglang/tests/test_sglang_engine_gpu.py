"""The SGLang backend on a real engine: against the HF backend and a plain torch forward, weight
sync in buckets with the cache flush, memory release and resume, the contract suite.

Marked `gpu`: SGLang needs CUDA (see the README). Not run on hardware yet. The model is the
tiny Qwen2 the vLLM tests use (attention head size 32)."""

import dataclasses

import pytest
import torch
from transformers import AutoModelForCausalLM

from rlinf_core import SamplingParams
from rlinf_core.testing import check_rollout_backend
from rlinf_core.testing.rollouts import forward_logprobs, greedy_against_hf, tokenized_request
from rlinf_core.testing.fixtures import TINY_CORPUS
from rlinf_core.tiny import TinyModelSpec, build_tiny_checkpoint

pytestmark = pytest.mark.gpu
PROMPTS = ["What is 7 + 11?", "What is 14 + 22? Let's add.", "What is 63 + 5? The answer is"]
SPEC = TinyModelSpec(hidden_size=64, num_layers=2, num_heads=2, num_kv_heads=1, intermediate_size=128)


def config(path, **overrides):
    from rlinf_sglang import SGLangRolloutConfig

    cfg = SGLangRolloutConfig(**{"max_new_tokens": 12, "mem_fraction_static": 0.2, "deterministic_inference": True,
                                 "attention_backend": "triton", **overrides})
    cfg.model.model_path = path
    return cfg


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> str:
    return build_tiny_checkpoint(str(tmp_path_factory.mktemp("sglang-tiny") / "ckpt"), TINY_CORPUS, SPEC)


@pytest.fixture(scope="module")
def engine(checkpoint):
    from rlinf_sglang import SGLangRollout

    backend = SGLangRollout(config(checkpoint))
    backend.load()
    yield backend
    backend.engine.shutdown()


def request_for(backend, prompts=PROMPTS, group=3, seed=7, sampling=None):
    return tokenized_request(backend.tokenizer, prompts, group, seed, sampling)


def test_greedy_equals_the_hf_backend_token_for_token(engine, checkpoint):
    a, b = greedy_against_hf(engine, checkpoint, PROMPTS, 12)
    assert torch.equal(a.response_ids.values, b.response_ids.values) and torch.equal(a.truncated, b.truncated)


def test_sampled_logprobs_agree_with_a_torch_forward_and_a_seed_reproduces(engine, checkpoint):
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval()
    req = request_for(engine, group=8, seed=3, sampling=SamplingParams(0.7, 1.0, -1, 24))
    a, b = engine.generate(req), engine.generate(req)
    assert float((forward_logprobs(model, a, 0.7) - a.response_logprobs.values).abs().max()) < 1e-3
    assert torch.equal(a.response_ids.values, b.response_ids.values)  # deterministic_inference honours the seeds


def test_weight_sync_takes_effect_and_release_resume_round_trips(engine, checkpoint):
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval()
    state = model.state_dict()
    greedy = SamplingParams(temperature=0.0, max_new_tokens=6)
    req = request_for(engine, prompts=[" ".join(PROMPTS * 4)], group=1, sampling=greedy)
    before = engine.generate(req)
    g = torch.Generator().manual_seed(0)
    new = {k: v + 0.5 * torch.randn(v.shape, generator=g) for k, v in state.items()}
    engine.offload()
    engine.update_weights(new)  # resumes the weights, loads in buckets, flushes the cache
    engine.onload()
    model.load_state_dict(new)
    after = engine.generate(req)
    assert float((forward_logprobs(model, after) - after.response_logprobs.values).abs().max()) < 1e-3
    engine.update_weights(state)
    assert torch.equal(engine.generate(req).response_ids.values, before.response_ids.values)


def test_contract_suite(checkpoint):
    batch = check_rollout_backend("sglang", dataclasses.asdict(config(checkpoint, max_new_tokens=8)))
    assert batch is not None and len(batch) == 4
