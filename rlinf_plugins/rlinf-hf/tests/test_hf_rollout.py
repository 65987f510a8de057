"""The HF rollout backend on a tiny local checkpoint: groups, EOS, log-probs, seeds, weight sync."""

import pytest
import torch

from rlinf_core import Ragged, RolloutRequest
from rlinf_core.errors import ConfigError
from rlinf_hf import HFRollout, HFRolloutConfig
from rlinf_hf.sampling import generate_kwargs


def request(backend, group=3, seed=7):
    prompts = ["What is 7 + 11?", "What is 14 + 22? Let's add."]
    ids = [backend.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    return RolloutRequest(Ragged.from_list(ids), ["a", "b"], [["18"], ["36"]], group_size=group, seed=seed)


def test_group_samples_with_logprobs(make_rollout):
    backend = make_rollout()
    batch = backend.generate(request(backend))
    assert len(batch) == 6
    assert batch.group_ids.tolist() == [0, 0, 0, 1, 1, 1]
    assert batch.prompt_uids == ["a", "a", "a", "b", "b", "b"]
    assert (batch.response_logprobs.lengths == batch.response_ids.lengths).all()
    assert (batch.response_logprobs.values <= 0).all()
    for i in range(len(batch)):
        ids = batch.response_ids[i]
        ended = len(ids) and int(ids[-1]) in backend.eos_ids
        assert bool(batch.truncated[i]) == (not ended)
        assert not ended or len(ids) <= 12
        if not ended:
            assert len(ids) == 12  # truncated at max_new_tokens
    assert len(batch.response_texts) == 6


def test_same_seed_same_samples(make_rollout):
    backend = make_rollout()
    a = backend.generate(request(backend, seed=3))
    b = backend.generate(request(backend, seed=3))
    assert torch.equal(a.response_ids.values, b.response_ids.values)
    assert torch.allclose(a.response_logprobs.values, b.response_logprobs.values)


def test_generation_in_small_chunks(make_rollout):
    backend = make_rollout(generation_batch_size=4)
    batch = backend.generate(request(backend, group=3, seed=1))  # 6 sequences in chunks of 4 and 2
    assert len(batch) == 6 and batch.group_ids.tolist() == [0, 0, 0, 1, 1, 1]
    assert (batch.response_logprobs.lengths == batch.response_ids.lengths).all()


def test_logprobs_match_a_plain_forward(make_rollout):
    """Sampling log-probs equal log-softmax(logits / T) of a plain forward (top_p=1, top_k off)."""
    backend = make_rollout(temperature=0.7)
    batch = backend.generate(request(backend))
    for i in range(len(batch)):
        ids = torch.cat([batch.prompt_ids[i], batch.response_ids[i]])[None]
        with torch.no_grad():
            logits = backend.model(ids).logits[0] / 0.7
        p = len(batch.prompt_ids[i])
        logp = torch.log_softmax(logits, -1)[p - 1 : -1].gather(-1, batch.response_ids[i][:, None]).squeeze(-1)
        assert torch.allclose(logp, batch.response_logprobs[i], atol=1e-4)


def test_update_weights(make_rollout):
    backend = make_rollout()
    state = {k: torch.zeros_like(v) for k, v in backend.model.state_dict().items()}
    backend.update_weights(state)
    assert all(float(p.detach().abs().sum()) == 0 for p in backend.model.parameters())
    with pytest.raises(RuntimeError, match="weight sync mismatch"):
        backend.update_weights({"not.a.weight": torch.zeros(1)})


def test_sampling_kwargs_translate_conventions():
    kw = generate_kwargs(0.9, 0.95, -1, 64, [5], None)
    assert kw["top_k"] == 0 and kw["pad_token_id"] == 5 and kw["do_sample"] and kw["output_scores"]
    assert generate_kwargs(1.0, 1.0, 20, 8, [5], 3)["top_k"] == 20


def test_missing_model_path_is_a_config_error(tmp_path):
    cfg = HFRolloutConfig()
    cfg.model.model_path = str(tmp_path / "nope")
    with pytest.raises(ConfigError, match="rollout.model.model_path"):
        HFRollout(cfg).load()


def test_offload_returns_the_weights_memory_and_the_synced_weights_restore_the_samples(tmp_path):
    """Offload frees every weight's storage (measured as the process's resident memory on a
    ~10M-parameter model); generate refuses until update_weights brings weights back; then the
    samples equal those of a rollout that never offloaded."""
    import gc

    from rlinf_core.cluster.worker import process_memory
    from rlinf_core.tiny import TinyModelSpec, build_tiny_checkpoint

    path = build_tiny_checkpoint(str(tmp_path / "ckpt"), ["What is 7 + 11? 18", "What is 14 + 22? 36"],
                                 TinyModelSpec(hidden_size=512, num_layers=4, num_heads=8, intermediate_size=1024))
    cfg = HFRolloutConfig(max_new_tokens=8)
    cfg.model.model_path = path
    backend = HFRollout(cfg)
    backend.load()
    expected = backend.generate(request(backend))
    state = {k: v.clone() for k, v in backend.model.state_dict().items()}
    weight_bytes = sum(p.numel() * p.element_size() for p in backend.model.parameters())
    assert weight_bytes > 30 * 2**20
    gc.collect()
    before = process_memory()["rss"]
    backend.offload()
    gc.collect()
    freed = before - process_memory()["rss"]
    assert freed > 0.8 * weight_bytes, (freed, weight_bytes)
    assert all(p.numel() == 0 for p in backend.model.parameters())
    with pytest.raises(RuntimeError, match="update_weights"):
        backend.generate(request(backend))
    with pytest.raises(RuntimeError, match="update_weights"):
        backend.onload()
    backend.update_weights(state)
    backend.onload()
    again = backend.generate(request(backend))
    assert torch.equal(again.response_ids.values, expected.response_ids.values)
    assert torch.equal(again.response_logprobs.values, expected.response_logprobs.values)


def test_the_compact_loop_reports_its_fixed_share_when_rows_finish_early(make_rollout):
    backend = make_rollout()
    batch = backend.generate(request(backend, group=8, seed=5))
    lengths = batch.response_ids.lengths
    assert int(lengths.min()) < int(lengths.max())  # rows left the batch at different steps: a share is fittable
    costs = backend.last_generate_costs()
    assert set(costs) == {"decode_fixed_share"} and 0.0 <= costs["decode_fixed_share"] <= 1.0
    reference = make_rollout(engine="generate")
    reference.generate(request(reference, group=8, seed=5))
    assert reference.last_generate_costs() == {}  # transformers' loop is not timed
