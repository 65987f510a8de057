"""``rlinf plan``: predicted step time of every candidate placement, best first.

Costs come from run profiles (``--profile RUN_DIR``, repeatable: profiles at different thread
counts let the simulator fit each component's thread scaling) or, without ``--profile``, from
short profiling runs of the recipe itself (collocated with every device per rank, then the
rollout and actor on disjoint halves), written under ``--workdir``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

import click

from rlinf_core.plan.auto import ranked_fits
from rlinf_core.plan.candidates import Candidate, candidates
from rlinf_core.plan.profile import Profile, load_profile
from rlinf_core.plan.simulate import Prediction


def profile_recipe(recipe: str, overrides: Tuple[str, ...], devices: int, steps: int, workdir: str) -> List[Profile]:
    """Profile the recipe for ``steps`` steps on this machine as one node (a rank's costs do not
    depend on the other nodes): collocated and disaggregated, for the costs at two thread counts,
    and disaggregated with staleness 1, for what the rollout and the actor cost beside each other."""
    from rlinf_core.config import load_config
    from rlinf_core.runner import run_from_config

    every = {c.label: c for c in candidates(devices)}
    half = max(1, devices // 2)
    chosen = [every["collocated"]]
    if devices > 1:
        chosen += [every[f"disaggregated {half}+{devices - half}"], every[f"disaggregated {half}+{devices - half}, staleness 1"]]
    profiles = []
    for cand in chosen:
        out = os.path.join(workdir, cand.label.replace(" ", "_").replace(",", ""))
        cfg = load_config(recipe, [*overrides, *cand.overrides(), f"runner.output_dir={out}", f"runner.max_steps={steps}",
                                   "runner.save_interval=0", "runner.val_interval=0", "runner.val_at_start=false",
                                   "runner.resume=none", "tracking.backends=[jsonl]", "cluster.num_nodes=1"])
        click.echo(f"profiling {cand.label} for {steps} steps -> {out}", err=True)
        with contextlib.redirect_stdout(sys.stderr):  # the runs' reports are not the plan
            run_from_config(cfg)
        profiles.append(load_profile(out))
    return profiles


def format_plan(ranked: List[Tuple[Candidate, Prediction]], skip: Dict[str, str], notes: List[str]) -> List[str]:
    best = ranked[0][1].step_s
    lines = [f"{'#':>2}  {'predicted step':>14}  {'vs best':>7}  {'bottleneck':<10}  {'memory':>9}  placement"]
    for i, (cand, pred) in enumerate(ranked, 1):
        memory = f"{pred.memory_mb:>6.0f} MB" if pred.memory_mb else f"{'?':>9}"
        lines.append(f"{i:>2}  {pred.step_s:>12.2f} s  {pred.step_s / best:>6.2f}x  {pred.bottleneck:<10}  {memory}  "
                     f"{cand.label}")
    for label, reason in skip.items():
        lines.append(f"--  {'':>14}  {'':>7}  {'':<10}  {'':>9}  {label}: does not fit ({reason.splitlines()[0]})")
    lines.append("")
    lines.append("use the best:  " + " ".join(ranked[0][0].overrides()))
    for note in notes:
        lines.append(f"note: {note}")
    return lines


@click.command("plan", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("recipe", type=click.Path(exists=True, dir_okay=False))
@click.argument("overrides", nargs=-1)
@click.option("--profile", "profiles", multiple=True, type=click.Path(exists=True),
              help="A run's output folder (or its profile.json); repeat for profiles at other thread counts.")
@click.option("--devices", type=click.IntRange(min=1), default=None,
              help="Devices (CPU cores, or GPUs) of the node to plan for; default: the recipe's node.")
@click.option("--steps", default=4, show_default=True, type=click.IntRange(min=2),
              help="Steps of each profiling run (without --profile; the first is not counted).")
@click.option("--workdir", default=None, help="Where profiling runs write (default: a temporary folder).")
@click.option("--memory-gb", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Memory the node's ranks share; candidates whose profiled peaks add up to more do not fit "
                   "(default: this machine's RAM for CPU placements; not checked for GPUs).")
@click.option("--nodes", type=click.IntRange(min=1), default=None,
              help="Nodes to plan for (default: the recipe's cluster.num_nodes). Profiling runs on this machine; "
                   "cross-node communication is not modelled.")
def plan_command(recipe: str, overrides: Tuple[str, ...], profiles: Tuple[str, ...], devices: Optional[int],
                 steps: int, workdir: Optional[str], memory_gb: Optional[float], nodes: Optional[int]) -> None:
    """Rank collocated, disaggregated and hybrid placements of RECIPE by predicted step time."""
    from rlinf_core.config import load_config

    cfg = load_config(recipe, list(overrides))
    if nodes:
        cfg.cluster.num_nodes = nodes
    n = devices or cfg.cluster.num_gpus_per_node or cfg.cluster.num_cpus_per_node or os.cpu_count() or 1
    if profiles:
        loaded = [load_profile(p) for p in profiles]
    else:
        loaded = profile_recipe(recipe, overrides, n, steps, workdir or tempfile.mkdtemp(prefix="rlinf-plan-"))
    click.echo(f"profiles: {', '.join(p.placement for p in loaded)} (CPU: {loaded[0].cpu})")
    if devices:  # plan for this many devices of the recipe's kind
        if cfg.cluster.num_gpus_per_node:
            cfg.cluster.num_gpus_per_node = devices
        else:
            cfg.cluster.num_cpus_per_node = devices
    ranking = ranked_fits(cfg, loaded, memory_gb * 1024 if memory_gb else None)
    for line in format_plan(ranking.ranked, ranking.skip, ranking.notes):
        click.echo(line)
