"""Greedy (temperature 0) accuracy of a checkpoint on a boba-format jsonl file.

Generation goes through a rollout backend and grading through the reward the recipe trains
with (``hf`` and ``math``, both resolved by name from the registry, with the core's evaluator
batching the prompts), so evaluation and training agree on how text is generated and on what
"correct" means.
"""

from __future__ import annotations

import json
from typing import List, Tuple

from rlinf_core.evaluation.evaluator import EvalSettings, Item, run_items
from rlinf_core.evaluation.local import local_functions
from rlinf_core.models import load_tokenizer
from rlinf_core.plugins import get_registry


def read_rows(path: str) -> List[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def greedy_accuracy(
    model_path: str, data_path: str, reward_name: str = "math", backend: str = "hf", max_new_tokens: int = 48
) -> Tuple[float, List[str]]:
    """(accuracy, responses) of greedy decoding on every row of ``data_path`` (chat prompts, boxed solutions)."""
    rows = read_rows(data_path)
    tok = load_tokenizer(model_path)
    items = [
        Item(i, 0, tok(tok.apply_chat_template(r["prompt"], add_generation_prompt=True, tokenize=False),
                       add_special_tokens=False)["input_ids"], list(r["solutions"]))
        for i, r in enumerate(rows)
    ]
    generate, score, close = local_functions(model_path, backend, reward_name, get_registry())
    try:
        texts, verdicts = run_items(items, EvalSettings(max_new_tokens=max_new_tokens, batch_size=128), generate, score)
    finally:
        close()
    return sum(verdicts) / len(verdicts), texts
