"""Weights between a Hugging Face Qwen2 state dict and Megatron-Core GPTModel shards, for any tensor
(TP) and pipeline (PP) parallel layout: HF -> one (tp_rank, pp_rank) shard to train, and every
shard -> HF to hand the rollout its weights and to write checkpoints.

Follows Megatron-Core's GPTModel layout (the local and the Transformer Engine layer specs):
- ``linear_qkv`` packs, for each key/value group in turn, that group's query heads then its key
  head then its value head (what ``SelfAttention.get_query_key_value_tensors`` unpacks); TP
  ranks hold contiguous groups; the bias is packed the same way;
- ``linear_fc1`` stacks SwiGLU's gate over its up projection, each TP rank holding its slice of
  both; ``linear_proj`` and ``linear_fc2`` are row-parallel (split on their input);
- the word embeddings and the output layer are vocab-parallel, the vocabulary padded with zero
  rows to :meth:`Layout.padded_vocab`; norms are replicated;
- PP stages hold contiguous decoder layers, numbered from 0 on each stage; the first holds the
  embeddings, the last the final norm and the output layer. With tied embeddings the last stage
  of a multi-stage pipeline keeps its own copy as ``output_layer.weight`` (Megatron syncs it).
Exact: conversion only slices, concatenates and pads, so a round trip returns the same bits.
"""

from __future__ import annotations

from typing import Dict, Mapping, Tuple

import torch

from rlinf_megatron.shapes import Layout, ModelShape, check_layout

Shards = Mapping[Tuple[int, int], Mapping[str, torch.Tensor]]  # (tp_rank, pp_rank) -> Megatron state dict


def _norm_names(layout: Layout) -> Tuple[str, str]:
    if layout.fused_norms:
        return "self_attention.linear_qkv.layer_norm_weight", "mlp.linear_fc1.layer_norm_weight"
    return "input_layernorm.weight", "pre_mlp_layernorm.weight"


def pack_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, shape: ModelShape) -> torch.Tensor:
    """Per group: its query heads, its key head, its value head (weights or biases)."""
    g, d = shape.num_query_groups, shape.head_dim
    per = shape.num_heads // g
    qs, ks, vs = q.reshape(g, per * d, *q.shape[1:]), k.reshape(g, d, *k.shape[1:]), v.reshape(g, d, *v.shape[1:])
    return torch.cat([qs, ks, vs], dim=1).reshape(-1, *q.shape[1:])


def unpack_qkv(packed: torch.Tensor, shape: ModelShape) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g, d = shape.num_query_groups, shape.head_dim
    per = shape.num_heads // g
    grouped = packed.reshape(g, (per + 2) * d, *packed.shape[1:])
    q, k, v = torch.split(grouped, [per * d, d, d], dim=1)
    return q.reshape(-1, *packed.shape[1:]), k.reshape(-1, *packed.shape[1:]), v.reshape(-1, *packed.shape[1:])


def _pad_vocab(weight: torch.Tensor, padded: int) -> torch.Tensor:
    return torch.cat([weight, weight.new_zeros(padded - weight.shape[0], *weight.shape[1:])]) if padded > weight.shape[0] else weight


def _layer_to_megatron(hf: Mapping[str, torch.Tensor], i: int, shape: ModelShape, layout: Layout, tp_rank: int) -> Dict[str, torch.Tensor]:
    p, tp = f"model.layers.{i}.", layout.tp
    attn_norm, mlp_norm = _norm_names(layout)
    qkv = pack_qkv(hf[p + "self_attn.q_proj.weight"], hf[p + "self_attn.k_proj.weight"], hf[p + "self_attn.v_proj.weight"], shape)
    out = {
        attn_norm: hf[p + "input_layernorm.weight"],
        "self_attention.linear_qkv.weight": qkv.chunk(tp)[tp_rank],
        "self_attention.linear_proj.weight": hf[p + "self_attn.o_proj.weight"].chunk(tp, dim=1)[tp_rank],
        mlp_norm: hf[p + "post_attention_layernorm.weight"],
        "mlp.linear_fc1.weight": torch.cat([hf[p + "mlp.gate_proj.weight"].chunk(tp)[tp_rank],
                                            hf[p + "mlp.up_proj.weight"].chunk(tp)[tp_rank]]),
        "mlp.linear_fc2.weight": hf[p + "mlp.down_proj.weight"].chunk(tp, dim=1)[tp_rank],
    }
    if shape.qkv_bias:
        bias = pack_qkv(hf[p + "self_attn.q_proj.bias"], hf[p + "self_attn.k_proj.bias"], hf[p + "self_attn.v_proj.bias"], shape)
        out["self_attention.linear_qkv.bias"] = bias.chunk(tp)[tp_rank]
    return out


def hf_to_megatron(hf: Mapping[str, torch.Tensor], shape: ModelShape, layout: Layout, tp_rank: int, pp_rank: int) -> Dict[str, torch.Tensor]:
    """The GPTModel state dict of rank (``tp_rank``, ``pp_rank``), cloned (contiguous, owning its memory)."""
    check_layout(shape, layout)
    out: Dict[str, torch.Tensor] = {}
    padded = layout.padded_vocab(shape)
    first, last = pp_rank == 0, pp_rank == layout.pp - 1
    if first:
        out["embedding.word_embeddings.weight"] = _pad_vocab(hf["model.embed_tokens.weight"], padded).chunk(layout.tp)[tp_rank]
    for local, i in enumerate(layout.layers(shape, pp_rank)):
        for name, tensor in _layer_to_megatron(hf, i, shape, layout, tp_rank).items():
            out[f"decoder.layers.{local}.{name}"] = tensor
    if last:
        out["decoder.final_layernorm.weight"] = hf["model.norm.weight"]
        if not shape.tied_embeddings or not first:
            head = hf["model.embed_tokens.weight"] if shape.tied_embeddings else hf["lm_head.weight"]
            out["output_layer.weight"] = _pad_vocab(head, padded).chunk(layout.tp)[tp_rank]
    return {k: v.detach().clone().contiguous() for k, v in out.items()}


def _layer_to_hf(shards: Shards, local: int, pp_rank: int, shape: ModelShape, layout: Layout) -> Dict[str, torch.Tensor]:
    tp = layout.tp
    attn_norm, mlp_norm = _norm_names(layout)

    def gather(name: str, dim: int = 0) -> torch.Tensor:
        return torch.cat([shards[(r, pp_rank)][f"decoder.layers.{local}.{name}"] for r in range(tp)], dim=dim)

    one = shards[(0, pp_rank)]
    q, k, v = unpack_qkv(gather("self_attention.linear_qkv.weight"), shape)
    fc1 = [shards[(r, pp_rank)][f"decoder.layers.{local}.mlp.linear_fc1.weight"].chunk(2) for r in range(tp)]
    out = {
        "input_layernorm.weight": one[f"decoder.layers.{local}.{attn_norm}"],
        "self_attn.q_proj.weight": q, "self_attn.k_proj.weight": k, "self_attn.v_proj.weight": v,
        "self_attn.o_proj.weight": gather("self_attention.linear_proj.weight", dim=1),
        "post_attention_layernorm.weight": one[f"decoder.layers.{local}.{mlp_norm}"],
        "mlp.gate_proj.weight": torch.cat([gate for gate, _ in fc1]),
        "mlp.up_proj.weight": torch.cat([up for _, up in fc1]),
        "mlp.down_proj.weight": gather("mlp.linear_fc2.weight", dim=1),
    }
    if shape.qkv_bias:
        qb, kb, vb = unpack_qkv(gather("self_attention.linear_qkv.bias"), shape)
        out.update({"self_attn.q_proj.bias": qb, "self_attn.k_proj.bias": kb, "self_attn.v_proj.bias": vb})
    return out


def megatron_to_hf(shards: Shards, shape: ModelShape, layout: Layout) -> Dict[str, torch.Tensor]:
    """The Hugging Face state dict from every rank's shard (``lm_head.weight`` included, the
    embedding's own tensor when tied, as a tied model's ``state_dict()`` has it)."""
    check_layout(shape, layout)
    tp, last = layout.tp, layout.pp - 1
    missing = [(t, p) for t in range(tp) for p in range(layout.pp) if (t, p) not in shards]
    if missing:
        raise ValueError(f"megatron_to_hf needs every (tp_rank, pp_rank) shard; missing {missing}")

    def vocab(name: str, pp_rank: int) -> torch.Tensor:
        return torch.cat([shards[(r, pp_rank)][name] for r in range(tp)])[: shape.vocab_size]

    out = {"model.embed_tokens.weight": vocab("embedding.word_embeddings.weight", 0)}
    for pp_rank in range(layout.pp):
        for local, i in enumerate(layout.layers(shape, pp_rank)):
            for name, tensor in _layer_to_hf(shards, local, pp_rank, shape, layout).items():
                out[f"model.layers.{i}.{name}"] = tensor
    out["model.norm.weight"] = shards[(0, last)]["decoder.final_layernorm.weight"]
    out["lm_head.weight"] = out["model.embed_tokens.weight"] if shape.tied_embeddings else vocab("output_layer.weight", last)
    return {k: v.detach().clone().contiguous() for k, v in out.items()}
