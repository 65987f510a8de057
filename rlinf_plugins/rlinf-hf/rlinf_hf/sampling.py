"""Sampling arguments for transformers' generate(), from rlinf's rollout config.

rlinf's ``top_k: -1`` (disabled, vLLM's convention) becomes transformers' ``top_k: 0``;
``top_p: 1.0`` disables nucleus sampling in both; ``temperature: 0`` means greedy decoding.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional


def generate_kwargs(
    temperature: float, top_p: float, top_k: int, max_new_tokens: int, eos_token_ids: List[int], pad_token_id: Optional[int]
) -> Dict[str, Any]:
    if temperature <= 0:
        sampling: Dict[str, Any] = {"do_sample": False}
    else:
        sampling = {
            "do_sample": True,
            "temperature": float(temperature),
            "top_p": float(top_p),
            "top_k": 0 if top_k < 0 else int(top_k),
        }
    return {
        **sampling,
        "max_new_tokens": int(max_new_tokens),
        "eos_token_id": eos_token_ids,
        "pad_token_id": pad_token_id if pad_token_id is not None else eos_token_ids[0],
        "use_cache": True,
        "output_scores": True,
        "return_dict_in_generate": True,
    }
