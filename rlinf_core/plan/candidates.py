"""Placements worth trying on one node of N devices, and their predicted step times.

Candidates (the reward always sits with the rollout, whose scoring it follows):

- collocated, one N-device rank per component (phases take turns on every device;
  the rollout offloads its weights while the actor trains);
- collocated, N one-device ranks per component (N-way DDP: rounding differs from one rank);
- disaggregated, the rollout on devices 0..k-1 and the actor on the rest, synchronous and
  with ``max_staleness: 1``;
- hybrid, the rollout on 0..k-1 and the actor on every device, with ``max_staleness: 1``;
- on several nodes: collocated across them, and whole nodes split between the rollout and
  the actor (cross-node communication is not modelled: see the simulator's assumptions);
- when the recipe can stream a step (``runner.groups_per_part``: one update per step, ...)
  and a streamed run's profile is at hand, the disaggregated splits streamed, on-policy.

Every candidate is parsed by the real placement parser, so its recipe lines are valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from rlinf_core.cluster.placement import parse_placement
from rlinf_core.flow.streaming import part_sizes
from rlinf_core.plan.simulate import CostModel, Layout, Prediction, predict


@dataclass(frozen=True)
class Candidate:
    label: str
    component_placement: str
    devices_per_rank: Tuple[Tuple[str, int], ...]
    max_staleness: int
    groups_per_part: int = 0  # > 0: streamed within the step

    def overrides(self) -> List[str]:
        """The command-line overrides that select this candidate."""
        per_rank = ", ".join(f"{k}: {v}" for k, v in self.devices_per_rank)
        return [f"cluster.component_placement='{self.component_placement}'",
                f"cluster.devices_per_rank={{{per_rank}}}", f"runner.max_staleness={self.max_staleness}",
                f"runner.groups_per_part={self.groups_per_part}"]


def _span(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}-{hi}"


def candidates(devices: int, stream_groups: int = 0, nodes: int = 1) -> List[Candidate]:
    """The candidates for ``nodes`` nodes of ``devices`` devices each (see the module docstring);
    with ``stream_groups`` > 0 the disaggregated splits are also tried streamed, in parts of that
    many groups."""
    if nodes > 1:
        return _multi_node(devices, stream_groups, nodes)
    n = devices
    out = [
        Candidate("collocated", "actor,rollout,reward: all", (("actor", n), ("rollout", n), ("reward", n)), 0),
    ]
    if n > 1:
        out.append(Candidate(f"collocated, {n} ranks each", "actor,rollout,reward: all",
                             (("actor", 1), ("rollout", 1), ("reward", 1)), 0))
    for k in range(1, n):
        split = f"rollout,reward: {_span(0, k - 1)}, actor: {_span(k, n - 1)}"
        sizes = (("actor", n - k), ("rollout", k), ("reward", k))
        out.extend(_split_modes(f"disaggregated {k}+{n - k}", split, sizes, stream_groups))
        out.append(Candidate(f"hybrid (rollout {k}, actor {n}), staleness 1",
                             f"rollout,reward: {_span(0, k - 1)}, actor: {_span(0, n - 1)}",
                             (("actor", n), ("rollout", k), ("reward", k)), 1))
    return out


def _split_modes(label: str, split: str, sizes: Tuple[Tuple[str, int], ...], stream_groups: int) -> List[Candidate]:
    """A disaggregated split synchronous, streamed (when the recipe can) and with staleness 1."""
    out = [Candidate(label, split, sizes, 0)]
    if stream_groups > 0:
        out.append(Candidate(f"{label}, streamed", split, sizes, 0, stream_groups))
    out.append(Candidate(f"{label}, staleness 1", split, sizes, 1))
    return out


def _multi_node(n: int, stream_groups: int, nodes: int) -> List[Candidate]:
    """Across nodes: collocated (one n-device rank, or n one-device ranks, per component and
    node) and whole nodes split between the rollout and the actor (one n-device rank per node)."""
    whole = (("actor", n), ("rollout", n), ("reward", n))
    out = [Candidate(f"collocated on {nodes} nodes", "actor,rollout,reward: all", whole, 0)]
    if n > 1:
        out.append(Candidate(f"collocated on {nodes} nodes, {n} ranks per node each", "actor,rollout,reward: all",
                             (("actor", 1), ("rollout", 1), ("reward", 1)), 0))
    total = n * nodes
    for j in range(1, nodes):
        split = f"rollout,reward: {_span(0, j * n - 1)}, actor: {_span(j * n, total - 1)}"
        out.extend(_split_modes(f"disaggregated {j}+{nodes - j} nodes", split, whole, stream_groups))
    return out


def layouts_of(candidate: Candidate, devices: int, nodes: int = 1) -> Dict[str, Layout]:
    placement = parse_placement(candidate.component_placement, num_nodes=nodes, cpus_per_node=devices,
                                devices_per_rank=dict(candidate.devices_per_rank))
    out = {}
    for name in ("rollout", "reward", "actor"):
        ranks = placement.ranks(name)
        out[name] = Layout(ranks=len(ranks), threads=ranks[0].num_threads, devices=tuple(placement.components[name]),
                           nodes=tuple(r.node for r in ranks))
    return out


def rank_candidates(model: CostModel, devices: int, prompts_per_step: int = 0, stream_groups: int = 0,
                    nodes: int = 1, stream_model: Optional[CostModel] = None) -> List[Tuple[Candidate, Prediction]]:
    """Every candidate with its prediction, fastest first. Streamed candidates (parts of
    ``stream_groups`` groups; their count per rollout rank follows from ``prompts_per_step``)
    are predicted from ``stream_model``, profiles of streamed runs, when given, else from
    ``model`` if its rollout measured its fixed share (a part's call costs more than its share
    of one call over the whole batch); without either they are left out."""
    scored = []
    can_stream = stream_model is not None or model.fixed_share > 0
    for cand in candidates(devices, stream_groups if can_stream else 0, nodes):
        lay = layouts_of(cand, devices, nodes)
        shares = bool(set(lay["rollout"].devices) & set(lay["actor"].devices))
        parts = len(part_sizes(prompts_per_step // lay["rollout"].ranks, cand.groups_per_part)) if prompts_per_step else 1
        costs = stream_model if cand.groups_per_part and stream_model is not None else model
        scored.append((cand, predict(costs, lay, cand.max_staleness, offload=shares and cand.max_staleness == 0,
                                     parts=parts)))
    return sorted(scored, key=lambda cp: cp[1].step_s)
