"""Weights in and out of the backend, on CPU: a checkpoint's tensors read lazily from safetensors
give the same shards as its state dict, and the gathered weights written back as a Hugging Face
checkpoint load in transformers bit for bit (tied embeddings stored once, tokenizer included)."""

import os

import torch

from rlinf_core.models import load_tokenizer
from rlinf_megatron.convert import hf_to_megatron, megatron_to_hf
from rlinf_megatron.model import CheckpointTensors
from rlinf_megatron.shapes import Layout, ModelShape
from rlinf_megatron.state import save_hf_checkpoint


def test_checkpoint_round_trip_through_megatron_shards(tmp_path, tiny_checkpoint):
    from transformers import AutoConfig, AutoModelForCausalLM

    source = AutoModelForCausalLM.from_pretrained(tiny_checkpoint, dtype=torch.float32)
    state = {k: v.detach().clone() for k, v in source.state_dict().items()}
    config = AutoConfig.from_pretrained(tiny_checkpoint).to_dict()
    shape, layout = ModelShape.from_hf_config(config), Layout(tp=1, pp=2, fused_norms=True)
    lazy = CheckpointTensors(tiny_checkpoint)
    assert "lm_head.weight" not in lazy or not shape.tied_embeddings  # a tied checkpoint stores it once
    shards = {}
    for pp in range(2):
        shards[(0, pp)] = hf_to_megatron(lazy, shape, layout, 0, pp)
        eager = hf_to_megatron(state, shape, layout, 0, pp)
        assert sorted(shards[(0, pp)]) == sorted(eager)
        assert all(torch.equal(shards[(0, pp)][k], eager[k]) for k in eager)

    out = tmp_path / "exported"
    save_hf_checkpoint(str(out), megatron_to_hf(shards, shape, layout), tiny_checkpoint, load_tokenizer(tiny_checkpoint), config)
    assert not os.path.exists(str(out) + ".tmp")
    back = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32).state_dict()
    assert sorted(back) == sorted(state)
    assert all(torch.equal(back[k], state[k]) for k in state)
    assert load_tokenizer(str(out)).get_vocab() == load_tokenizer(tiny_checkpoint).get_vocab()
