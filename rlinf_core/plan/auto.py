"""``cluster.component_placement: auto``: the run picks its placement from cost profiles.

At start-up, with profiles (``runner.plan_profiles``: earlier runs' folders or profile.json
files), the simulator ranks the candidates that fit the recipe and the run starts in the
best. Without, it starts collocated (every component on every device), the safe default,
and plans from its own profile after ``runner.replan_after`` steps (3 if unset).

Re-planning happens once, at step ``runner.replan_after``: the run's own steps so far (the
first left out: warm-up) become a profile; when the run started without profiles, or when its
measured step time drifts from the prediction by more than ``runner.replan_drift``, the
candidates are ranked again (from every profile at hand) and, if the best is another
placement, the run writes a checkpoint, stops its workers and resumes from that checkpoint in
the new placement, logging the choice and why. RLinf picks placements from offline profiles
fed by hand (arXiv:2509.15965 §5); this picks them from the run itself.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from rlinf_core.errors import ConfigError
from rlinf_core.files import atomic_file
from rlinf_core.plan.candidates import Candidate, candidates, rank_candidates
from rlinf_core.plan.profile import Profile, load_profile
from rlinf_core.plan.simulate import CostModel, Prediction

AUTO = "auto"
DEFAULT_REPLAN_AFTER = 3  # steps to profile when the run starts without a profile
MIN_GAIN = 0.05  # a switch costs a checkpoint and a relaunch: only for a predicted gain above this


def is_auto(cfg: Any) -> bool:
    return isinstance(cfg.cluster.component_placement, str) and cfg.cluster.component_placement.strip() == AUTO


def node_devices(cfg: Any) -> int:
    return cfg.cluster.num_gpus_per_node or cfg.cluster.num_cpus_per_node or os.cpu_count() or 1


def with_candidate(cfg: Any, cand: Candidate) -> Any:
    """A copy of ``cfg`` placed as ``cand`` says."""
    out = copy.deepcopy(cfg)
    out.cluster.component_placement = cand.component_placement
    out.cluster.devices_per_rank = dict(cand.devices_per_rank)
    out.runner.max_staleness = cand.max_staleness
    out.runner.groups_per_part = cand.groups_per_part
    return out


def misfits(cfg: Any, devices: int, groups: int) -> Dict[str, str]:
    """Candidates the recipe does not allow (e.g. a micro-batch that does not divide a rank's
    share; a step that cannot be streamed), with the reason the config check gives."""
    from rlinf_core.config import derive_sizes, section
    from rlinf_core.errors import RlinfUserError
    from rlinf_core.cluster.ray_cluster import placement_for_cluster
    from rlinf_core.flow.streaming import check_streaming
    from rlinf_core.plan.fit import check_memory, estimate_memory
    from rlinf_core.plugins import get_registry

    base = copy.deepcopy(cfg)
    if not base.cluster.num_gpus_per_node:
        base.cluster.num_cpus_per_node = devices
    out = {}
    for cand in candidates(devices, groups, base.cluster.num_nodes):
        try:
            placed = with_candidate(base, cand)
            sizes = derive_sizes(placed)
            registry = get_registry(list(placed.plugins.modules))
            if placed.cluster.num_gpus_per_node:  # CPU candidates: checked against their profiled peaks
                check_memory(estimate_memory(placed, placement_for_cluster(placed.cluster), registry))
            if cand.groups_per_part:
                algorithm = registry.get("algorithms", placed.algorithm.name)(section(placed, "algorithm"))
                check_streaming(placed, algorithm, registry.get("train_backends", placed.actor.backend), sizes)
        except RlinfUserError as exc:
            out[cand.label] = str(exc)
    return out


def node_memory_mb(cfg: Any) -> Optional[float]:
    """The memory the node's ranks share: this machine's RAM for CPU placements on the embedded
    Ray (None otherwise: GPU memory is per device, and a cluster's nodes are not this one)."""
    if cfg.cluster.num_gpus_per_node or cfg.cluster.address is not None:
        return None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            fields = dict(line.split(":", 1) for line in fh)
        return float(fields["MemTotal"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        return None


def over_memory(ranked: List[Tuple[Candidate, Prediction]], limit_mb: Optional[float]) -> Dict[str, str]:
    """Candidates whose ranks' profiled peaks add up to more than ``limit_mb``, with the reason."""
    if not limit_mb:
        return {}
    return {c.label: f"needs ~{p.memory_mb:.0f} MB on a node (its ranks' profiled peaks), a node has {limit_mb:.0f} MB"
            for c, p in ranked if p.memory_mb > limit_mb}


@dataclass
class Ranking:
    """The candidates that fit, fastest first; those that do not, with why; the model's notes."""

    ranked: List[Tuple[Candidate, Prediction]]
    skip: Dict[str, str]
    notes: List[str]


def ranked_fits(cfg: Any, profiles: List[Profile], memory_mb: Optional[float] = None) -> Ranking:
    """The candidates that fit ``cfg`` (sizes, streaming, memory) ranked by predicted step time.
    Streamed candidates are ranked from streamed runs' profiles, in their part size, or else
    (in two parts per rollout rank) from profiles whose rollout measured its fixed share."""

    devices = node_devices(cfg)
    streamed = [p for p in profiles if p.groups_per_part > 0]
    model = CostModel([p for p in profiles if not p.groups_per_part] or profiles)
    groups = streamed[0].groups_per_part if streamed else 0
    if not streamed and model.fixed_share > 0:  # the split's cost is known: try two parts per rollout rank
        groups = max(1, cfg.data.rollout_batch_size // (2 * max(1, devices // 2)))
    notes = list(model.notes)
    if not groups:
        notes.append("streamed placements (runner.groups_per_part) are ranked only from a streamed run's profile "
                     "or one whose rollout engine measured its fixed share")
    skip = misfits(cfg, devices, groups)
    ranked = [(c, p) for c, p in rank_candidates(model, devices, cfg.data.rollout_batch_size, groups,
                                                 cfg.cluster.num_nodes, CostModel(streamed) if streamed else None)
              if c.label not in skip]
    skip.update(over_memory(ranked, memory_mb if memory_mb is not None else node_memory_mb(cfg)))
    ranked = [(c, p) for c, p in ranked if c.label not in skip]
    if not ranked:
        raise ConfigError(f"No candidate placement fits the recipe on {devices} devices: {skip}")
    return Ranking(ranked, skip, notes)


@dataclass
class AutoPlan:
    """The placement an auto run uses, why, and when it re-plans."""

    candidate: Candidate
    reason: str
    replan_at: int  # the step after which to re-plan; 0: never
    predicted_s: Optional[float] = None  # the chosen candidate's predicted step time
    profiles: List[Profile] = field(default_factory=list)
    replanned: bool = False


def choose_at_start(cfg: Any) -> AutoPlan:
    """The starting placement of an auto run (see the module docstring)."""
    if cfg.runner.plan_profiles:
        try:
            profiles = [load_profile(p) for p in cfg.runner.plan_profiles]
        except ConfigError as exc:
            raise ConfigError(f"`runner.plan_profiles`: {exc}") from None
        ranked = ranked_fits(cfg, profiles).ranked
        (best, pred) = ranked[0]
        runner_up = f"; next: {ranked[1][0].label} {ranked[1][1].step_s:.2f} s" if len(ranked) > 1 else ""
        reason = (f"the fastest of {len(ranked)} fitting candidates predicted from {len(profiles)} profile(s): "
                  f"{pred.step_s:.2f} s/step, bottleneck {pred.bottleneck}{runner_up}")
        return AutoPlan(best, reason, cfg.runner.replan_after, pred.step_s, profiles)
    start = candidates(node_devices(cfg), 0, cfg.cluster.num_nodes)[0]
    after = cfg.runner.replan_after or DEFAULT_REPLAN_AFTER
    reason = f"no runner.plan_profiles: starting collocated, planning from this run's first {after} steps"
    return AutoPlan(start, reason, after)


def replan(cfg: Any, plan: AutoPlan, own: Optional[Profile], measured_s: float) -> Tuple[Optional[Candidate], str]:
    """At ``plan.replan_at``: the candidate to switch to (None: stay) and why."""
    plan.replanned = True
    if own is None:
        return None, "no profile could be built from the steps so far; staying"
    if plan.predicted_s is not None:
        drift = measured_s / plan.predicted_s - 1
        if abs(drift) <= cfg.runner.replan_drift:
            return None, (f"measured {measured_s:.2f} s/step vs predicted {plan.predicted_s:.2f} s ({drift:+.0%}, within "
                          f"runner.replan_drift {cfg.runner.replan_drift:.0%}): staying")
    ranked = ranked_fits(cfg, plan.profiles + [own]).ranked
    best, pred = ranked[0]
    if best.label == plan.candidate.label:
        return None, f"{best.label} is still the fastest ({pred.step_s:.2f} s/step predicted): staying"
    if pred.step_s > measured_s * (1 - MIN_GAIN):
        return None, (f"the best other placement, {best.label}, is predicted at {pred.step_s:.2f} s/step against "
                      f"{measured_s:.2f} s measured: less than {MIN_GAIN:.0%} faster, staying")
    return best, (f"switching to {best.label}: predicted {pred.step_s:.2f} s/step against {measured_s:.2f} s measured "
                  f"in {plan.candidate.label}, bottleneck {pred.bottleneck}")


CHOICE_FILE = "placement_auto.json"


def save_choice(output_dir: str, plan: AutoPlan, why: str) -> None:
    """Record the placement an auto run continues in, so that resuming it keeps the choice."""
    record = {"label": plan.candidate.label, "component_placement": plan.candidate.component_placement,
              "devices_per_rank": dict(plan.candidate.devices_per_rank), "max_staleness": plan.candidate.max_staleness,
              "groups_per_part": plan.candidate.groups_per_part, "replanned": plan.replanned, "why": why}
    with atomic_file(os.path.join(output_dir, CHOICE_FILE)) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=1)


def choose_placement(cfg: Any) -> AutoPlan:
    """An auto run's placement: the one it recorded when it resumes, else :func:`choose_at_start`."""
    path = os.path.join(cfg.runner.output_dir, CHOICE_FILE)
    if cfg.runner.resume != "none" and os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            r = json.load(fh)
        cand = Candidate(r["label"], r["component_placement"], tuple(sorted(r["devices_per_rank"].items())),
                         int(r["max_staleness"]), int(r["groups_per_part"]))
        return AutoPlan(cand, f"as recorded in {path} ({r['why']})", 0, replanned=bool(r["replanned"]))
    return choose_at_start(cfg)
