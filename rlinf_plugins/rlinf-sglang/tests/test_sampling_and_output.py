"""The CPU-testable parts: rlinf's sampling settings as SGLang's, and SGLang's output parsed."""

import pytest

from rlinf_core.engine_rollout import Sampling
from rlinf_sglang.config import SGLangRolloutConfig
from rlinf_sglang.engine import engine_kwargs
from rlinf_sglang.sampling import parse_output, sampling_params


def test_sampling_conventions():
    p = sampling_params(Sampling(0.9, 0.95, -1, 64), [2, 5], {"repetition_penalty": 1.1}, seed=11)
    assert p == {"repetition_penalty": 1.1, "n": 1, "temperature": 0.9, "top_p": 0.95, "top_k": -1,
                 "max_new_tokens": 64, "stop_token_ids": [2, 5], "sampling_seed": 11}
    assert sampling_params(Sampling(1.0, 1.0, 20, 8), [2], {}, 0)["top_k"] == 20


def test_greedy_turns_the_filters_off():
    p = sampling_params(Sampling(0.0, 0.5, 10, 8), [2], {}, 0)
    assert (p["temperature"], p["top_p"], p["top_k"]) == (0.0, 1.0, -1)


def out(tokens, logprobs, reason, output_ids=None):
    o = {"meta_info": {"output_token_logprobs": [(lp, t, None) for lp, t in zip(logprobs, tokens)],
                       "finish_reason": {"type": reason}}}
    if output_ids is not None:
        o["output_ids"] = output_ids
    return o


def test_output_ids_and_logprobs_come_from_the_same_steps():
    assert parse_output(out([5, 9, 2], [-0.5, -1.25, -0.125], "stop", [5, 9, 2])) == ([5, 9, 2], [-0.5, -1.25, -0.125], False)
    # a release whose output_ids leave the stop token out still parses to the sampled steps
    assert parse_output(out([5, 9, 2], [-0.5, -1.25, -0.125], "stop", [5, 9]))[0] == [5, 9, 2]
    assert parse_output(out([7, 7], [-1.0, -2.0], "length"))[2] is True


def test_outputs_that_disagree_are_an_error_not_a_silent_batch():
    with pytest.raises(RuntimeError, match=r"output_ids \[5, 8\] disagree"):
        parse_output(out([5, 9], [-0.5, -1.0], "stop", [5, 8]))


def test_engine_arguments():
    cfg = SGLangRolloutConfig(enable_prefix_caching=False, context_length=4096, attention_backend="fa3")
    cfg.model.model_path, cfg.model.precision = "/ckpt", "bf16"
    kw = engine_kwargs(cfg, seed=3)
    assert kw["model_path"] == "/ckpt" and kw["dtype"] == "bfloat16" and kw["random_seed"] == 3
    assert kw["skip_tokenizer_init"] is True and kw["disable_radix_cache"] is True and kw["enable_memory_saver"] is True
    assert (kw["context_length"], kw["attention_backend"], kw["tp_size"]) == (4096, "fa3", 1)
    assert "context_length" not in engine_kwargs(SGLangRolloutConfig(), 0)


class _StandInEngine:
    """Records the control calls ``sglang.Engine`` gets and answers as it does, ``(success, message)``."""

    def __init__(self):
        self.calls, self.refuse = [], None

    def _answer(self, name):
        return name != self.refuse, f"{name} refused"

    def update_weights_from_tensor(self, named_tensors, flush_cache):
        self.calls.append(("update", [n for n, _ in named_tensors], flush_cache))
        return self._answer("update")

    def flush_cache(self):
        self.calls.append("flush")
        return self._answer("flush")

    def release_memory_occupation(self, tags):
        self.calls.append(("release", tags))

    def resume_memory_occupation(self, tags):
        self.calls.append(("resume", tags))


def test_weight_sync_and_memory_release_drive_the_engine_in_order(monkeypatch):
    import torch

    from rlinf_sglang import engine as eng
    from rlinf_sglang.rollout import SGLangRollout

    monkeypatch.setattr(eng, "start_engine", lambda config, seed: _StandInEngine())
    rollout = SGLangRollout(SGLangRolloutConfig(weight_bucket_mb=1))
    rollout.start_engine()
    calls = rollout.engine.calls
    rollout.offload()
    assert rollout.offloaded and calls == [("release", ["kv_cache", "weights"])]
    calls.clear()
    rollout.update_weights({"a": torch.zeros(2**18), "b": torch.zeros(4)})  # a fills a 1 MiB bucket
    assert calls == [("resume", ["weights"]), ("update", ["a"], False), ("update", ["b"], False), "flush"]
    assert rollout.offloaded  # the KV cache is still released
    calls.clear()
    rollout.onload()
    assert not rollout.offloaded and calls == [("resume", ["kv_cache"]), "flush"]
    rollout.engine.refuse = "update"
    with pytest.raises(RuntimeError, match="sglang rollout: update_weights_from_tensor failed: update refused"):
        rollout.update_weights({"a": torch.zeros(4)})
