"""Throughput of `rlinf eval` on a tiny model: problems x samples per second (issue: rlinf eval).

    python benchmarks/eval_throughput.py --model PATH [--samples 1 8] [--benchmark FILE]
Runs `rlinf eval` in-process settings through the evaluator (HF rollout backend, math reward)
and prints samples/s and avg@K for each K. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--benchmark", default=os.path.join(REPO, "cookbook", "math-tiny", "benchmarks", "add2-math.jsonl"))
    ap.add_argument("--samples", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--max-new-tokens", type=int, default=48)
    args = ap.parse_args()

    from rlinf_core.evaluation.evaluator import EvalSettings
    from rlinf_core.evaluation.local import local_functions
    from rlinf_core.models import load_tokenizer
    from rlinf_core.plugins import get_registry
    from rlinf_math.bench_eval import evaluate_benchmark
    from rlinf_math.benchmarks import load_benchmark

    bench = load_benchmark(args.benchmark)
    tokenizer = load_tokenizer(args.model)
    generate, score, close = local_functions(args.model, "hf", "math", get_registry())
    try:
        for k in args.samples:
            temperature = 0.0 if k == 1 else 0.6
            settings = EvalSettings(samples=k, temperature=temperature, top_p=0.95 if k > 1 else 1.0,
                                    max_new_tokens=args.max_new_tokens)
            t0 = time.perf_counter()
            s = evaluate_benchmark(bench, tokenizer, settings, "chat", generate, score)
            dt = time.perf_counter() - t0
            print(json.dumps({"benchmark": bench.name, "K": k, "temperature": temperature, "problems": s["problems"],
                              f"avg@{k}": round(s[f"avg@{k}"], 4), "samples_per_s": round(len(bench.problems) * k / dt, 1),
                              "seconds": round(dt, 2)}))
    finally:
        close()


if __name__ == "__main__":
    main()
