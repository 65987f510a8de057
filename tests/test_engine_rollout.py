"""rlinf_core.engine_rollout: the parts rollout backends on an external engine share."""

import json

import pytest
import torch

from rlinf_core import Ragged, RolloutRequest, SamplingParams
from rlinf_core.config import RolloutConfig
from rlinf_core.engine_rollout import Sampling, check_extra_sampling, checkpoint_eos_ids, row_seeds, weight_buckets
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
