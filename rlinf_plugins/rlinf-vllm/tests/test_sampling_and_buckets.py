"""The pure parts: rlinf's sampling settings as vLLM's, per-row seeds, weight buckets."""

import pytest
import torch

from rlinf_core.errors import ConfigError
from rlinf_vllm.sampling import Sampling, check_extra_sampling, row_seeds, sampling_kwargs
from rlinf_vllm.weights import buckets


def test_sampling_conventions():
    kw = sampling_kwargs(Sampling(0.9, 0.95, -1, 64), [2, 5], {"repetition_penalty": 1.1})
    assert kw["top_k"] == 0  # rlinf's -1 (off) is vLLM's 0
    assert (kw["temperature"], kw["top_p"], kw["max_tokens"], kw["n"]) == (0.9, 0.95, 64, 1)
    assert kw["stop_token_ids"] == [2, 5] and kw["logprobs"] == 0 and kw["detokenize"] is False
    assert kw["repetition_penalty"] == 1.1
    assert sampling_kwargs(Sampling(1.0, 1.0, 20, 8), [2], {})["top_k"] == 20


def test_greedy_turns_the_filters_off():
    kw = sampling_kwargs(Sampling(0.0, 0.5, 10, 8), [2], {})
    assert (kw["temperature"], kw["top_p"], kw["top_k"]) == (0.0, 1.0, 0)


def test_row_seeds_are_distinct_and_fixed_by_the_request_seed():
    assert row_seeds(7, 5) == row_seeds(7, 5)
    assert len(set(row_seeds(7, 5))) == 5
    assert not set(row_seeds(7, 5)) & set(row_seeds(8, 5))
    assert all(0 <= s < 2**63 for s in row_seeds(2**70, 3))


def test_extra_sampling_names_the_field_at_fault():
    valid = ["repetition_penalty", "min_p", "temperature", "seed"]
    check_extra_sampling({"min_p": 0.1}, valid)
    with pytest.raises(ConfigError, match=r"`rollout.extra_sampling.min_q` is not a vllm.SamplingParams field.*min_p"):
        check_extra_sampling({"min_q": 0.1}, valid)
    with pytest.raises(ConfigError, match=r"`rollout.extra_sampling.temperature` is set by rlinf itself.*rollout.temperature"):
        check_extra_sampling({"temperature": 0.5}, valid)
    with pytest.raises(ConfigError, match=r"rollout.max_new_tokens"):
        check_extra_sampling({"max_tokens": 5}, valid + ["max_tokens"])


def test_buckets_keep_order_and_whole_tensors_within_the_limit():
    state = {f"layer{i}.weight": torch.full((10, 10), float(i)) for i in range(5)}  # 400 bytes each
    state["big"] = torch.zeros(1000)  # 4000 bytes: alone in its bucket
    state["last"] = torch.zeros(5, dtype=torch.long)
    out = list(buckets(state, max_bytes=900, dtype=torch.bfloat16))
    assert [list(b) for b in out] == [["layer0.weight", "layer1.weight", "layer2.weight", "layer3.weight"],
                                      ["layer4.weight"], ["big"], ["last"]]
    assert out[0]["layer2.weight"].dtype == torch.bfloat16 and float(out[0]["layer2.weight"][0, 0]) == 2.0
    assert out[3]["last"].dtype == torch.long  # integer tensors keep their type
    assert list(buckets({}, 100)) == []
