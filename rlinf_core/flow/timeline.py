"""What each component and rank did when: ``timeline.jsonl``, ``timeline.png`` and busy fractions.

Every call a rank runs is a span (its :class:`rlinf_core.cluster.worker.WorkerGroup` host
records method, start and end in wall-clock seconds). After each step the loop drains the
spans of every group, appends them to ``<output_dir>/timeline.jsonl`` (one JSON object per
span: component, rank, what, start, end, step) and logs each component's busy fraction over
the step (``timeline/busy_<component>``: the time its ranks spent in calls, overlaps within a
rank merged, divided by the step's wall time and the number of ranks). At the end of the run
``timeline.png`` draws the last steps with one lane per component and rank, as RLinf's
pipelining figures do (Yu et al. 2025, arXiv:2509.15965, Fig. 3), so what ran in parallel and
what waited is visible.

Deviations: the clock is each process's ``time.time()``: exact on one machine, but across the
nodes of a Ray cluster only as good as their clock synchronisation. The driver's own work
(advantages, logging) is not a lane.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple

TIMELINE_FILE = "timeline.jsonl"
TIMELINE_PLOT = "timeline.png"


@dataclass(frozen=True)
class Span:
    """One call a rank ran."""

    component: str
    rank: int
    what: str
    start: float
    end: float
    step: int


def busy_seconds(intervals: Iterable[Tuple[float, float]], lo: float, hi: float) -> float:
    """Length of the union of ``intervals`` clipped to ``[lo, hi]``."""
    total, reach = 0.0, lo
    for start, end in sorted((max(s, lo), min(e, hi)) for s, e in intervals):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def busy_fractions(spans: List[Span], world_sizes: Dict[str, int], lo: float, hi: float) -> Dict[str, float]:
    """Per component: busy time of its ranks within ``[lo, hi]`` over (wall time x ranks)."""
    window = hi - lo
    out: Dict[str, float] = {}
    for component, world in world_sizes.items():
        if window <= 0 or world <= 0:
            continue
        busy = sum(
            busy_seconds([(s.start, s.end) for s in spans if s.component == component and s.rank == rank], lo, hi)
            for rank in range(world)
        )
        out[component] = busy / (window * world)
    return out


class Timeline:
    """Collects the spans of a run's worker groups step by step (see the module docstring)."""

    def __init__(self, output_dir: str, groups: Dict[str, Any]):
        self.path = os.path.join(output_dir, TIMELINE_FILE)
        self.plot_path = os.path.join(output_dir, TIMELINE_PLOT)
        self.groups = groups

    def collect(self, step: int, lo: float, hi: float) -> Dict[str, float]:
        """Drain every group's spans, tag them with ``step``, append them to the file and
        return ``timeline/busy_<component>`` over ``[lo, hi]``."""
        spans: List[Span] = []
        for component, group in self.groups.items():
            for rank, calls in enumerate(group.drain_spans()):
                spans.extend(Span(component, rank, what, start, end, step) for what, start, end in calls)
        spans.sort(key=lambda s: (s.start, s.component, s.rank))
        with open(self.path, "a", encoding="utf-8") as fh:
            for span in spans:
                fh.write(json.dumps(asdict(span)) + "\n")
        worlds = {name: group.world_size for name, group in self.groups.items()}
        return {f"timeline/busy_{k}": v for k, v in busy_fractions(spans, worlds, lo, hi).items()}

    def plot(self, last_steps: int = 3) -> Optional[str]:
        """``timeline.png`` of the last ``last_steps`` steps; None when there is nothing to draw."""
        spans = read_spans(self.path)
        if not spans:
            return None
        return plot_timeline(spans, self.plot_path, last_steps)


def read_spans(path: str) -> List[Span]:
    """The spans of a ``timeline.jsonl`` (an absent file has none)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as fh:
        return [Span(**json.loads(line)) for line in fh if line.strip()]


_COLOURS = {"generate_part": "tab:blue", "score_part": "tab:orange", "train_on": "tab:green",
            "generate": "tab:cyan", "score": "tab:olive",  # validation
            "update_weights": "tab:purple", "state_dict_for_rollout": "tab:purple"}


def plot_timeline(spans: List[Span], path: str, last_steps: int = 3) -> str:
    """One lane per component and rank; each call a bar coloured by what it was."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = sorted({s.step for s in spans if s.step > 0}) or sorted({s.step for s in spans})
    shown = set(steps[-last_steps:])
    chosen = [s for s in spans if s.step in shown and s.what not in ("ping", "memory")]
    origin = min(s.start for s in chosen)
    lanes = sorted({(s.component, s.rank) for s in chosen})
    fig, ax = plt.subplots(figsize=(12, 0.6 * len(lanes) + 1.6))
    seen: Dict[str, Any] = {}
    for y, (component, rank) in enumerate(lanes):
        for s in (x for x in chosen if (x.component, x.rank) == (component, rank)):
            colour = _COLOURS.get(s.what, "tab:gray")
            bar = ax.broken_barh([(s.start - origin, max(s.end - s.start, 1e-3))], (y - 0.35, 0.7), color=colour)
            seen.setdefault(s.what if s.what in _COLOURS else "other", bar)
    for step in sorted(shown):
        first = min(s.start for s in chosen if s.step == step) - origin
        ax.axvline(first, color="black", linestyle=":", linewidth=0.8)
        ax.text(first, len(lanes) - 0.45, f" step {step}", fontsize=8, va="bottom")
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels([f"{c} {r}" for c, r in lanes])
    ax.set_ylim(-0.6, len(lanes) - 0.1)
    ax.set_xlabel(f"seconds (steps {min(shown)}-{max(shown)}; a step includes its validation and checkpoint)")
    ax.legend(seen.values(), seen.keys(), loc="lower center", bbox_to_anchor=(0.5, 1.02), fontsize=8, ncol=len(seen),
              frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
