"""Loading Hugging Face tokenizers the same way in every process, one transformers model quirk,
and the ``device`` config value resolved.

A checkpoint's ``tokenizer_config.json`` may name the generic fast tokenizer
(``PreTrainedTokenizerFast``, saved by transformers 5.x as ``TokenizersBackend``): then it
is loaded with exactly that class. transformers 5.x's ``AutoTokenizer`` would otherwise build
the model family's tokenizer (e.g. ``Qwen2Tokenizer`` for ``model_type: qwen2``) and replace
the saved normalizer and pre-tokenizer, so the ids trained on would differ from the ids
sampled with. Everything else goes through ``AutoTokenizer`` as usual.
"""

from __future__ import annotations

import inspect
import json
import os
from typing import TYPE_CHECKING, Any

from rlinf_core.errors import ConfigError

if TYPE_CHECKING:
    import torch

GENERIC_FAST_TOKENIZERS = ("PreTrainedTokenizerFast", "TokenizersBackend")


def load_tokenizer(path: str, field_name: str = "rollout.model.model_path") -> Any:
    """The tokenizer saved in checkpoint folder ``path`` (errors name the config field)."""
    if not os.path.isdir(path):
        raise ConfigError(
            f"`{field_name}`={path!r} is not a folder. Point it at a Hugging Face checkpoint "
            f"(config.json, weights, tokenizer files); the model hub is not used."
        )
    tok_cfg = os.path.join(path, "tokenizer_config.json")
    saved_class = None
    if os.path.exists(tok_cfg):
        with open(tok_cfg, encoding="utf-8") as fh:
            saved_class = json.load(fh).get("tokenizer_class")
    try:
        # Imported here, and AutoTokenizer only when needed: its module imports every model
        # family's tokenizer mapping (~5 s of CPU here), which a generic tokenizer does not need.
        if saved_class in GENERIC_FAST_TOKENIZERS:
            from transformers import PreTrainedTokenizerFast

            return PreTrainedTokenizerFast.from_pretrained(path)
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(path)
    except Exception as exc:
        raise ConfigError(f"Cannot load the tokenizer of `{field_name}`={path!r}: {type(exc).__name__}: {exc}") from exc


def kv_cache_keyword(model: Any) -> str:
    """The keyword a transformers model's forward takes its KV cache by: transformers 5.24
    renamed ``past_key_values`` to ``cache`` (the old name warns until 5.40). Pass the unwrapped
    model: a DDP wrapper's ``forward(*inputs, **kwargs)`` hides the name."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def resolve_device(choice: str) -> "torch.device":
    """A ``device`` config value as a torch device: ``cuda``, ``cpu``, or ``auto`` (CUDA when a
    GPU is visible to this process, else the CPU)."""
    import torch

    return torch.device("cuda" if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()) else "cpu")
