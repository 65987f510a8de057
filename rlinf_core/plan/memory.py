"""Memory per rank, estimated before anything loads: what ``rlinf config show`` prints, what a
run checks its placement against, and what ``rlinf plan`` filters GPU candidates by.

An analytic count from the checkpoint's ``config.json`` (a Llama/Qwen2-style decoder: hidden
size h, layers L, FFN width, vocabulary V, attention and KV heads) and the recipe:

- **weights**: the parameter count (embeddings, attention with Qwen2's q/k/v biases, the
  gated MLP, norms, an untied LM head) x the bytes of ``model.precision``;
- **actor**: weights, fp32 gradients, AdamW's two fp32 moments, an fp32 master copy when the
  weights are 16-bit (mixed precision as torch AMP / Megatron / DeepSpeed keep it), each times
  the fraction of it one rank holds (the train backend's ``memory_shards``: 1 for DDP,
  1/N for FSDP2 or ZeRO-3, TP x PP splits for Megatron); activations of one micro-batch at
  full sequence length: 34 x h bytes per token and layer in 16-bit (Korthikanti et al. 2022,
  "Reducing Activation Recomputation in Large Transformer Models", eq. 2 without the
  attention-score term that fused attention does not store; doubled for fp32, 2 x h with full
  recompute), plus the fp32 logits and their gradient (2 x 4 x V bytes per token: rlinf's
  log-probs take a log-softmax over the whole vocabulary);
- **rollout**: the rollout backend's ``estimate_memory`` (default: the HF loop's, which
  preallocates the KV cache of every row of a generation batch at full length: 2 x L x KV
  heads x head dim x bytes per token; vLLM and SGLang take a fixed fraction of the GPU).

Deviations and limits: framework buffers (CUDA context, NCCL, allocator fragmentation) are
not counted: :data:`HEADROOM` of every device is kept free for them. Only the components'
ranks are counted; the reward worker is assumed small. The estimate is of peak use, not of
resident memory, so a CPU run's profiled ``memory/*_peak_mb`` can differ from it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from rlinf_core.errors import ConfigError

GIB = 1024**3
HEADROOM = 0.10  # of each device, for what the estimate leaves out (CUDA context, buffers, fragmentation)
BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}
ACTIVATION_BYTES_PER_H = 34  # per token and layer, 16-bit, no recompute (Korthikanti et al. 2022)


@dataclass(frozen=True)
class ModelShape:
    """What the memory of a decoder depends on, read from its ``config.json``."""

    hidden: int
    layers: int
    ffn: int
    vocab: int
    heads: int
    kv_heads: int
    head_dim: int
    tied_embeddings: bool

    @property
    def params(self) -> int:
        h, q, kv = self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim
        attention = h * q + q + 2 * (h * kv + kv) + q * h  # q/k/v with biases (Qwen2), o without
        per_layer = attention + 3 * h * self.ffn + 2 * h  # gated MLP, two norms
        head = 0 if self.tied_embeddings else self.vocab * h
        return self.vocab * h + self.layers * per_layer + h + head

    def kv_bytes_per_token(self, dtype_bytes: int) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * dtype_bytes


@dataclass(frozen=True)
class ActorShards:
    """The fraction of each kind of actor state one rank holds (1: a full copy)."""

    weights: float = 1.0
    grads: float = 1.0
    optimizer: float = 1.0  # moments and the fp32 master copy
    activations: float = 1.0  # of one micro-batch's (sequence or tensor parallelism splits it)


@dataclass
class MemoryEstimate:
    """Bytes one rank needs on its device, by part."""

    parts: Dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    def describe(self) -> Dict[str, str]:
        out = {k: f"{v / GIB:.2f} GiB" for k, v in self.parts.items()}
        out["total"] = f"{self.total / GIB:.2f} GiB"
        return out


def read_model_shape(model_path: str, field_name: str) -> Optional[ModelShape]:
    """The shape of the checkpoint at ``model_path`` (None when it has no ``config.json`` yet,
    e.g. a model a preparer writes at start-up); a clear error when the file is malformed."""
    path = os.path.join(model_path, "config.json")
    if not model_path or not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            c = json.load(fh)
        heads = int(c["num_attention_heads"])
        hidden = int(c["hidden_size"])
        return ModelShape(
            hidden=hidden, layers=int(c["num_hidden_layers"]), ffn=int(c["intermediate_size"]),
            vocab=int(c["vocab_size"]), heads=heads, kv_heads=int(c.get("num_key_value_heads") or heads),
            head_dim=int(c.get("head_dim") or hidden // heads),
            tied_embeddings=bool(c.get("tie_word_embeddings", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{path} (from `{field_name}`) is not a decoder config this estimate can read ({exc!r}); "
            "it needs hidden_size, num_hidden_layers, intermediate_size, vocab_size, num_attention_heads."
        ) from None


def actor_memory(shape: ModelShape, precision: str, shards: ActorShards, micro_tokens: int,
                 recompute: bool = False, fp32_weights: bool = False) -> MemoryEstimate:
    """One actor rank: weights, gradients, optimizer and one micro-batch of ``micro_tokens``.
    ``fp32_weights``: the weights stay fp32 and only the compute is 16-bit (torch autocast), so
    there is no separate master copy."""
    n, width = shape.params, BYTES[precision]
    weight_bytes = 4 if fp32_weights else width
    master = 4 if weight_bytes < 4 else 0  # the fp32 copy mixed precision keeps beside 16-bit weights
    per_layer_token = (2 if recompute else ACTIVATION_BYTES_PER_H * width / 2) * shape.hidden
    return MemoryEstimate({
        "weights": n * weight_bytes * shards.weights,
        "gradients": n * 4 * shards.grads,
        "optimizer": n * (8 + master) * shards.optimizer,
        "activations": micro_tokens * shape.layers * per_layer_token * shards.activations,
        "logits": micro_tokens * shape.vocab * 8 * shards.activations,
    })


def rollout_memory(shape: ModelShape, precision: str, kv_tokens: int, weight_fraction: float = 1.0) -> MemoryEstimate:
    """One rollout rank: weights (``weight_fraction`` of them under tensor parallelism) and a
    KV cache of ``kv_tokens`` positions."""
    width = BYTES[precision]
    return MemoryEstimate({
        "weights": shape.params * width * weight_fraction,
        "kv_cache": kv_tokens * shape.kv_bytes_per_token(width) * weight_fraction,
    })


@dataclass
class DeviceUse:
    """What one device must hold: its ranks' estimates, and whether the phases take turns."""

    device: int
    node: int
    holders: Dict[str, float]  # component -> bytes of its rank(s) on this device
    takes_turns: bool  # offload between phases: the rollout and the actor do not hold memory at once

    @property
    def needed(self) -> float:
        if self.takes_turns and len(self.holders) > 1:
            return max(self.holders.values())
        return sum(self.holders.values())


def device_uses(estimates: Dict[str, MemoryEstimate], placement: Any, offload: bool) -> List[DeviceUse]:
    """Per device (GPU placements) the bytes its ranks need; a rank spanning several devices
    (tensor parallelism) has its estimate already per device."""
    uses: Dict[int, DeviceUse] = {}
    for name, estimate in estimates.items():
        for rank in placement.ranks(name):
            for d in rank.devices:
                use = uses.setdefault(d, DeviceUse(d, rank.node, {}, offload))
                use.holders[name] = use.holders.get(name, 0.0) + estimate.total
    return [uses[d] for d in sorted(uses)]


def node_uses(estimates: Dict[str, MemoryEstimate], placement: Any) -> Dict[int, float]:
    """Per node (CPU placements: one memory shared by every rank) the bytes its ranks need."""
    out: Dict[int, float] = {}
    for name, estimate in estimates.items():
        for rank in placement.ranks(name):
            out[rank.node] = out.get(rank.node, 0.0) + estimate.total
    return out
