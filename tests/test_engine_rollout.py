"""rlinf_core.engine_rollout: the parts rollout backends on an external engine share."""

import json

import pytest
import torch

from rlinf_core import Ragged, RolloutRequest, SamplingParams
from rlinf_core.config import RolloutConfig
from rlinf_core.engine_rollout import (
    EngineRollout,
    EngineRolloutConfig,
    Sampling,
    check_extra_sampling,
    checkpoint_eos_ids,
    row_seeds,
    weight_buckets,
)
from rlinf_core.errors import ConfigError
from rlinf_core.models import load_tokenizer


def test_row_seeds_are_distinct_and_fixed_by_the_request_seed():
    assert row_seeds(7, 5) == row_seeds(7, 5)
    assert row_seeds(1, 3) == [1_000_003, 1_000_004, 1_000_005]
    assert len(set(row_seeds(7, 5))) == 5
    assert not set(row_seeds(7, 5)) & set(row_seeds(8, 5))
    assert all(0 <= s < 2**63 for s in row_seeds(2**70, 3))


def test_sampling_resolves_the_request_before_the_config():
    cfg = RolloutConfig(temperature=0.9, top_p=0.95, top_k=20, max_new_tokens=64)
    req = RolloutRequest(Ragged.from_list([[1, 2]]), ["0"], [["1"]], group_size=2, seed=0)
    assert Sampling.resolve(req, cfg) == Sampling(0.9, 0.95, 20, 64)
    req.sampling = SamplingParams(temperature=0.0, max_new_tokens=8)
    s = Sampling.resolve(req, cfg)
    assert s.greedy and s.max_new_tokens == 8


def test_extra_sampling_names_the_field_at_fault():
    owned = {"temperature": "rollout.temperature", "max_tokens": "rollout.max_new_tokens"}
    valid = ["repetition_penalty", "min_p", "temperature", "max_tokens"]
    check_extra_sampling({"min_p": 0.1}, valid, owned, "E.Params")
    with pytest.raises(ConfigError, match=r"`rollout.extra_sampling.min_q` is not a E.Params field; valid fields: min_p, repetition_penalty\."):
        check_extra_sampling({"min_q": 0.1}, valid, owned, "E.Params")
    with pytest.raises(ConfigError, match=r"`rollout.extra_sampling.max_tokens` is set by rlinf itself; use rollout.max_new_tokens"):
        check_extra_sampling({"max_tokens": 5}, valid, owned, "E.Params")


def test_buckets_keep_order_and_whole_tensors_within_the_limit():
    state = {f"layer{i}.weight": torch.full((10, 10), float(i)) for i in range(5)}  # 400 bytes each
    state["big"] = torch.zeros(1000)  # 4000 bytes: alone in its bucket
    state["last"] = torch.zeros(5, dtype=torch.long)
    out = list(weight_buckets(state, max_bytes=900, dtype=torch.bfloat16))
    assert [list(b) for b in out] == [["layer0.weight", "layer1.weight", "layer2.weight", "layer3.weight"],
                                      ["layer4.weight"], ["big"], ["last"]]
    assert out[0]["layer2.weight"].dtype == torch.bfloat16 and float(out[0]["layer2.weight"][0, 0]) == 2.0
    assert out[3]["last"].dtype == torch.long  # integer tensors keep their type
    assert list(weight_buckets({}, 100)) == []


def test_eos_ids_from_generation_config_then_config_json(tiny_checkpoint, tmp_path):
    tok = load_tokenizer(tiny_checkpoint)
    ids = checkpoint_eos_ids(tiny_checkpoint, tok)
    assert tok.eos_token_id in ids and len(ids) == len(set(ids))
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "config.json").write_text(json.dumps({"eos_token_id": [4, 9]}))
    assert checkpoint_eos_ids(str(bare), type("Tok", (), {"eos_token_id": 9})()) == [4, 9]
    (bare / "config.json").write_text(json.dumps({}))
    with pytest.raises(ConfigError, match="defines no EOS token"):
        checkpoint_eos_ids(str(bare), type("Tok", (), {"eos_token_id": None})())


class _RecordingEngine(EngineRollout):
    """The engine steps of an EngineRollout, recorded: what the base class calls, in order."""

    engine_name = "recording"

    @classmethod
    def check_config(cls, config):
        if config.top_k == 0:
            raise ConfigError("`rollout.top_k`=0 is refused here")

    def start_engine(self):
        self.calls, self.asleep = [], False

    @property
    def offloaded(self):
        return self.asleep

    def call_engine(self, prompts, s, seed):
        self.calls.append(("call", len(prompts), s.max_new_tokens, seed))
        return [[7, 8]] * len(prompts), [[-0.5, -0.25]] * len(prompts), [True] * len(prompts)

    def load_bucket(self, bucket):
        self.calls.append(("bucket", list(bucket), {t.dtype for t in bucket.values()}))

    def restore_weights(self):
        self.calls.append("restore")

    def reset_cache(self):
        self.calls.append("reset")


def test_engine_rollout_loads_generates_and_syncs_weights_in_order(tiny_checkpoint):
    cfg = EngineRolloutConfig(max_new_tokens=5, weight_bucket_mb=1)
    cfg.model.model_path, cfg.model.precision = tiny_checkpoint, "bf16"
    engine = _RecordingEngine(cfg)
    engine.load()
    assert engine.eos_ids == checkpoint_eos_ids(tiny_checkpoint, engine.tokenizer)

    req = RolloutRequest(Ragged.from_list([[1, 2], [3]]), ["0", "1"], [["1"], ["2"]], group_size=3, seed=4)
    batch = engine.generate(req)
    assert engine.calls == [("call", 6, 5, 4)] and len(batch) == 6
    assert batch.response_ids.to_list()[0].tolist() == [7, 8] and bool(batch.truncated.all())

    engine.calls.clear()
    state = {"a": torch.zeros(2**18), "b": torch.zeros(2**18), "c": torch.zeros(3, dtype=torch.long)}  # 1 MiB each in fp32, 512 KiB in bf16
    engine.update_weights(state)
    bf16, long = {torch.bfloat16}, {torch.long}
    assert engine.calls == ["restore", ("bucket", ["a", "b"], bf16), ("bucket", ["c"], long), "reset"]
    assert engine.load_weights(state, bucket_bytes=2**19) == 3  # one 512 KiB bf16 tensor per bucket

    engine.asleep = True
    with pytest.raises(RuntimeError, match="recording rollout: generate\\(\\) after offload\\(\\)"):
        engine.generate(req)
    cfg.top_k = 0
    with pytest.raises(ConfigError, match="top_k"):
        _RecordingEngine(cfg).load()  # the config is checked before anything loads
