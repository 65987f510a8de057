"""Hugging Face Qwen2 <-> Megatron-Core GPTModel shards: the QKV packing by hand, exact round trips
for TP 1/2 x PP 1/2, and the layout errors that name the field."""

import pytest
import torch

from rlinf_core.errors import ConfigError
from rlinf_megatron.convert import hf_to_megatron, megatron_to_hf, pack_qkv, unpack_qkv
from rlinf_megatron.shapes import Layout, ModelShape, check_layout


def test_qkv_is_packed_group_by_group():
    """4 query heads in 2 groups, head size 1: group 0 = q0 q1 k0 v0, group 1 = q2 q3 k1 v1."""
    shape = ModelShape(num_layers=1, hidden_size=4, num_heads=4, num_query_groups=2, head_dim=1, ffn_hidden_size=4,
                       vocab_size=8, tied_embeddings=True)
    q, k, v = torch.tensor([10.0, 11, 12, 13]), torch.tensor([20.0, 21]), torch.tensor([30.0, 31])
    packed = pack_qkv(q, k, v, shape)
    assert packed.tolist() == [10, 11, 20, 30, 12, 13, 21, 31]
    assert [t.tolist() for t in unpack_qkv(packed, shape)] == [q.tolist(), k.tolist(), v.tolist()]
    assert packed.chunk(2)[1].tolist() == [12, 13, 21, 31]  # TP rank 1 holds group 1 whole


@pytest.mark.parametrize("tp, pp", [(1, 1), (2, 1), (1, 2), (2, 2)])
@pytest.mark.parametrize("fused", [False, True], ids=["local", "te"])
def test_round_trip_is_exact(hf_model, tp, pp, fused):
    config, hf = hf_model
    shape, layout = ModelShape.from_hf_config(config), Layout(tp, pp, vocab_divisor=128, fused_norms=fused)
    shards = {(t, p): hf_to_megatron(hf, shape, layout, t, p) for t in range(tp) for p in range(pp)}
    back = megatron_to_hf(shards, shape, layout)
    assert sorted(back) == sorted(hf)
    for name, tensor in hf.items():
        assert torch.equal(back[name], tensor), name
    assert layout.padded_vocab(shape) == {1: 384, 2: 512}[tp]  # 300 rounded up to a multiple of 128 x tp
    assert sum(s["embedding.word_embeddings.weight"].shape[0] for (t, p), s in shards.items() if p == 0) == layout.padded_vocab(shape)
    last = shards[(0, pp - 1)]
    assert ("output_layer.weight" in last) == (not shape.tied_embeddings or pp > 1)
    assert len([k for k in shards[(0, 0)] if k.endswith("linear_fc2.weight")]) == 4 // pp  # layers per stage


def test_layouts_that_do_not_fit_name_the_field():
    shape = ModelShape(num_layers=6, hidden_size=64, num_heads=12, num_query_groups=2, head_dim=8, ffn_hidden_size=96,
                       vocab_size=100, tied_embeddings=False)
    check_layout(shape, Layout(tp=2, pp=3))
    with pytest.raises(ConfigError, match=r"`actor.megatron.tensor_parallel_size`=4 does not divide the model's num_key_value_heads \(2\)"):
        check_layout(shape, Layout(tp=4))
    with pytest.raises(ConfigError, match=r"tensor_parallel_size`=8 does not divide the model's num_attention_heads \(12\)"):
        check_layout(shape, Layout(tp=8))
    with pytest.raises(ConfigError, match=r"`actor.megatron.pipeline_parallel_size`=4 does not divide the model's num_hidden_layers \(6\)"):
        check_layout(shape, Layout(pp=4))
