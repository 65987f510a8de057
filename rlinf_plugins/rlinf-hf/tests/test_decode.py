"""rlinf's compact decode loop against transformers: greedy tokens, filtering, sampling, dropped rows."""

import pytest
import torch

from rlinf_core import Ragged, RolloutRequest, SamplingParams
from rlinf_hf.decode import decode, processed_logprobs, sample_inverse_cdf


def prompt_ids(backend, n=6):
    texts = [f"What is {a} + {b}?" + " Think." * (a % 3) for a, b in zip(range(10, 10 + n), range(30, 30 + n))]
    return [backend.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]


def test_greedy_equals_transformers_generate(make_rollout):
    """Prompts of different lengths (left padding) and rows finishing at different steps."""
    ids = None
    out = {}
    for engine in ("compact", "generate"):
        backend = make_rollout(engine=engine)
        ids = ids or prompt_ids(backend)
        req = RolloutRequest(Ragged.from_list(ids), [str(i) for i in range(len(ids))], [["1"]] * len(ids), group_size=2,
                             seed=0, sampling=SamplingParams(0.0, 1.0, -1, 16))
        out[engine] = backend.generate(req)
    a, b = out["compact"], out["generate"]
    assert torch.equal(a.response_ids.lengths, b.response_ids.lengths)
    assert torch.equal(a.response_ids.values, b.response_ids.values)
    assert torch.allclose(a.response_logprobs.values, b.response_logprobs.values, atol=1e-5)
    assert torch.equal(a.truncated, b.truncated)


def test_rows_that_finish_early_do_not_disturb_the_others(make_rollout):
    """Greedy decoding of a batch equals decoding each prompt alone, though finished rows leave the cache."""
    backend = make_rollout()
    # Make EOS likely after a few tokens for some rows: the most likely token after the first
    # prompt becomes an extra EOS id.
    prompts = [torch.tensor(p) for p in prompt_ids(backend)]
    with torch.no_grad():
        first = int(backend.model(prompts[0][None]).logits[0, -1].argmax())
    kw = dict(temperature=0.0, top_k=0, top_p=1.0, max_new_tokens=12, eos_ids=[*backend.eos_ids, first],
              pad_id=backend.pad_id, device=torch.device("cpu"))
    together = decode(backend.model, prompts, **kw)
    assert len(together.responses[0]) == 1 and not together.truncated[0]  # row 0 leaves after one token
    for i, p in enumerate(prompts):
        alone = decode(backend.model, [p], **kw)
        assert torch.equal(together.responses[i], alone.responses[0]), i
        assert torch.allclose(together.logprobs[i], alone.logprobs[0], atol=1e-5), i
        assert together.truncated[i] == alone.truncated[0]


def test_processed_logprobs_match_transformers_warpers():
    from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    logits = torch.randn(5, 50, generator=torch.Generator().manual_seed(0)) * 3
    for temperature, top_k, top_p in [(1.0, 0, 1.0), (0.7, 10, 1.0), (1.3, 0, 0.9), (0.9, 20, 0.5)]:
        ref = TemperatureLogitsWarper(temperature)(None, logits.clone())
        if top_k:
            ref = TopKLogitsWarper(top_k)(None, ref)
        if top_p < 1:
            ref = TopPLogitsWarper(top_p)(None, ref)
        ours = processed_logprobs(logits, temperature, top_k, top_p)
        expected = torch.log_softmax(ref, -1)
        assert torch.equal(torch.isinf(ours), torch.isinf(expected)), (temperature, top_k, top_p)
        finite = torch.isfinite(expected)
        assert torch.allclose(ours[finite], expected[finite], atol=1e-5)


def test_inverse_cdf_sampling_is_exact_and_never_picks_filtered_tokens():
    probs = torch.tensor([0.0, 0.5, 0.0, 0.2, 0.3, 0.0])
    gen_rows = probs.repeat(200_000, 1)
    torch.manual_seed(0)
    draws = sample_inverse_cdf(gen_rows)
    counts = torch.bincount(draws, minlength=6).double() / len(draws)
    assert counts[[0, 2, 5]].sum() == 0
    assert torch.allclose(counts, probs.double(), atol=0.005)


def test_sampled_logprobs_are_the_processed_distribution(make_rollout):
    backend = make_rollout(temperature=0.8, top_k=12, top_p=0.9)
    ids = prompt_ids(backend, 3)
    batch = backend.generate(RolloutRequest(Ragged.from_list(ids), ["a", "b", "c"], [["1"]] * 3, group_size=4, seed=3))
    for i in range(len(batch)):
        seq = torch.cat([batch.prompt_ids[i], batch.response_ids[i]])[None]
        with torch.no_grad():
            logits = backend.model(seq).logits[0]
        p = len(batch.prompt_ids[i])
        ref = processed_logprobs(logits[p - 1 : -1], 0.8, 12, 0.9).gather(-1, batch.response_ids[i][:, None]).squeeze(-1)
        assert torch.isfinite(ref).all()  # every drawn token survived the filters
        assert torch.allclose(ref, batch.response_logprobs[i], atol=1e-4)


@pytest.mark.parametrize("engine", ["compact", "generate"])
def test_both_engines_are_seeded(make_rollout, engine):
    backend = make_rollout(engine=engine)
    ids = prompt_ids(backend, 2)
    req = RolloutRequest(Ragged.from_list(ids), ["a", "b"], [["1"]] * 2, group_size=3, seed=11)
    a, b = backend.generate(req), backend.generate(req)
    assert torch.equal(a.response_ids.values, b.response_ids.values)
