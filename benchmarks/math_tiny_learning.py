"""Does GRPO teach the tiny model something SFT did not? (issue: GRPO math reasoning end to end)

For each seed: prepare the math-tiny assets (dataset, tokenizer, tiny Qwen2, SFT warm start)
into a cache, run the recipe with `rlinf run`, then measure held-out greedy accuracy of the
SFT start and of the final checkpoint, and the mean reward of the first and last 20 steps.

    python benchmarks/math_tiny_learning.py --seeds 1 2 --cache /tmp/rlinf-bench-cache
Prints one JSON line per seed and a summary; timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(REPO, "cookbook", "math-tiny", "grpo.yaml")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--cache", default="/tmp/rlinf-bench-cache")
    ap.add_argument("--out", default="/tmp/rlinf-bench-runs")
    ap.add_argument("--steps", type=int, default=None, help="override runner.max_steps")
    args = ap.parse_args()

    from rlinf_math_tiny.greedy_eval import greedy_accuracy

    results = []
    for seed in args.seeds:
        cache = os.path.join(args.cache, f"seed{seed}")
        out = os.path.join(args.out, f"seed{seed}")
        env = {**os.environ, "RLINF_CACHE": cache, "RAY_AUTH_MODE": "disabled"}
        overrides = [f"runner.seed={seed}", f"runner.output_dir={out}"]
        if args.steps:
            overrides.append(f"runner.max_steps={args.steps}")
        t0 = time.time()
        subprocess.run([sys.executable, "-m", "rlinf_core.cli", "prepare", RECIPE, *overrides], env=env, check=True)
        t1 = time.time()
        subprocess.run([sys.executable, "-m", "rlinf_core.cli", "run", RECIPE, *overrides], env=env, check=True)
        t2 = time.time()
        rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
        rewards = [r["rollout/rewards"] for r in rows]
        test = os.path.join(cache, "math-tiny", "test.jsonl")
        sft_acc, _ = greedy_accuracy(os.path.join(cache, "math-tiny", "sft-model"), test)
        ckpts = sorted(os.listdir(os.path.join(out, "checkpoints")))
        final_acc, _ = greedy_accuracy(os.path.join(out, "checkpoints", ckpts[-1], "actor"), test)
        result = {
            "seed": seed,
            "steps": len(rows),
            "sft_greedy_accuracy": round(sft_acc, 4),
            "grpo_greedy_accuracy": round(final_acc, 4),
            "greedy_gain_points": round(100 * (final_acc - sft_acc), 1),
            "mean_reward_first20": round(sum(rewards[:20]) / min(20, len(rewards)), 3),
            "mean_reward_last20": round(sum(rewards[-20:]) / min(20, len(rewards)), 3),
            "prepare_seconds": round(t1 - t0, 1),
            "grpo_seconds": round(t2 - t1, 1),
        }
        print(json.dumps(result), flush=True)
        results.append(result)
    gains = [r["greedy_gain_points"] for r in results]
    print(json.dumps({"seeds": args.seeds, "greedy_gain_points": gains, "min_gain": min(gains)}))


if __name__ == "__main__":
    main()
