"""rlinf's sampling settings as ``vllm.SamplingParams`` keyword arguments (pure; imports no vLLM).

Conventions translated:
- temperature 0 is greedy; vLLM then refuses ``n > 1``, so every response is its own request
  with ``n=1`` (the backend does this for sampling too: one seed per response row);
- rlinf's ``top_k: -1`` (off) is vLLM 0.32's ``top_k: 0``;
- stop at EOS by token id (``stop_token_ids``), never by text: the engine runs without a
  tokenizer, prompts go in as token ids and responses come out as ids;
- ``logprobs=0`` asks for the sampled token's log-prob only; with the engine's
  ``logprobs_mode="processed_logprobs"`` it is taken after temperature, top-k and top-p, as
  the HF backend reports (log-softmax of the processed logits).

Per-row seeds are derived from the request seed and the row index, so a fixed request seed
reproduces the whole rollout whatever the engine's batching.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Sequence

from rlinf_core.errors import ConfigError

# Set by rlinf from the rollout config or the request; `extra_sampling` may not override them.
OWNED_FIELDS = frozenset(
    {"n", "temperature", "top_p", "top_k", "max_tokens", "seed", "logprobs", "stop_token_ids", "detokenize"}
)
_SEED_MODULUS = 2**63 - 1


@dataclass(frozen=True)
class Sampling:
    """The settings of one rollout call (rlinf's SamplingParams, resolved against the config)."""

    temperature: float
    top_p: float
    top_k: int
    max_new_tokens: int


def check_extra_sampling(extra: Mapping[str, Any], valid_fields: Iterable[str]) -> None:
    """Refuse an ``extra_sampling`` entry that vLLM does not know, or one rlinf sets itself."""
    valid = set(valid_fields)
    for name in extra:
        where = f"`rollout.extra_sampling.{name}`"
        if name in OWNED_FIELDS:
            raise ConfigError(f"{where} is set by rlinf itself; use the rollout's own field (e.g. rollout.{_own(name)}).")
        if name not in valid:
            raise ConfigError(
                f"{where} is not a vllm.SamplingParams field; valid fields: {', '.join(sorted(valid - OWNED_FIELDS))}."
            )


def _own(name: str) -> str:
    return {"max_tokens": "max_new_tokens"}.get(name, name if name in {"temperature", "top_p", "top_k"} else "temperature")


def sampling_kwargs(s: Sampling, eos_ids: Sequence[int], extra: Mapping[str, Any]) -> Dict[str, Any]:
    """Keyword arguments of ``vllm.SamplingParams`` for one response (the seed is added per row)."""
    greedy = s.temperature <= 0
    return {
        **dict(extra),
        "n": 1,
        "temperature": 0.0 if greedy else float(s.temperature),
        "top_p": 1.0 if greedy else float(s.top_p),
        "top_k": 0 if greedy or s.top_k < 0 else int(s.top_k),
        "max_tokens": int(s.max_new_tokens),
        "stop_token_ids": list(eos_ids),
        "logprobs": 0,
        "detokenize": False,
    }


def row_seeds(request_seed: int, rows: int) -> List[int]:
    """One seed per response row, a fixed function of the request seed and the row index."""
    base = (int(request_seed) * 1_000_003) % _SEED_MODULUS
    return [(base + i) % _SEED_MODULUS for i in range(rows)]
