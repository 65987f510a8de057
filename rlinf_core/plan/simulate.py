"""A step simulator: predicted step time of a placement from measured cost profiles.

A small event model of one steady-state step of the flow (:mod:`rlinf_core.flow.step`):

- **Phase durations.** rollout: one whole-batch call costs generated tokens x seconds per
  token; a call of a k-th of the batch (over R ranks, or in P streamed parts) costs
  ``f + (1 - f) / k`` of it, f the share of a call that does not shrink with its rows, as the
  engine measured it (:mod:`rlinf_core.plan.decode_cost`; 0 when it did not, which makes
  splits too cheap on CPU); so a rank's step is ``whole x (P f + (1 - f) / R)``. Actor =
  trained tokens x seconds per token / actor ranks; the reward's tail, the weight sync,
  offload/onload and the driver's own share are taken as measured.
- **Threads.** A rank's seconds per unit scale with its thread count as measured: given
  profiles at two or more thread counts, between the nearest two in log-log (a power law,
  fitted per component); given one, by ``(t0 / t) ** alpha`` with ``alpha``
  (:data:`DEFAULT_ALPHA`), an assumption the output names.
- **Overlap.** ``max_staleness: 0``: the phases run one after another, unless the step is
  streamed (``runner.groups_per_part``) and the rollout and the actor have devices of their
  own: then a two-stage pipeline over P equal parts per rollout rank,
  ``r + (P - 1) max(r, a) + a`` with r and a the rollout's (with scoring) and the actor's
  time per part.
  ``max_staleness >= 1``: the next batch's rollout (and scoring) overlaps this step's
  training.
- **Co-running.** Two computations on different cores of one node share its memory system: a
  rank runs slower while another computes beside it than alone. The factor per component is
  measured by a profiled run that overlaps them (``max_staleness: 1``, rollout and actor on
  devices of their own) against the solo runs, and charged whenever a phase runs beside
  another: overlapped phases, a streamed pipeline's parts but its first generation and last
  training (without such a profile: 1, with a note). Components that share a device then
  share its time: every thread on a device gets ``1 / (threads on it)``; a rank runs at the
  pace of its slowest thread. When one overlapping phase ends, the other continues at full speed.
- **A component's own ranks on CPU cores.** k ranks of t threads on one node's cores do their
  share of the batch as fast as one rank of k x t threads does the whole of it: the cores'
  shared memory system slows ranks as it slows threads, and the thread scaling is measured.
  Measured on 2 cores (small workload): two DDP actor ranks of one thread took 8.52 s, one rank
  of two threads 7.50 s (an ideal split of the one-thread time: 5.66 s); two rollout ranks 6.22 s
  and 6.07 s. On GPUs, ranks on devices of their own split the work evenly (co-run factor
  charged). Chosen after this miss had been seen; ``benchmarks/README.md`` ("Planning") has the
  check on a run of another seed.

- **Memory.** A node holds its ranks' profiled peak resident memory (each component's largest
  in any profile) at once; a candidate whose fullest node is over a node's memory does not fit. Resident
  memory counts shared libraries in every process, so this errs on the safe side.

Assumptions (stated, not measured): DDP communication and Ray scheduling costs are inside the
measured driver and sync shares (on CPU, DDP's all-reduce is what ranks still lose against
threads: the actor's 8.52 s against 7.50 s above); a phase's cost is linear in its work; one
co-run factor per component whatever runs beside it; threads oversubscribing a device share its time fairly (PyTorch's spinning
thread pools do worse: the hybrid candidate runs slower than predicted). The at-scale figures in docs use the
same model with an assumed cost table instead of a measured profile.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from rlinf_core.plan.profile import ComponentProfile, Profile

DEFAULT_ALPHA = 0.8  # assumed thread-scaling exponent when only one thread count was profiled


@dataclass(frozen=True)
class Layout:
    """One component's placement in a candidate: ranks, threads per rank, the devices it uses."""

    ranks: int
    threads: int
    devices: Tuple[int, ...]
    nodes: Tuple[int, ...] = ()  # the node of each rank (empty: all on one node)


@dataclass
class Prediction:
    step_s: float
    phases: Dict[str, float]  # each phase's duration at its own placement, before overlap
    bottleneck: str
    notes: List[str] = field(default_factory=list)
    memory_mb: float = 0.0  # the fullest node's ranks' profiled peaks, summed: what a node must hold


class CostModel:
    """Seconds per unit of work on one rank, per component, as a function of its threads."""

    def __init__(self, profiles: Sequence[Profile], alpha: float = DEFAULT_ALPHA):
        if not profiles:
            raise ValueError("the simulator needs at least one profile")
        self.profiles = list(profiles)
        self.alpha = alpha
        self.notes: List[str] = []
        # Per-unit costs come from runs whose phases ran alone (synchronous, unstreamed); the
        # overlapped runs give the co-run factors.
        solo = [p for p in self.profiles if _solo(p)] or self.profiles
        self.points: Dict[str, List[Tuple[int, float]]] = {}
        for name in ("rollout", "reward", "actor"):
            by_threads: Dict[int, List[float]] = {}
            for p in solo:
                c: Optional[ComponentProfile] = p.components.get(name)
                if c is not None and c.per_unit_s > 0:
                    by_threads.setdefault(c.threads, []).append(c.per_unit_s / _split_factor(c))
            self.points[name] = sorted((t, sum(v) / len(v)) for t, v in by_threads.items())
            if len(self.points[name]) == 1:
                self.notes.append(f"{name}: profiled at one thread count; other counts scale by (t0/t)^{alpha} (assumed)")
        # From the solo runs too: beside another computation the per-row work slows and the
        # fitted share drops (small workload: 0.17 overlapped, 0.29-0.33 alone).
        shares = [p.components["rollout"].fixed_share for p in solo
                  if "rollout" in p.components and p.components["rollout"].fixed_share > 0]
        self.fixed_share = sum(shares) / len(shares) if shares else 0.0
        if not shares:
            self.notes.append("rollout: its engine did not time its decode steps; a batch split over ranks or "
                              "parts is predicted to cost its share of one call (too fast on CPU)")
        self.co_run = {name: self._co_run_factor(name) for name in ("rollout", "actor")}
        self.on_cores = all(p.device_type == "cpu" for p in self.profiles)

    def cores_as_threads(self, lay: "Layout") -> Tuple[int, int]:
        """(ranks on the fullest node, the threads one rank would need for all of theirs) when
        ranks on CPU cores are charged as threads (see the module docstring); (1, t) otherwise."""
        per_node = max(Counter(lay.nodes).values()) if lay.nodes else lay.ranks
        if not self.on_cores or per_node <= 1:
            return 1, lay.threads
        return per_node, per_node * lay.threads

    def actor_seconds(self, lay: "Layout") -> float:
        """One actor rank's seconds per step: its share of the trained tokens."""
        k, threads = self.cores_as_threads(lay)
        return self.work("actor") * self.per_unit("actor", threads) * k / lay.ranks

    def _co_run_factor(self, name: str) -> float:
        """How much slower ``name``'s rank ran while another component computed on the node's other
        devices than alone (>= 1): measured per unit in overlapped runs (``max_staleness`` >= 1,
        rollout and actor on devices of their own) against the solo cost at the same threads; 1,
        with a note, without such a run. Averaged over the phase, part of which may run alone."""
        ratios = []
        for p in self.profiles:
            c = p.components.get(name)
            if _solo(p) or c is None or c.per_unit_s <= 0 or not _separate(p):
                continue
            solo = self.per_unit(name, c.threads)
            if solo > 0:
                ratios.append(c.per_unit_s / _split_factor(c) / solo)
        if not ratios:
            if name == "actor":
                self.notes.append("no overlapped run profiled: phases that share the node's memory with another "
                                  "busy core are charged nothing for it (too fast on CPU)")
            return 1.0
        return max(1.0, sum(ratios) / len(ratios))

    def rollout_seconds(self, lay: "Layout", parts: int = 1) -> float:
        """One rollout rank's seconds per step, ``parts`` calls of its share of the batch: a call
        of a k-th of the batch costs ``f + (1 - f) / k`` of one whole-batch call (f: the fixed share);
        ranks sharing a node's cores count as one rank of all their threads."""
        k, threads = self.cores_as_threads(lay)  # k > 1: a node's k ranks do their rows as one rank would
        whole = self.work("rollout") * self.per_unit("rollout", threads)
        f = self.fixed_share
        return whole * (parts * f + (1 - f) * k / lay.ranks)

    def per_unit(self, name: str, threads: int) -> float:
        pts = self.points.get(name) or []
        if not pts:
            return 0.0
        if len(pts) == 1:
            t0, s0 = pts[0]
            return s0 * (t0 / threads) ** self.alpha
        # The pair of profiled thread counts around ``threads`` (the nearest pair outside them).
        i = next((i for i in range(1, len(pts) - 1) if threads <= pts[i][0]), len(pts) - 1)
        (t1, s1), (t2, s2) = pts[i - 1], pts[i]
        return s1 * (threads / t1) ** (math.log(s2 / s1) / math.log(t2 / t1))

    def mean(self, attr: str, only_synchronous: bool = False, only_nonzero: bool = False) -> float:
        """``attr`` averaged over the profiles (those of synchronous runs, or those where it was measured)."""
        values = [getattr(p, attr) for p in self.profiles if not only_synchronous or p.max_staleness == 0]
        values = [v for v in values if v > 0] if only_nonzero else values
        return sum(values) / len(values) if values else 0.0

    def peak_mb(self, name: str) -> float:
        """The largest peak resident memory one rank of ``name`` reached in any profile."""
        return max((p.components[name].peak_mb for p in self.profiles if name in p.components), default=0.0)

    def work(self, name: str) -> float:
        return sum(p.components[name].units_per_step for p in self.profiles) / len(self.profiles)


def _solo(p: Profile) -> bool:
    """A run whose phases took turns: its costs are each phase's alone."""
    return p.max_staleness == 0 and not p.groups_per_part


def _separate(p: Profile) -> bool:
    r, a = p.components.get("rollout"), p.components.get("actor")
    return r is not None and a is not None and not set(r.devices) & set(a.devices)


def _split_factor(c: ComponentProfile) -> float:
    """The profiled run's rank-busy time over one whole-batch call's: its ``calls_per_step``
    calls each paid the fixed share again (1 without a fixed share)."""
    return c.calls_per_step * c.fixed_share + 1 - c.fixed_share


def _device_slowdown(layouts: Dict[str, Layout], active: Sequence[str]) -> Dict[str, float]:
    """Per active component: how much slower its phase runs while ``active`` all run than alone
    (>= 1): every device's time is split between the threads on it, and a rank keeps the pace
    of its slowest thread."""

    def per_device(lay: Layout) -> float:
        return lay.ranks * lay.threads / max(1, len(lay.devices))

    load: Dict[int, float] = {}
    for name in active:
        for d in layouts[name].devices:
            load[d] = load.get(d, 0.0) + per_device(layouts[name])
    return {
        name: max(max(1.0, load[d]) / max(1.0, per_device(layouts[name])) for d in layouts[name].devices)
        for name in active
    }


def _overlap(a: float, b: float, slow_a: float, slow_b: float) -> float:
    """Wall time of two phases of ``a`` and ``b`` seconds started together, each slowed by its
    factor while both run and at full speed once the other is done."""
    if a <= 0 or b <= 0:
        return max(a, b)
    end_a, end_b = a * slow_a, b * slow_b
    if end_a <= end_b:
        return end_a + (b - end_a / slow_b)
    return end_b + (a - end_b / slow_a)


def pipeline_end(arrivals: Sequence[float], works: Sequence[float]) -> float:
    """When a consumer that takes items in arrival order is done: item i arrives at
    ``arrivals[i]`` and takes ``works[i]`` seconds (equal parts give ``r + (P - 1) max(r, a) + a``)."""
    done = 0.0
    for arrive, work in sorted(zip(arrivals, works)):
        done = max(done, arrive) + work
    return done


def predict(model: CostModel, layouts: Dict[str, Layout], max_staleness: int, offload: bool, parts: int = 1) -> Prediction:
    """The predicted steady-state step time of one candidate placement (see the module docstring);
    ``parts``: the parts each rollout rank streams into the actor (``runner.groups_per_part``)."""
    rollout = model.rollout_seconds(layouts["rollout"], parts)
    train = model.actor_seconds(layouts["actor"])
    reward = model.mean("reward_tail_s")
    sync, driver = model.mean("sync_s"), model.mean("driver_s", only_synchronous=True)
    offload_s = model.mean("offload_s", only_nonzero=True) if offload else 0.0
    phases = {"rollout": rollout, "reward": reward, "actor": train, "sync": sync, "driver": driver}
    separate = not set(layouts["rollout"].devices) & set(layouts["actor"].devices)
    if max_staleness == 0 and parts > 1 and separate:
        # A two-stage pipeline over equal parts: the actor trains part i while the rollout
        # generates part i + 1; the slower stage sets the pace.
        # Co-running is charged where the stages overlap: the first part's generation and the
        # last part's training run alone.
        per_rollout, per_train = (rollout + reward) / parts, train / parts
        gen = [per_rollout * (1.0 if i == 0 else model.co_run["rollout"]) for i in range(parts)]
        arrivals = [sum(gen[: i + 1]) for i in range(parts)]
        works = [per_train * (model.co_run["actor"] if i < parts - 1 else 1.0) for i in range(parts)]
        step = pipeline_end(arrivals, works) + sync + driver
        bottleneck = "actor" if per_train >= per_rollout else "rollout"
    elif max_staleness == 0:
        # A component's ranks on devices of their own (GPUs) compute at once: each pays the co-run
        # factor. On CPU cores their sharing is in the thread scaling already.
        if not model.on_cores:
            rollout *= model.co_run["rollout"] if layouts["rollout"].ranks > 1 else 1.0
            train *= model.co_run["actor"] if layouts["actor"].ranks > 1 else 1.0
        step = rollout + reward + train + sync + driver + offload_s
        bottleneck = max(("rollout", "actor"), key=lambda k: phases[k])
    else:
        slow = _device_slowdown(layouts, ["rollout", "actor"])
        slow = {k: v * model.co_run[k] for k, v in slow.items()}
        step = _overlap(rollout + reward, train, slow["rollout"], slow["actor"]) + sync + driver
        bottleneck = "actor" if train * slow["actor"] >= (rollout + reward) * slow["rollout"] else "rollout"
    per_node: Dict[int, float] = {}
    for name in ("rollout", "reward", "actor"):
        for node in layouts[name].nodes or (0,) * layouts[name].ranks:
            per_node[node] = per_node.get(node, 0.0) + model.peak_mb(name)
    memory = max(per_node.values(), default=0.0)
    return Prediction(step_s=step, phases=phases, bottleneck=bottleneck, notes=list(model.notes), memory_mb=memory)
