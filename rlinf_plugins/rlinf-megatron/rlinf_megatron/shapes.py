"""A Hugging Face Qwen2 checkpoint's shape, the Megatron parallel layout over it, and the checks
that the layout fits (errors name the config field and the numbers).

Follows Megatron-LM (Shoeybi et al. 2019, arXiv:1909.08053; Narayanan et al. 2021,
arXiv:2104.04473): tensor parallelism splits attention by query groups (so it must divide both
the query heads and the key/value heads) and the MLP by its hidden width; pipeline parallelism
splits the decoder layers into equal contiguous stages; the vocabulary is padded to a multiple of
``vocab_divisor × tensor_parallel_size`` (Megatron-LM's ``make_vocab_size_divisible_by``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from rlinf_core.errors import ConfigError


@dataclass(frozen=True)
class ModelShape:
    """What the weight conversion needs of a Qwen2-family ``config.json``."""

    num_layers: int
    hidden_size: int
    num_heads: int
    num_query_groups: int
    head_dim: int
    ffn_hidden_size: int
    vocab_size: int
    tied_embeddings: bool
    qkv_bias: bool = True

    @classmethod
    def from_hf_config(cls, cfg: Mapping[str, Any]) -> "ModelShape":
        heads = int(cfg["num_attention_heads"])
        return cls(
            num_layers=int(cfg["num_hidden_layers"]),
            hidden_size=int(cfg["hidden_size"]),
            num_heads=heads,
            num_query_groups=int(cfg.get("num_key_value_heads") or heads),
            head_dim=int(cfg.get("head_dim") or cfg["hidden_size"] // heads),
            ffn_hidden_size=int(cfg["intermediate_size"]),
            vocab_size=int(cfg["vocab_size"]),
            tied_embeddings=bool(cfg.get("tie_word_embeddings", False)),
        )


@dataclass(frozen=True)
class Layout:
    """Tensor and pipeline parallel sizes, and how the checkpoint's modules are named."""

    tp: int = 1
    pp: int = 1
    vocab_divisor: int = 128
    fused_norms: bool = False  # Transformer Engine layers hold the norms inside linear_qkv / linear_fc1

    def padded_vocab(self, shape: ModelShape) -> int:
        multiple = self.vocab_divisor * self.tp
        return -(-shape.vocab_size // multiple) * multiple

    def layers(self, shape: ModelShape, pp_rank: int) -> range:
        """The global indices of the decoder layers on pipeline stage ``pp_rank``."""
        per_stage = shape.num_layers // self.pp
        return range(pp_rank * per_stage, (pp_rank + 1) * per_stage)


def check_layout(shape: ModelShape, layout: Layout, prefix: str = "actor.megatron") -> None:
    """ConfigError naming the field and the numbers when ``layout`` cannot split ``shape``."""
    tp, pp = layout.tp, layout.pp
    if tp < 1 or pp < 1:
        raise ConfigError(f"`{prefix}.tensor_parallel_size` and `{prefix}.pipeline_parallel_size` must be at least 1.")
    for what, n in (("num_attention_heads", shape.num_heads), ("num_key_value_heads", shape.num_query_groups),
                    ("intermediate_size", shape.ffn_hidden_size)):
        if n % tp:
            raise ConfigError(
                f"`{prefix}.tensor_parallel_size`={tp} does not divide the model's {what} ({n}); "
                f"choose a size that divides {what}."
            )
    if shape.num_layers % pp:
        raise ConfigError(
            f"`{prefix}.pipeline_parallel_size`={pp} does not divide the model's num_hidden_layers ({shape.num_layers})."
        )
