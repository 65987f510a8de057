"""How well `rlinf plan` predicts step times on 2 cores, and whether its pick is the measured best.

    python benchmarks/plan_accuracy.py --out /tmp/plan-accuracy [--workloads tiny small] [--steps 16] [--seed 1]

For each workload of ``benchmarks/vs_trl.py`` (16 prompts x 8 samples, one update per step),
every candidate placement of ``rlinf_core.plan.candidates`` on 2 cores is run for ``--steps``
steps and its median step wall time (after ``--warmup`` steps) measured. The simulator is fed
the profiles of two of those runs, as ``rlinf plan`` profiles a recipe itself (collocated with
2-thread ranks, and the rollout and actor on one core each), and predicts every candidate: for
those two the prediction restates what was profiled, for the others (streamed ones included:
their parts' cost comes from the rollout's measured fixed share) it is a real prediction, also
shown without the fixed share (as the simulator predicted before it had one).
Prints a markdown table (candidate, predicted, measured, error) and the pick against the
measured best; writes ``plan_accuracy.json`` to ``--out``. Numbers, never assertions; run it on
an otherwise idle machine, one run at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from dataclasses import replace
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from math_tiny_learning import cpu_model  # noqa: E402
from vs_trl import PROMPTS, run_rlinf  # noqa: E402
from vs_trl_workloads import WORKLOADS, prepare  # noqa: E402

from rlinf_core.flow.streaming import part_sizes  # noqa: E402
from rlinf_core.plan.candidates import candidates, layouts_of  # noqa: E402
from rlinf_core.plan.profile import load_profile  # noqa: E402
from rlinf_core.plan.simulate import CostModel, predict  # noqa: E402

PROFILED = ("collocated", "disaggregated 1+1", "disaggregated 1+1, staleness 1")  # what `rlinf plan` profiles on 2 cores
STREAM_PARTS = (2, 8)  # parts of the 16 prompts a step: `rlinf plan` tries 2; 8 is the hard case for the model


def all_candidates() -> List[Any]:
    """Every unstreamed candidate on 2 cores, and the streamed ones in each of STREAM_PARTS."""
    plain = [c for c in candidates(2) if not c.groups_per_part]
    streamed = [replace(c, label=f"{c.label} in {PROMPTS // c.groups_per_part} parts")
                for parts in STREAM_PARTS for c in candidates(2, PROMPTS // parts) if c.groups_per_part]
    return plain + streamed


def run_folder(out: str, workload: str, cand: Any) -> str:
    return os.path.join(out, f"{workload}-{cand.label.replace(' ', '_').replace(',', '').replace('(', '').replace(')', '')}")


def measure(workload: str, cand: Any, seed: int, steps: int, cache: str, out: str) -> Dict[str, Any]:
    run_out = run_folder(out, workload, cand)
    shutil.rmtree(run_out, ignore_errors=True)
    extra = {"cluster.component_placement": cand.component_placement,
             "cluster.devices_per_rank": dict(cand.devices_per_rank), "runner.max_staleness": cand.max_staleness,
             "runner.groups_per_part": cand.groups_per_part}
    try:
        result = run_rlinf(WORKLOADS[workload], prepare(workload, cache), seed, steps, run_out, extra)
    except RuntimeError as exc:  # a candidate the workload's sizes do not allow: `rlinf plan` lists it as a misfit
        if "exited with 2" not in str(exc):
            raise
        return {"label": cand.label, "misfit": str(exc).splitlines()[-2]}
    walls = [s["wall_s"] for s in result["steps"]]
    record = {"label": cand.label, "walls": walls, "run_dir": os.path.join(run_out, "run")}
    with open(os.path.join(run_out, "walls.json"), "w") as fh:
        json.dump(record, fh)
    return record


def measured_or_run(workload: str, cand: Any, seed: int, steps: int, cache: str, out: str, reuse: bool) -> Dict[str, Any]:
    """With ``reuse``, the step walls an earlier invocation recorded in ``out`` (when it has them)."""
    saved = os.path.join(run_folder(out, workload, cand), "walls.json")
    if reuse and os.path.exists(saved):
        with open(saved) as fh:
            return json.load(fh)
    return measure(workload, cand, seed, steps, cache, out)


def evaluate(workload: str, seed: int, steps: int, warmup: int, cache: str, out: str, reuse: bool = False) -> List[Dict[str, Any]]:
    runs = {c.label: measured_or_run(workload, c, seed, steps, cache, out, reuse) for c in all_candidates()}
    model = CostModel([load_profile(runs[label]["run_dir"]) for label in PROFILED])
    # The first two profiles without the fixed share or co-run factors: the simulator before it had them.
    flat_model = CostModel([load_profile(runs[label]["run_dir"]) for label in PROFILED[:2]])
    flat_model.fixed_share = 0.0
    rows = []
    for cand in all_candidates():
        if "misfit" in runs[cand.label]:
            print(f"{workload}: {cand.label} does not fit: {runs[cand.label]['misfit']}")
            continue
        lay = layouts_of(cand, 2)
        shares = bool(set(lay["rollout"].devices) & set(lay["actor"].devices))
        parts = len(part_sizes(PROMPTS // lay["rollout"].ranks, cand.groups_per_part))
        offload = shares and cand.max_staleness == 0
        pred = predict(model, lay, cand.max_staleness, offload=offload, parts=parts)
        flat = predict(flat_model, lay, cand.max_staleness, offload=offload, parts=parts)
        # The last step drains the pipeline (no sampling ahead): leave it out with the warm-up.
        measured = statistics.median(runs[cand.label]["walls"][warmup:-1])
        rows.append({"workload": workload, "candidate": cand.label,
                     "profiled": cand.label in PROFILED, "fixed_share": model.fixed_share,
                     "predicted_s": pred.step_s, "measured_s": measured, "error": pred.step_s / measured - 1,
                     "flat_predicted_s": flat.step_s, "flat_error": flat.step_s / measured - 1,
                     "bottleneck": pred.bottleneck})
    return rows


def table(rows: List[Dict[str, Any]]) -> str:
    lines = ["| workload | candidate | predicted | measured | error | error before (no fixed share, no co-run) | |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['workload']} | {r['candidate']} | {r['predicted_s']:.2f} s | {r['measured_s']:.2f} s | "
                     f"{r['error']:+.0%} | {r['flat_error']:+.0%} | {'profiled' if r['profiled'] else 'predicted'} |")
    return "\n".join(lines)


def picks(rows: List[Dict[str, Any]]) -> List[str]:
    out = []
    for workload in dict.fromkeys(r["workload"] for r in rows):
        mine = [r for r in rows if r["workload"] == workload]
        pick = min(mine, key=lambda r: r["predicted_s"])
        best = min(mine, key=lambda r: r["measured_s"])
        out.append(f"{workload}: plan picks '{pick['candidate']}' (measured {pick['measured_s']:.2f} s); measured best "
                   f"'{best['candidate']}' ({best['measured_s']:.2f} s): the pick is {pick['measured_s'] / best['measured_s'] - 1:+.1%} off")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", nargs="+", default=["tiny", "small"], choices=sorted(WORKLOADS))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--cache", default="/tmp/rlinf-vs-trl-cache")
    ap.add_argument("--out", default="/tmp/plan-accuracy")
    ap.add_argument("--reuse", action="store_true", help="reuse the step times of runs an earlier invocation left in --out")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = [r for w in args.workloads for r in evaluate(w, args.seed, args.steps, args.warmup, args.cache, args.out, args.reuse)]
    with open(os.path.join(args.out, "plan_accuracy.json"), "w") as fh:
        json.dump({"cpu": cpu_model(), "rows": rows}, fh, indent=2)
    print(f"CPU: {cpu_model()}")
    print(table(rows))
    for line in picks(rows):
        print(line)


if __name__ == "__main__":
    main()
