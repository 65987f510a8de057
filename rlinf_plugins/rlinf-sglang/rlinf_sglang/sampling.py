"""rlinf's sampling settings as SGLang ``sampling_params`` dicts (pure; imports no SGLang).

Conventions translated (SGLang's SamplingParams):
- temperature 0 is greedy; SGLang turns it into top_k=1 itself, rlinf sends temperature 0 with
  top-p and top-k off so the request says what it means;
- rlinf's ``top_k: -1`` (off) is SGLang's ``-1`` too;
- stop at EOS by token id (``stop_token_ids``), never by text: the engine runs without a
  tokenizer (``skip_tokenizer_init``), prompts go in as ids and responses come out as ids;
- one request per response row (``n=1``), each with its own ``sampling_seed`` (honoured by
  SGLang under ``enable_deterministic_inference``).

Deviation from the HF and vLLM backends: SGLang returns the sampled token's log-prob after
temperature scaling but before top-k/top-p filtering, so with top-p < 1 or top-k on it is not
the log-prob of the filtered distribution the trainer recomputes (with both off, the default of
every recipe, the two are the same quantity).
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Sequence

from rlinf_core.engine_rollout import Sampling

# SGLang fields rlinf sets itself, with the setting to change instead.
OWNED_FIELDS = {
    "n": "algorithm.group_size",
    "temperature": "rollout.temperature",
    "top_p": "rollout.top_p",
    "top_k": "rollout.top_k",
    "max_new_tokens": "rollout.max_new_tokens",
    "sampling_seed": "runner.seed",
    "stop_token_ids": "the checkpoint's eos_token_id",
    "stop": "the checkpoint's eos_token_id (the engine has no tokenizer)",
}


def sampling_params(s: Sampling, eos_ids: Sequence[int], extra: Mapping[str, Any], seed: int) -> Dict[str, Any]:
    """SGLang ``sampling_params`` for one response row."""
    return {
        **dict(extra),
        "n": 1,
        "temperature": 0.0 if s.greedy else float(s.temperature),
        "top_p": 1.0 if s.greedy else float(s.top_p),
        "top_k": -1 if s.greedy or s.top_k < 0 else int(s.top_k),
        "max_new_tokens": int(s.max_new_tokens),
        "stop_token_ids": list(eos_ids),
        "sampling_seed": int(seed),
    }


def parse_output(out: Mapping[str, Any]) -> tuple:
    """(response ids, their log-probs, truncated) from one ``Engine.generate`` output dict.

    The ids are read from ``meta_info.output_token_logprobs`` (one ``(logprob, token_id, text)``
    per generated token, the stop token included), so ids and log-probs cannot disagree in length.
    """
    meta = out["meta_info"]
    steps = meta["output_token_logprobs"]
    ids = [int(t) for _, t, *_ in steps]
    logprobs = [float(lp) for lp, *_ in steps]
    reported = [int(t) for t in out.get("output_ids", ids)]
    common = min(len(reported), len(ids))  # whether output_ids carries the stop token varies by release
    if reported[:common] != ids[:common]:
        raise RuntimeError(f"sglang rollout: output_ids {reported} disagree with the log-prob tokens {ids}")
    reason = meta.get("finish_reason") or {}
    kind = reason.get("type") if isinstance(reason, Mapping) else reason
    return ids, logprobs, kind == "length"
