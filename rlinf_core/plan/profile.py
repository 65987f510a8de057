"""Every run's cost profile (``profile.json``): what each component's work costs per unit.

Built at the end of a run from its timeline spans (:mod:`rlinf_core.flow.timeline`) and
step metrics, over the steps after ``warmup`` (the first steps pay one-off costs: lazy
initialisation, allocator growth). Per component and per unit of work, run-level sums (so
that with ``runner.max_staleness`` the batch sampled during step t and trained in step t+1
still pairs its time with its work):

- rollout: seconds of ``generate_part`` per generated token and per prompt group, the
  response-length statistics, the calls per step and, from engines that time their decode
  steps, the share of a call that would not shrink with fewer rows
  (:mod:`rlinf_core.plan.decode_cost`);
- reward: seconds of ``score_part`` per response;
- actor: seconds of ``train_on`` per trained token (prompt + response; forward, backward and
  optimizer together: the backend's inner split is not visible from outside);
- sync: seconds of the weight sync per step; offload: seconds of offload/onload per step;
- the step: median wall time and the overhead outside the phases' own spans (Ray dispatch,
  the driver's bookkeeping), measured on synchronous runs;
- memory: each component's peak resident memory.

Each component also records how it was placed (ranks, threads per rank, devices), which is
what the simulator (:mod:`rlinf_core.plan.simulate`) scales from.
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from rlinf_core.errors import ConfigError
from rlinf_core.files import atomic_file
from rlinf_core.flow.timeline import Span, busy_seconds, read_spans
from rlinf_core.plan.decode_cost import METRIC as DECODE_SHARE

PROFILE_FILE = "profile.json"
PHASES = {"rollout": ("generate_part",), "reward": ("score_part",),
          "actor": ("train_on", "begin_streamed_step", "train_part", "finish_streamed_step")}


@dataclass
class ComponentProfile:
    """One component: placement, and seconds per unit of work on one rank (``per_unit_s``)."""

    ranks: int
    threads: int  # per rank
    devices: List[int]
    unit: str
    per_unit_s: float  # busy seconds of one rank per unit of its work
    units_per_step: float  # median, all ranks together
    seconds_per_step: float  # median wall time of the phase (the slowest rank)
    peak_mb: float = 0.0
    # rollout only: the share of a call's time that does not shrink with its rows (0: not measured;
    # rlinf_core.plan.decode_cost).
    fixed_share: float = 0.0
    calls_per_step: float = 1.0  # the phase's calls per step, all ranks together


@dataclass
class Profile:
    """A run's costs (see the module docstring)."""

    cpu: str
    placement: str
    max_staleness: int
    steps: int  # steps profiled (after the warm-up)
    step_s: float  # median step wall time
    sync_s: float
    offload_s: float
    driver_s: float  # median step time outside the phases' spans (Ray dispatch, driver); 0 when not synchronous
    reward_tail_s: float  # median scoring time after the last rollout rank finished
    response_length_mean: float
    response_length_max: float
    components: Dict[str, ComponentProfile] = field(default_factory=dict)
    groups_per_part: int = 0  # > 0: a streamed run (its rollout ran in parts of this many groups)
    device_type: str = "cpu"  # the placement's devices: "cpu" (cores) or "gpu"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Profile":
        comps = {k: ComponentProfile(**v) for k, v in data.get("components", {}).items()}
        return cls(**{**data, "components": comps})


def load_profile(path: str) -> Profile:
    """A profile from ``profile.json`` or a run folder holding one; a clear error otherwise."""
    file = os.path.join(path, PROFILE_FILE) if os.path.isdir(path) else path
    if not os.path.exists(file):
        raise ConfigError(f"{file} does not exist: give a run's output folder (runs write {PROFILE_FILE} at the end).")
    with open(file, encoding="utf-8") as fh:
        try:
            return Profile.from_dict(json.load(fh))
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{file} is not a profile this rlinf can read ({exc}); give a run's output folder.") from None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _median(values: List[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def _per_step(spans: List[Span], component: str, methods: tuple, steps: List[int]) -> Dict[int, Dict[int, float]]:
    """{step: {rank: busy seconds in ``methods``}} (overlapping calls of a rank counted once)."""
    calls: Dict[int, Dict[int, List[Tuple[float, float]]]] = {s: {} for s in steps}
    for s in spans:
        if s.component == component and s.what in methods and s.step in calls:
            calls[s.step].setdefault(s.rank, []).append((s.start, s.end))
    return {step: {rank: busy_seconds(ivs, min(a for a, _ in ivs), max(b for _, b in ivs)) for rank, ivs in ranks.items()}
            for step, ranks in calls.items()}


def _component(spans: List[Span], history: List[Dict[str, float]], name: str, unit_metric: str, unit: str,
               placed: Dict[str, Any], steps: List[int]) -> ComponentProfile:
    busy = _per_step(spans, name, PHASES[name], steps)
    units = [float(h.get(unit_metric, 0.0)) for h in history]
    total_units = sum(units)
    placed = placed[name]
    ranks = placed["ranks"]
    rank_busy = sum(sum(b.values()) for b in busy.values())
    per_unit = rank_busy / total_units if total_units else 0.0  # one rank's seconds per unit of its share
    peak = max((float(h.get(f"memory/{name}_peak_mb", 0.0)) for h in history), default=0.0)
    calls = [sum(1 for s in spans if s.component == name and s.what in PHASES[name] and s.step == st) for st in steps]
    return ComponentProfile(
        ranks=ranks, threads=placed["threads"], devices=placed["devices"], unit=unit, per_unit_s=per_unit,
        units_per_step=_median(units), seconds_per_step=_median([max(b.values(), default=0.0) for b in busy.values()]),
        peak_mb=peak, calls_per_step=max(1.0, _median([float(c) for c in calls])),
    )


def build_profile(spans: List[Span], history: List[Dict[str, Any]], placement: Any, max_staleness: int,
                  placement_text: str, warmup: int = 1, groups_per_part: int = 0) -> Optional[Profile]:
    """The profile of the training steps after ``warmup`` (None when no such step has metrics)."""
    rows = [h for h in history if int(h.get("step", 0)) > warmup and "time/step" in h]
    if not rows:
        return None
    steps = [int(h["step"]) for h in rows]
    placed = {
        name: {"ranks": len(placement.ranks(name)), "threads": placement.ranks(name)[0].num_threads,
               "devices": list(placement.components[name])}
        for name in PHASES
    }
    comps = {
        "rollout": _component(spans, rows, "rollout", "rollout/generated_tokens", "generated token", placed, steps),
        "reward": _component(spans, rows, "reward", "rollout/generated_responses", "response", placed, steps),
        "actor": _component(spans, rows, "actor", "train/tokens", "trained token", placed, steps),
    }
    comps["rollout"].fixed_share = _median([float(h[DECODE_SHARE]) for h in rows if DECODE_SHARE in h])
    offload = _median([sum(s.end - s.start for s in spans if s.step == st and s.what in ("offload", "onload"))
                       for st in steps])
    step_s, sync_s = _median([h["time/step"] for h in rows]), _median([h.get("time/sync", 0.0) for h in rows])
    reward_tail = _median([h.get("time/reward", 0.0) for h in rows])
    # Everything the phases' own spans do not cover: Ray dispatch, the driver's bookkeeping. Taken
    # from a synchronous run only, where the step is the sum of its parts.
    inside = comps["rollout"].seconds_per_step + reward_tail + comps["actor"].seconds_per_step + sync_s + offload
    return Profile(
        cpu=cpu_model(), placement=placement_text, max_staleness=max_staleness, steps=len(rows),
        step_s=step_s, sync_s=sync_s, offload_s=offload,
        driver_s=max(0.0, step_s - inside) if max_staleness == 0 and not groups_per_part else 0.0,
        reward_tail_s=reward_tail,
        response_length_mean=_median([h.get("rollout/response_length", 0.0) for h in rows]),
        response_length_max=max(h.get("rollout/response_length_max", 0.0) for h in rows),
        components=comps, groups_per_part=groups_per_part, device_type=placement.device_type,
    )


def write_profile(output_dir: str, history: List[Dict[str, Any]], placement: Any, max_staleness: int,
                  placement_text: str, groups_per_part: int = 0) -> Optional[str]:
    """Build the run's profile from its ``timeline.jsonl`` and write ``profile.json``; its path, or None."""
    from rlinf_core.flow.timeline import TIMELINE_FILE

    profile = build_profile(read_spans(os.path.join(output_dir, TIMELINE_FILE)), history, placement, max_staleness,
                            placement_text, warmup=1 if len([h for h in history if h.get("step", 0) > 0]) > 1 else 0,
                            groups_per_part=groups_per_part)
    if profile is None:
        return None
    path = os.path.join(output_dir, PROFILE_FILE)
    with atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(profile.to_json())
    return path
