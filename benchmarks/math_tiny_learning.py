"""Does the math-tiny recipe learn, on every seed? Start, best and final held-out greedy accuracy.

For each seed: prepare the math-tiny assets (dataset, tokenizer, tiny Qwen2, SFT warm start;
one cache per seed, so the SFT start differs between seeds too), run the recipe with `rlinf
run` and any overrides, and read the run's own validation (greedy avg@1 on the 256 held-out
problems, step 0 = the SFT start) from its metrics.jsonl.

    python benchmarks/math_tiny_learning.py --seeds 1 2 3 4 5
    python benchmarks/math_tiny_learning.py --seeds 1 2 --label dapo --set algorithm.name=dapo
    python benchmarks/math_tiny_learning.py --plot results.jsonl [more.jsonl ...] --png curves.png

Appends one JSON record per run to --results (label, overrides, CPU, seed, curve, start / best /
final, wall time) and prints a summary per label. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from typing import Dict, List

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(REPO, "cookbook", "math-tiny", "grpo.yaml")
METRIC = "val/test/avg@1"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            name = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
        with open("/proc/cpuinfo") as fh:
            flags = next(line for line in fh if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return platform.processor() or "unknown"
    extras = [f for f in ("avx512f", "amx_bf16", "avx512_bf16") if f in flags]
    return f"{name} ({os.cpu_count()} CPUs; {', '.join(extras) or 'AVX2 only'})"


def run_seed(seed: int, args: argparse.Namespace) -> Dict:
    cache = os.path.join(args.cache, f"seed{seed}")
    out = os.path.join(args.out, args.label, f"seed{seed}")
    env = {**os.environ, "RLINF_CACHE": cache, "RAY_AUTH_MODE": "disabled"}
    overrides = [f"runner.seed={seed}", f"runner.output_dir={out}", "runner.resume=none",
                 f"runner.val_interval={args.val_interval}", *args.set]
    cli = [sys.executable, "-m", "rlinf_core.cli"]
    subprocess.run([*cli, "prepare", args.recipe, *overrides], env=env, check=True, stdout=subprocess.DEVNULL)
    t0 = time.time()
    subprocess.run([*cli, "run", args.recipe, *overrides], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL if args.quiet else None)
    wall = time.time() - t0
    rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    curve = [(r["step"], r[METRIC]) for r in rows if METRIC in r]
    best = max(curve, key=lambda p: p[1])
    start, final = curve[0], curve[-1]
    return {
        "label": args.label, "recipe": os.path.relpath(args.recipe, REPO), "overrides": args.set, "cpu": cpu_model(), "seed": seed,
        "start": start[1], "best": best[1], "best_step": best[0], "final": final[1], "steps": final[0],
        "gain_points": round(100 * (final[1] - start[1]), 1),
        "final_below_best_points": round(100 * (best[1] - final[1]), 1),
        "curve": curve, "uniform_groups_last10": _mean([r.get("rollout/uniform_reward_groups") for r in rows][-10:]),
        "run_seconds": round(wall, 1),
    }


def _mean(values: List) -> float:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 2) if values else float("nan")


def summarize(records: List[Dict]) -> None:
    labels = sorted({r["label"] for r in records}, key=[r["label"] for r in records].index)
    for label in labels:
        rs = [r for r in records if r["label"] == label]
        gains = [r["gain_points"] for r in rs]
        gaps = [r["final_below_best_points"] for r in rs]
        print(f"{label}: seeds {[r['seed'] for r in rs]}; gain (points) {gains} mean {sum(gains) / len(gains):.1f} "
              f"min {min(gains)}; final below best {gaps} max {max(gaps)}; "
              f"run seconds {[r['run_seconds'] for r in rs]}")


def plot(records: List[Dict], png: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted({r["label"] for r in records}, key=[r["label"] for r in records].index)
    cols = min(3, len(labels))
    rows = -(-len(labels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.3 * rows), squeeze=False, sharey=True)
    for ax in axes.flat[len(labels):]:
        ax.set_visible(False)
    for ax, label in zip(axes.flat, labels):
        for r in (r for r in records if r["label"] == label):
            steps, values = zip(*r["curve"])
            ax.plot(steps, [100 * v for v in values], marker=".", lw=1.2, label=f"seed {r['seed']}")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("held-out greedy acc. (%)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(records[0]["cpu"], fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"wrote {png}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--label", default="recipe")
    ap.add_argument("--recipe", default=RECIPE, help="the recipe to run (default: cookbook/math-tiny/grpo.yaml)")
    ap.add_argument("--set", nargs="*", default=[], help="overrides for rlinf run, e.g. algorithm.name=dapo")
    ap.add_argument("--val-interval", type=int, default=10)
    ap.add_argument("--cache", default="/tmp/rlinf-bench-cache")
    ap.add_argument("--out", default="/tmp/rlinf-bench-runs")
    ap.add_argument("--results", default="/tmp/rlinf-bench-runs/learning.jsonl")
    ap.add_argument("--quiet", action="store_true", help="hide the runs' progress output")
    ap.add_argument("--plot", nargs="*", help="only plot and summarize these results files")
    ap.add_argument("--png", default="math_tiny_learning.png")
    args = ap.parse_args()
    if args.plot:
        records = [json.loads(line) for path in args.plot for line in open(path)]
        summarize(records)
        plot(records, args.png)
        return
    os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
    records = []
    for seed in args.seeds:
        record = run_seed(seed, args)
        print(json.dumps({k: v for k, v in record.items() if k != "curve"}), flush=True)
        with open(args.results, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        records.append(record)
    summarize(records)


if __name__ == "__main__":
    main()
