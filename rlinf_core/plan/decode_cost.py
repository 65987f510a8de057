"""How much of a rollout call's time would not shrink with fewer rows: the decode loop's fixed share.

A decode loop pays, per generated position, a cost that does not depend on how many rows are
still live (Python, operator dispatch, reading the weights) and a cost that grows with them.
On a CPU with a small model the first dominates: splitting a batch over two rollout ranks, or
into streamed parts, does not halve its time (measured on 2 cores, benchmarks/README,
"Planning"). The simulator (:mod:`rlinf_core.plan.simulate`) needs that share to predict such
splits from a profile of one whole-batch call.

An engine that can time its own steps records ``(live rows, seconds)`` per step in a
:class:`DecodeSteps`; :func:`fixed_share` fits ``seconds = a + b * rows`` by least squares and
returns ``a * steps / call seconds``. The rows vary within one call because finished rows
leave the batch, so one call is enough. Assumptions, stated: a step's cost is linear in its
live rows (attention over a longer context is not separated), and the prefill counts as
per-row work (it shrinks with the rows of a split).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import List, Optional

ENGINE_COST_KEY = "decode_fixed_share"  # the key in RolloutBackend.last_generate_costs()
METRIC = "time/rollout_decode_fixed_share"  # a timing: excluded where runs are compared bit for bit
MAX_POINTS = 200  # steps used per fit (Theil-Sen looks at every pair)


@dataclass
class DecodeSteps:
    """Per decode step of one call: its live rows and its seconds (see the module docstring)."""

    rows: List[int] = field(default_factory=list)
    seconds: List[float] = field(default_factory=list)
    _last: float = 0.0

    def start(self) -> None:
        self._last = time.perf_counter()

    def step(self, rows: int) -> None:
        """One step of ``rows`` live rows ended now (it began at the previous step's end or at :meth:`start`)."""
        now = time.perf_counter()
        self.rows.append(int(rows))
        self.seconds.append(now - self._last)
        self._last = now


def fixed_step_seconds(rows: List[int], seconds: List[float]) -> Optional[float]:
    """``a`` of the line ``seconds = a + b * rows``, fitted robustly (Theil-Sen: the median of the
    pairwise slopes, then the median intercept; one step stalled by another process moves it
    little, where least squares swung from -0.6 to 24 ms on the same decode), clipped to
    [0, min seconds]; None when the rows never changed (nothing to separate the parts by)."""
    n = len(rows)
    if n < 3 or len(seconds) != n:
        return None
    every = max(1, n // MAX_POINTS)  # pairs grow with n^2: thin long loops evenly
    pts = list(zip(rows[::every], seconds[::every]))
    slopes = [(s2 - s1) / (r2 - r1) for i, (r1, s1) in enumerate(pts) for r2, s2 in pts[i + 1 :] if r2 != r1]
    if not slopes:
        return None
    slope = statistics.median(slopes)
    intercept = statistics.median(s - slope * r for r, s in pts)
    return min(max(0.0, intercept), min(seconds))


def fixed_share(steps: List[DecodeSteps], call_seconds: float) -> Optional[float]:
    """The share of a call of ``call_seconds`` spent on per-step costs that do not depend on the
    live rows, over its decode loops (one per generation chunk); None when no loop could be fitted."""
    fixed, fitted = 0.0, False
    for loop in steps:
        a = fixed_step_seconds(loop.rows, loop.seconds)
        if a is not None:
            fixed += a * len(loop.rows)
            fitted = True
    if not fitted or call_seconds <= 0:
        return None
    return min(1.0, fixed / call_seconds)
