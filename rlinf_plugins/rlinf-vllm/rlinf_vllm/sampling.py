"""rlinf's sampling settings as ``vllm.SamplingParams`` keyword arguments (pure; imports no vLLM).

Conventions translated:
- temperature 0 is greedy; vLLM then refuses ``n > 1``, so every response is its own request
  with ``n=1`` (the backend does this for sampling too: one seed per response row, from
  :func:`rlinf_core.engine_rollout.row_seeds`);
- rlinf's ``top_k: -1`` (off) is vLLM 0.32's ``top_k: 0``;
- stop at EOS by token id (``stop_token_ids``), never by text: the engine runs without a
  tokenizer, prompts go in as token ids and responses come out as ids;
- ``logprobs=0`` asks for the sampled token's log-prob only; with the engine's
  ``logprobs_mode="processed_logprobs"`` it is taken after temperature, top-k and top-p, as
  the HF backend reports (log-softmax of the processed logits).
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Sequence

from rlinf_core.engine_rollout import Sampling

# vLLM fields rlinf sets itself, with the setting to change instead.
OWNED_FIELDS = {
    "n": "algorithm.group_size",
    "temperature": "rollout.temperature",
    "top_p": "rollout.top_p",
    "top_k": "rollout.top_k",
    "max_tokens": "rollout.max_new_tokens",
    "seed": "runner.seed",
    "logprobs": "nothing (the sampled token's log-prob is always returned)",
    "stop_token_ids": "the checkpoint's eos_token_id",
    "detokenize": "nothing (responses are decoded by rlinf)",
}


def sampling_kwargs(s: Sampling, eos_ids: Sequence[int], extra: Mapping[str, Any]) -> Dict[str, Any]:
    """Keyword arguments of ``vllm.SamplingParams`` for one response (the seed is added per row)."""
    return {
        **dict(extra),
        "n": 1,
        "temperature": 0.0 if s.greedy else float(s.temperature),
        "top_p": 1.0 if s.greedy else float(s.top_p),
        "top_k": 0 if s.greedy or s.top_k < 0 else int(s.top_k),
        "max_tokens": int(s.max_new_tokens),
        "stop_token_ids": list(eos_ids),
        "logprobs": 0,
        "detokenize": False,
    }
