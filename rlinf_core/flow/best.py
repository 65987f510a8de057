"""Start, best and final validation of a run, which checkpoint is the best, and the end-of-run report.

The start is the same validation run at step 0, before any update, so "start -> best ->
final" compares like with like. ``runner.keep_best`` names the metric (``auto``: the first
validation metric, e.g. ``val/test/avg@1``); higher is better. The best checkpoint lives in
``<output_dir>/checkpoints/best/`` beside the ``step_*`` ones (pruning never touches it), with
``best.json`` saying which step and value it holds.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence

from rlinf_core.errors import ConfigError
from rlinf_core.evaluation.scores import ks_for

BEST_DIR = "best"
BEST_FILE = "best.json"


def validation_metric_names(val_paths: Sequence[str], samples: int) -> List[str]:
    """The ``val/<file>/avg@K`` and ``pass@k`` names validation will log, in the order it logs them."""
    names = []
    for path in val_paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        names.append(f"val/{stem}/avg@{samples}")
        names.extend(f"val/{stem}/pass@{k}" for k in ks_for(samples))
    return names


def resolve_keep_best(setting: Optional[str], val_paths: Sequence[str], samples: int) -> Optional[str]:
    """The metric ``runner.keep_best`` selects, None when off; a name validation never logs is an error."""
    if setting in (None, "", "none") or not val_paths:
        if setting not in (None, "", "none", "auto"):
            raise ConfigError(
                f"`runner.keep_best`={setting!r} needs validation data: set data.val_data_paths, or runner.keep_best=none."
            )
        return None
    names = validation_metric_names(val_paths, samples)
    if setting == "auto":
        return names[0]
    if setting not in names:
        raise ConfigError(f"`runner.keep_best`={setting!r} is not a validation metric of this run; choose one of {names}.")
    return setting


@dataclass
class Point:
    step: int
    value: float


@dataclass
class ValidationRecord:
    """The tracked metric at the start, at its best, and at the last validation."""

    metric: str
    start: Optional[Point] = None
    best: Optional[Point] = None
    final: Optional[Point] = None

    def observe(self, step: int, metrics: Dict[str, float]) -> bool:
        """Record one validation; True when it is a new best (strictly higher, or the first)."""
        if self.metric not in metrics:
            return False
        point = Point(step, float(metrics[self.metric]))
        if step == 0 and self.start is None:
            self.start = point
        self.final = point
        if self.best is None or point.value > self.best.value:
            self.best = point
            return True
        return False

    @classmethod
    def from_history(cls, metric: str, history: List[Dict[str, float]]) -> "ValidationRecord":
        """Rebuilt from a resumed run's metric history."""
        record = cls(metric)
        for row in history:
            record.observe(int(row["step"]), row)
        return record


def write_best_info(checkpoint: str, record: ValidationRecord) -> None:
    """``best.json`` inside the (not yet renamed) best checkpoint folder."""
    assert record.best is not None
    with open(os.path.join(checkpoint, BEST_FILE), "w") as fh:
        json.dump({"metric": record.metric, **asdict(record.best)}, fh)


def read_best_info(checkpoint_root: str) -> Optional[Dict[str, float]]:
    """What ``checkpoints/best/best.json`` says, or None when there is no best checkpoint."""
    path = os.path.join(checkpoint_root, BEST_DIR, BEST_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return json.load(fh)


def _points(value: float) -> str:
    return f"{100 * value:+.1f} points"


def summary_lines(record: Optional[ValidationRecord], outputs: Dict[str, str]) -> List[str]:
    """The end-of-run report: start -> best -> final of the tracked metric, then every output."""
    lines = []
    if record is not None and record.final is not None:
        s, b, f = record.start, record.best, record.final
        assert b is not None
        head = f"{record.metric}: "
        if s is not None:
            head += f"start {s.value:.4f} (step {s.step}) -> "
        head += f"best {b.value:.4f} (step {b.step}) -> final {f.value:.4f} (step {f.step})"
        lines.append(head)
        if s is not None:
            verdict = "improved" if f.value > s.value else ("unchanged" if f.value == s.value else "got WORSE")
            lines.append(f"  the model {verdict}: final vs start {_points(f.value - s.value)}, "
                         f"best vs start {_points(b.value - s.value)}")
    width = max((len(k) for k in outputs), default=0)
    lines.extend(f"{name.ljust(width)}  {where}" for name, where in outputs.items())
    return lines
