"""The two workloads of the rlinf-vs-TRL GRPO benchmark: data, a tiny Qwen2 and its SFT warm start.

- ``tiny``: the math-tiny task (two-digit addition worked column by column, a share of the
  carries forgotten in the demonstrations) on a ~0.45M-parameter Qwen2 (hidden 128, 2 layers).
- ``small``: three-digit addition worked column by column with named columns, answers of
  ~100 tokens, on a ~13M-parameter Qwen2 (hidden 384, 6 layers).

Both models get a short SFT warm start (through rlinf-math-tiny's ``warm_start``, the torch
backend's own update) so that sampled rewards are neither all 0 nor all 1 and GRPO has a
signal; both systems then start from the same checkpoint and see the same prompts in the same
order. Everything is cached under ``--cache`` with a ``prepared.json`` written last.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Tuple

from rlinf_core.models import load_tokenizer
from rlinf_core.tiny import TinyModelSpec, build_tiny_checkpoint
from rlinf_math_tiny.arithmetic import demonstrations, split_problems
from rlinf_math_tiny.sft import SFTSettings, warm_start


@dataclass(frozen=True)
class Workload:
    name: str
    model: TinyModelSpec
    sft: SFTSettings
    max_new_tokens: int
    max_prompt_length: int
    lr: float
    micro_batch_size: int  # rlinf's actor.micro_batch_size (memory, not semantics)


WORKLOADS: Dict[str, Workload] = {
    "tiny": Workload(
        "tiny", TinyModelSpec(hidden_size=128, num_layers=2, intermediate_size=384),
        SFTSettings(steps=350, batch_size=64, lr=3e-3, warmup=20), max_new_tokens=40, max_prompt_length=64,
        lr=2e-4, micro_batch_size=128,
    ),
    "small": Workload(
        "small", TinyModelSpec(hidden_size=384, num_layers=6, num_heads=6, num_kv_heads=2, intermediate_size=1536,
                               vocab_size=448),
        SFTSettings(steps=300, batch_size=32, lr=1e-3, warmup=20), max_new_tokens=128, max_prompt_length=64,
        lr=5e-5, micro_batch_size=32,
    ),
}

COLUMNS = ("ones", "tens", "hundreds")


def three_digit_problems(seed: int) -> List[Tuple[int, int]]:
    rng = random.Random(seed)
    pairs = {(rng.randint(100, 999), rng.randint(100, 999)) for _ in range(12000)}
    out = sorted(pairs)
    rng.shuffle(out)
    return out


def worked_three_digit(a: int, b: int, forget_carry_at: int = -1) -> str:
    """Column addition with named columns ending in a boxed sum; column ``forget_carry_at`` drops its carry."""
    da, db = [int(c) for c in f"{a:03d}"][::-1], [int(c) for c in f"{b:03d}"][::-1]
    lines, carry, digits = [f"We add {a} and {b} column by column."], 0, []
    for i, name in enumerate(COLUMNS):
        s = da[i] + db[i] + carry
        expr = f"{da[i]} + {db[i]}" + (" + 1" if carry else "")
        new_carry = s // 10 if i != forget_carry_at else 0
        lines.append(f"The {name}: {expr} = {s}, write {s % 10}" + (" and carry 1." if new_carry else "."))
        digits.append(s % 10)
        carry = new_carry
    total = int(("1" if carry else "") + "".join(str(d) for d in reversed(digits)))
    lines.append(f"So the sum is \\boxed{{{total}}}")
    return " ".join(lines)


def _row(question: str, answer: int, uid: str) -> Dict[str, object]:
    return {"prompt": [{"role": "user", "content": question}], "task": "math", "query_id": uid,
            "solutions": [f"\\boxed{{{answer}}}"]}


def _data(name: str, seed: int) -> Tuple[List[Dict[str, object]], List[Tuple[str, str]]]:
    """(RL rows, SFT (question, demonstration) pairs); the RL rows are disjoint from the SFT ones."""
    if name == "tiny":
        train, _ = split_problems(256, seed)
        sft, rl = train[:4000], train[4000:]
        demos = demonstrations(sft, 0.6, seed)
        return [_row(p.question, p.answer, p.uid) for p in rl], [(p.question, d) for p, d in demos]
    pairs = three_digit_problems(seed)
    sft, rl = pairs[:6000], pairs[6000:]
    rng = random.Random(seed + 1)
    demos = []
    for a, b in sft:
        carries = [i for i in range(3) if int(str(a)[::-1][i]) + int(str(b)[::-1][i]) >= 9]
        forget = rng.choice(carries) if carries and rng.random() < 0.5 else -1
        demos.append((f"What is {a} + {b}?", worked_three_digit(a, b, forget)))
    return [_row(f"What is {a} + {b}?", a + b, f"add3-{a}-{b}") for a, b in rl], demos


def prepare(name: str, cache: str, seed: int = 1) -> Dict[str, str]:
    """Create (or reuse) the workload's rows file and SFT checkpoint; returns their paths."""
    w = WORKLOADS[name]
    root = os.path.join(cache, name)
    paths = {"rows": os.path.join(root, "rl_rows.jsonl"), "model": os.path.join(root, "sft-model")}
    marker = os.path.join(paths["model"], "prepared.json")
    if os.path.exists(marker) and os.path.exists(paths["rows"]):
        return paths
    start = time.time()
    rows, demos = _data(name, seed)
    os.makedirs(root, exist_ok=True)
    with open(paths["rows"] + ".tmp", "w") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    os.replace(paths["rows"] + ".tmp", paths["rows"])
    work = os.path.join(root, "preparing")
    shutil.rmtree(work, ignore_errors=True)
    base = os.path.join(work, "base")
    build_tiny_checkpoint(base, [q for q, _ in demos] + [d for _, d in demos], w.model)
    tok = load_tokenizer(base)

    def ids(q: str, d: str) -> Tuple[List[int], List[int]]:
        prompt = tok.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True, tokenize=False)
        return tok(prompt, add_special_tokens=False)["input_ids"], tok(d, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]

    pairs = [ids(q, d) for q, d in demos]
    lengths = sorted(len(r) for _, r in pairs)
    print(f"[{name}] {len(rows)} RL rows, {len(pairs)} demonstrations, response tokens p50 {lengths[len(lengths) // 2]} "
          f"max {lengths[-1]}", file=sys.stderr, flush=True)

    def log(step: int, nll: float) -> None:
        if step % 50 == 0 or step == w.sft.steps - 1:
            print(f"[{name}] sft step {step + 1}/{w.sft.steps} nll {nll:.3f} ({time.time() - start:.0f}s)",
                  file=sys.stderr, flush=True)

    sft_path = os.path.join(work, "sft")
    warm_start(base, sft_path, pairs, w.sft, log=log)
    with open(os.path.join(sft_path, "prepared.json"), "w") as fh:
        json.dump({"workload": asdict(w), "seed": seed, "seconds": time.time() - start,
                   "response_tokens_p50": lengths[len(lengths) // 2]}, fh, indent=2, default=str)
    shutil.rmtree(paths["model"], ignore_errors=True)
    os.replace(sft_path, paths["model"])
    shutil.rmtree(work, ignore_errors=True)
    return paths


def load_rows(path: str) -> List[Dict[str, object]]:
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="prepare the benchmark workloads")
    ap.add_argument("names", nargs="+", choices=sorted(WORKLOADS))
    ap.add_argument("--cache", default="/tmp/rlinf-vs-trl")
    ns = ap.parse_args()
    for n in ns.names:
        print(prepare(n, ns.cache))
