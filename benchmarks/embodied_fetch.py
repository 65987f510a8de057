"""The embodied recipe over seeds, and env steps/s with 1 vs 2 pipeline stages, on this CPU.

    python benchmarks/embodied_fetch.py learn --seeds 1 2 3 [--recipe R] [--set k=v ...] [--label L]
    python benchmarks/embodied_fetch.py stages --stages 1 2 --iterations 6 [--set k=v ...]
    python benchmarks/embodied_fetch.py busy --stages 1 2 [--set k=v ...]
    python benchmarks/embodied_fetch.py plot embodied_fetch_results.jsonl --png curves.png

``learn`` runs the recipe (``cookbook/embodied-fetch-reach/ppo.yaml`` by default) per seed with
``rlinf run`` and reads the run's own validation (deterministic episodes on fixed seeds) from
its metrics.jsonl: success at the start, at the end, the first time it reached 95%, and the
wall time. ``stages`` runs a few iterations per stage count and reports the median
``env/steps_per_s`` over the iterations after the first. ``busy`` collects 3 iterations in
this process per stage count and reads the workers' own call spans: how long the env worker
stepped and the policy acted, against the collection's wall time. Appends JSON records to
--results.
Numbers, never assertions; run one at a time on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from math_tiny_learning import cpu_model  # noqa: E402

RECIPE = os.path.join(REPO, "cookbook", "embodied-fetch-reach", "ppo.yaml")


def run(recipe: str, out: str, overrides: List[str]) -> List[Dict]:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    cmd = [sys.executable, "-m", "rlinf_core.cli", "run", recipe, f"runner.output_dir={out}",
           "tracking.backends=[jsonl]", *overrides]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "metrics.jsonl")) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def learn(args: argparse.Namespace) -> List[Dict]:
    records = []
    for seed in args.seeds:
        out = os.path.join(args.out, args.label, f"seed{seed}")
        t0 = time.time()
        rows = run(args.recipe, out, [f"runner.seed={seed}", *args.set])
        curve = [(r["step"], r.get("time/elapsed", 0.0), r["val/success_rate"]) for r in rows if "val/success_rate" in r]
        reached = next(((s, t) for s, t, v in curve if v >= 0.95), None)
        records.append({"kind": "learn", "label": args.label, "recipe": os.path.relpath(args.recipe, REPO),
                        "overrides": args.set, "seed": seed, "cpu": cpu_model(), "curve": curve,
                        "start": curve[0][2], "final": curve[-1][2], "reached_95": reached,
                        "train_s": rows[-1].get("time/elapsed"), "wall_s": time.time() - t0})
        print(f"seed {seed}: success {curve[0][2]:.0%} -> {curve[-1][2]:.0%}; 95% "
              f"{'at iteration %d (%.0f s)' % reached if reached else 'not reached'}; {records[-1]['train_s']:.0f} s")
    return records


def stages(args: argparse.Namespace) -> List[Dict]:
    records = []
    for n in args.stages:
        out = os.path.join(args.out, f"stages{n}")
        rows = run(args.recipe, out, [f"env.pipeline_stage_num={n}", f"runner.max_steps={args.iterations}",
                                      "runner.val_interval=0", "runner.val_episodes=1", "runner.gif=false", *args.set])
        rates = [r["env/steps_per_s"] for r in rows if "env/steps_per_s" in r][1:]
        records.append({"kind": "stages", "stages": n, "overrides": args.set, "cpu": cpu_model(),
                        "steps_per_s": rates, "median": statistics.median(rates)})
        print(f"pipeline_stage_num={n}: {statistics.median(rates):.0f} env steps/s (median of {len(rates)} iterations)")
    return records


def busy(args: argparse.Namespace) -> List[Dict]:
    from omegaconf import OmegaConf

    from rlinf_core.cluster.ray_cluster import ensure_ray, placement_for_cluster
    from rlinf_core.config import load_config
    from rlinf_core.config.loader import to_container
    from rlinf_embodied.collect import collect
    from rlinf_embodied.flow import launch, shutdown

    records = []
    ensure_ray(None, None, "embodied-busy")
    for n in args.stages:
        cfg = load_config(args.recipe, [f"env.pipeline_stage_num={n}", *args.set])
        groups, pg = launch(to_container(cfg), placement_for_cluster(cfg.cluster))
        try:
            for it in range(3):
                groups["env"].drain_spans(), groups["policy"].drain_spans()
                t0 = time.time()
                collect(OmegaConf.to_object(cfg), groups, it + 1, False, False)
                wall = time.time() - t0
                env = [e - s for m, s, e in groups["env"].drain_spans()[0] if m == "step"]
                act = [e - s for m, s, e in groups["policy"].drain_spans()[0] if m == "act"]
                records.append({"kind": "busy", "stages": n, "overrides": args.set, "cpu": cpu_model(), "wall_s": wall,
                                "env_step_s": sum(env), "env_step_median_s": statistics.median(env),
                                "act_s": sum(act), "act_median_s": statistics.median(act)})
                print(f"stages {n}, iteration {it}: collection {wall:.2f} s, env worker stepping {sum(env):.2f} s "
                      f"({statistics.median(env) * 1e3:.1f} ms a call), policy acting {sum(act):.2f} s "
                      f"({statistics.median(act) * 1e3:.2f} ms a call)")
        finally:
            shutdown(groups, pg)
    return records


def plot(paths: List[str], png: str, recipe: str) -> None:
    """The validation curves of every `learn` record of ``recipe`` in the result files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rlinf_embodied.curves import success_axes

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for path in paths:
        for rec in (json.loads(line) for line in open(path) if line.strip()):
            if rec.get("kind") == "learn" and rec["recipe"] == recipe:
                ax.plot([t for _, t, _ in rec["curve"]], [v for _, _, v in rec["curve"]], "o-", markersize=3,
                        label=f"{rec['label']} seed {rec['seed']}")
    ax.axhline(0.95, color="grey", lw=0.8, ls="--")
    success_axes(ax, "seconds of training", "validation success rate", legend_size=7)
    fig.tight_layout()
    fig.savefig(png, dpi=100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["learn", "stages", "busy", "plot"])
    ap.add_argument("files", nargs="*", help="plot: result files")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--stages", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--iterations", type=int, default=6)
    ap.add_argument("--recipe", default=RECIPE)
    ap.add_argument("--set", nargs="*", default=[], help="overrides k=v for every run")
    ap.add_argument("--label", default="ppo")
    ap.add_argument("--out", default="/tmp/embodied-fetch")
    ap.add_argument("--results", default=os.path.join(HERE, "embodied_fetch_results.jsonl"))
    ap.add_argument("--png", default=os.path.join(REPO, "cookbook", "embodied-fetch-reach", "learning.png"))
    args = ap.parse_args()
    if args.what == "plot":
        plot(args.files or [args.results], args.png, os.path.relpath(os.path.abspath(args.recipe), REPO))
        return
    records = {"learn": learn, "stages": stages, "busy": busy}[args.what](args)
    with open(args.results, "a") as fh:
        for rec in records:
            fh.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
