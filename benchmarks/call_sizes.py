"""How a rollout call's and a training call's cost depend on their rows, alone and beside the other.

    python benchmarks/call_sizes.py [--cache /tmp/rlinf-vs-trl-cache] [--workload small] [--repeats 3]

The planner's streamed candidates split a step into parts of fewer rows, and run each part's
generation beside the previous part's training on the other core. This measures the two
effects that predicts, on the plan-accuracy workloads' own model (``benchmarks/vs_trl_workloads``;
run ``plan_accuracy.py`` once to build it): one rollout call (rlinf's compact HF decode loop) of
16-128 rows, and one training call (forward, backward, AdamW step of the same model on rows
of 160 random tokens, about the workload's prompt plus response) of 16 and 32 rows, each pinned to core 0 with one thread, alone and
while the other runs in a loop pinned to core 1 with one thread. Prints seconds per call and
per row, and the ratio beside / alone. Numbers, never assertions; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from typing import Callable, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from math_tiny_learning import cpu_model  # noqa: E402

GROUP, MAX_NEW = 8, 128


def _pin(core: int) -> None:
    import torch

    os.sched_setaffinity(0, {core})
    torch.set_num_threads(1)


def _load(model_dir: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(model_dir), AutoTokenizer.from_pretrained(model_dir)


def _prompts(tok, rows_path: str, n: int):
    import torch

    with open(rows_path) as fh:
        rows = [json.loads(line) for line, _ in zip(fh, range(n))]
    ids = [tok.apply_chat_template(r["prompt"], add_generation_prompt=True, tokenize=True) for r in rows]
    return [torch.tensor(i if isinstance(i, list) else i["input_ids"]) for i in ids]


def _generator(model, tok, prompts, rows: int) -> Callable[[], None]:
    import torch
    from rlinf_hf.decode import decode

    batch = [p for p in prompts[: rows // GROUP] for _ in range(GROUP)]
    eos = [tok.eos_token_id]

    @torch.inference_mode()
    def call() -> None:
        decode(model, batch, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=MAX_NEW, eos_ids=eos,
               pad_id=tok.pad_token_id or eos[0], device=torch.device("cpu"))

    return call


def _trainer(model, rows: int, length: int) -> Callable[[], None]:
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=1e-6)
    ids = torch.randint(0, model.config.vocab_size, (rows, length))

    def call() -> None:
        out = model(input_ids=ids)
        out.logits.float().log_softmax(-1).mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return call


def _background(kind: str, model_dir: str, rows_path: str, core: int, ready, stop) -> None:
    """The other component, in a loop on ``core`` until ``stop`` is set."""
    _pin(core)
    model, tok = _load(model_dir)
    call = _generator(model, tok, _prompts(tok, rows_path, 16), 16) if kind == "rollout" else _trainer(model, 32, 160)
    call()
    ready.set()
    while not stop.is_set():
        call()


def _timed(call: Callable[[], None], repeats: int) -> float:
    import torch

    state = torch.get_rng_state()
    call()  # warm-up, then every timed call draws the warm-up's samples (a decode's length is random)
    times = []
    for _ in range(repeats):
        torch.set_rng_state(state)
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def _probe_child(model_dir: str, rows_path: str, out) -> None:
    _pin(0)
    model, tok = _load(model_dir)
    import torch

    torch.manual_seed(0)
    generate = _generator(model, tok, _prompts(tok, rows_path, 16), 16)
    train = _trainer(model, 16, 160)
    out.put({"decode_16_rows_s": _timed(generate, 1), "train_16_rows_s": _timed(train, 1)})


def speed_probe(model_dir: str, rows_path: str) -> Dict[str, float]:
    """How fast this machine is right now, on one core with one thread: one 16-row decode call
    (the same samples every time) and one 16-row training call, after a warm-up each (~10 s).
    In a process of its own, so that nothing here is pinned or loaded afterwards."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_probe_child, args=(model_dir, rows_path, out))
    proc.start()
    result = out.get()
    proc.join()
    return result


def measure(model_dir: str, rows_path: str, repeats: int) -> List[Dict[str, object]]:
    import torch

    _pin(0)
    model, tok = _load(model_dir)
    prompts = _prompts(tok, rows_path, 16)
    calls = {("rollout", r): _generator(model, tok, prompts, r) for r in (16, 32, 64, 128)}
    calls.update({("actor", r): _trainer(model, r, 160) for r in (16, 32)})
    out = []
    for (kind, rows), call in calls.items():
        torch.manual_seed(0)
        alone = _timed(call, repeats)
        ctx = mp.get_context("spawn")
        ready, stop = ctx.Event(), ctx.Event()
        other = "actor" if kind == "rollout" else "rollout"
        proc = ctx.Process(target=_background, args=(other, model_dir, rows_path, 1, ready, stop))
        proc.start()
        ready.wait()
        torch.manual_seed(0)
        beside = _timed(call, repeats)
        stop.set()
        proc.join()
        out.append({"call": kind, "rows": rows, "alone_s": alone, "beside_s": beside, "ratio": beside / alone})
        print(f"| {kind} | {rows} | {alone:.3f} s ({alone / rows * 1000:.1f} ms/row) | "
              f"{beside:.3f} s ({beside / rows * 1000:.1f} ms/row) | {beside / alone:.2f}x |", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default="/tmp/rlinf-vs-trl-cache")
    ap.add_argument("--workload", default="small")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    base = os.path.join(args.cache, args.workload)
    print(f"CPU: {cpu_model()}; workload {args.workload}, one thread per process")
    print("| call | rows | alone | beside the other on core 1 | beside / alone |\n|---|---|---|---|---|")
    measure(os.path.join(base, "sft-model"), os.path.join(base, "rl_rows.jsonl"), args.repeats)


if __name__ == "__main__":
    main()
