"""The pure parts: rlinf's sampling settings as vLLM's, and the fields rlinf keeps for itself
(seeds and weight buckets are the core's: tests/test_engine_rollout.py)."""

import pytest

from rlinf_core.engine_rollout import Sampling, check_extra_sampling
from rlinf_core.errors import ConfigError
from rlinf_vllm.sampling import OWNED_FIELDS, sampling_kwargs


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


def test_every_field_rlinf_sets_is_refused_in_extra_sampling():
    kw = sampling_kwargs(Sampling(1.0, 1.0, -1, 8), [2], {})
    assert set(kw) | {"seed"} == set(OWNED_FIELDS)  # the seed is added per row
    with pytest.raises(ConfigError, match=r"`rollout.extra_sampling.max_tokens` is set by rlinf itself; use rollout.max_new_tokens"):
        check_extra_sampling({"max_tokens": 5}, list(kw), OWNED_FIELDS, "vllm.SamplingParams")
