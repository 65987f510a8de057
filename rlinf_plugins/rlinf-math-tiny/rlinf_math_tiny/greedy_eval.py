"""Greedy (temperature 0) accuracy of a checkpoint on a boba-format jsonl file.

Answers are graded by the reward plugin the recipe trains with (``math``, resolved by name),
so evaluation and training agree on what "correct" means.
"""

from __future__ import annotations

import json
from typing import List, Tuple

import torch

from rlinf_core import left_pad
from rlinf_core.models import load_tokenizer
from rlinf_core.plugins import get_registry


def read_rows(path: str) -> List[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@torch.no_grad()
def greedy_responses(model_path: str, rows: List[dict], max_new_tokens: int = 48, batch_size: int = 128) -> List[str]:
    from transformers import AutoModelForCausalLM

    tok = load_tokenizer(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path).eval()
    eos = tok.eos_token_id
    pad = tok.pad_token_id if tok.pad_token_id is not None else eos
    texts: List[str] = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        ids = [
            tok(tok.apply_chat_template(r["prompt"], add_generation_prompt=True, tokenize=False), add_special_tokens=False)["input_ids"]
            for r in chunk
        ]
        input_ids, mask = left_pad(ids, int(pad))
        width = input_ids.shape[1]
        out = model.generate(
            input_ids=input_ids, attention_mask=mask, do_sample=False, max_new_tokens=max_new_tokens,
            eos_token_id=eos, pad_token_id=pad,
        )
        texts += tok.batch_decode(out[:, width:], skip_special_tokens=True)
    return texts


def greedy_accuracy(model_path: str, data_path: str, reward_name: str = "math") -> Tuple[float, List[str]]:
    """(accuracy, responses) of greedy decoding on every row of ``data_path``."""
    rows = read_rows(data_path)
    responses = greedy_responses(model_path, rows)
    reward_cls = get_registry().get("rewards", reward_name, field_name="reward.name")
    reward = reward_cls(reward_cls.config_class())
    try:
        result = reward.score(responses, [r["solutions"] for r in rows])
    finally:
        reward.close()
    correct = result.components["correct"]
    return sum(correct) / len(correct), responses
