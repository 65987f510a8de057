"""The sampling phase of a step: prompts -> rollout ranks -> reward ranks -> a scored batch.

The responses never pass through the driver: each rollout call returns its part to the
object store and only the part's shape (lengths, group ids) to the driver; the reward calls,
made at the same time with the part's reference, fetch it themselves as soon as it exists
and return scores. A rank's share is one part, or several with ``runner.groups_per_part``
(each part then also goes to the actor as it is scored: :mod:`rlinf_core.flow.streaming`). The driver ends up with a :class:`SampledBatch`
of part references plus a few numbers per response, which is what the actor ranks need to
fetch and assemble the batch themselves (:mod:`rlinf_core.flow.assembly`).

With dynamic sampling (DAPO, Yu et al. 2025, arXiv:2503.14476 §3.2; the algorithm says so
through ``Algorithm.max_generation_batches`` and ``Algorithm.keep_group``), groups the
algorithm rejects (e.g. all samples scored the same, so their advantages are zero) are
dropped and further prompt batches are drawn from the data until ``rollout_batch_size``
groups are kept or ``max_generation_batches`` batches were generated.

Deviation from DAPO/verl: when the budget runs out before the batch is full, verl stops
with an error; here the batch is completed with rejected groups, in the order they were
generated, and the shortfall is logged (``rollout/dynamic_sampling_filled``). Rejected
groups have zero advantage, so they add no gradient; they keep the batch's size (and with
it the minibatch split) fixed. Every generation batch has its own sampling seed, fixed by
(run seed, step, batch index, rank), so a step is reproducible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from rlinf_core.data import BatchPlan, Ragged, RolloutRequest, ScoredRows
from rlinf_core.flow.assembly import group_numbers
from rlinf_core.flow.metrics import merge_rewards, rollout_metrics, scored_tensors
from rlinf_core.flow.streaming import part_sizes
from rlinf_core.interfaces.task import Example
from rlinf_core.plan.decode_cost import ENGINE_COST_KEY, METRIC as DECODE_SHARE_METRIC


def chunks(items: List[Any], n: int) -> List[List[Any]]:
    """``items`` cut into ``n`` consecutive chunks whose sizes differ by at most one (none lost)."""
    q, r = divmod(len(items), n)
    out, start = [], 0
    for i in range(n):
        end = start + q + (1 if i < r else 0)
        out.append(items[start:end])
        start = end
    return out


def request_seed(run_seed: int, step: int, rank: int, generation: int = 0) -> int:
    """The sampling seed of one rollout request; generation 0 keeps the seeds of plain GRPO runs."""
    return run_seed * 1_000_003 + step * 1_009 + rank + generation * 7_919_993


@dataclass
class SampledBatch:
    """A step's scored batch as the driver holds it: references to the rollout parts (the
    responses stay in the object store) and to each part's reward results, what the driver
    knows of the kept rows, and which rows of which parts make the batch."""

    parts: List[Any]  # ObjectRefs of the rollout parts (TrajectoryBatch), in batch order
    pieces: List[Tuple[int, List[int]]]  # (part index, rows), in batch order
    scored: ScoredRows  # the batch's rows, in batch order
    metrics: Dict[str, float] = field(default_factory=dict)
    policy_version: int = 0  # updates behind the weights that sampled it
    part_rewards: List[List[Any]] = field(default_factory=list)  # per part, its reward results' ObjectRefs
    fed: bool = False  # whether its parts already went to the actor as they were scored (streaming)

    def __len__(self) -> int:
        return len(self.scored)

    def plan(self, shard: Optional[List[int]] = None) -> BatchPlan:
        """What an actor rank needs, besides the parts, to assemble the batch (or its ``shard``)."""
        return BatchPlan(list(self.pieces), self.scored.rewards, dict(self.scored.reward_components),
                         self.policy_version, shard)

    def feed(self, feed: Any) -> None:
        """Send every part to a streamed step's actor calls (:class:`~rlinf_core.flow.streaming.PartFeed`)."""
        for part, rewards, (_, rows) in zip(self.parts, self.part_rewards, self.pieces):
            feed.send(part, len(rows), rewards)
        self.fed = True


@dataclass
class _Generated:
    """One generation batch: part references, each part's reward result references, the
    driver's view of each part, and the batch's timings and reward counters."""

    parts: List[Any]
    part_rewards: List[List[Any]]
    scored: List[ScoredRows]
    counters: Dict[str, float]


def rollout_calls(prompts: List[Example], world: int, groups_per_part: int, group_size: int, step: int,
                  seed: int) -> List[Tuple[int, RolloutRequest]]:
    """The generation batch's rollout calls in batch order: rank r gets the r-th share of the
    prompts, in parts of ``groups_per_part`` prompts (0: one part), each with its own seed."""
    calls = []
    for r, share in enumerate(chunks(prompts, world)):
        start = 0
        for k, size in enumerate(part_sizes(len(share), groups_per_part) if share else []):
            part = share[start : start + size]
            start += size
            calls.append((r, RolloutRequest(
                prompt_ids=Ragged.from_list([e.prompt_ids for e in part]),
                prompt_uids=[e.uid for e in part],
                answers=[e.answers for e in part],
                group_size=group_size,
                step=step,
                seed=seed + r + k * 104_729,  # part 0 keeps the one-part seeds
            )))
    return calls


def generate_and_score(groups: Dict[str, Any], prompts: List[Example], group_size: int, step: int, seed: int,
                       groups_per_part: int = 0, feed: Optional[Any] = None) -> _Generated:
    """One generation batch. Every call is made at once: the rollout ranks' parts, the reward
    calls that score each part (they run as soon as it exists, while later parts generate)
    and, with ``feed``, the actor's training on each part. The driver receives only shapes
    and scores. ``time/reward`` is the scoring time left after the last part was generated."""
    rollout, reward = groups["rollout"], groups["reward"]
    t0 = time.perf_counter()
    calls = rollout_calls(prompts, rollout.world_size, groups_per_part, group_size, step, seed)
    parts, shapes = rollout.call_split("generate_part", [(r, (request,)) for r, request in calls])
    scoring: List[List[Any]] = []
    for part, (_, request) in zip(parts, calls):
        rows = len(request.prompt_uids) * group_size
        scoring.append([reward.call("score_part", part, share, ranks=[k])
                        for k, share in enumerate(chunks(list(range(rows)), reward.world_size)) if share])
        if feed is not None:
            feed.send(part, rows, [f.refs[0] for f in scoring[-1]])
    part_shapes = shapes.wait()
    t1 = time.perf_counter()
    scored, counters = [], {}
    for shape, futures in zip(part_shapes, scoring):
        merged = merge_rewards([res for f in futures for res in f.wait()])
        rewards, components = scored_tensors(merged)
        scored.append(ScoredRows(shape, rewards, components))
        for k, v in merged.metrics.items():
            counters[k] = counters.get(k, 0.0) + v
    counters.update({"time/rollout": t1 - t0, "time/reward": time.perf_counter() - t1})
    return _Generated(parts=parts, part_rewards=[[f.refs[0] for f in fs] for fs in scoring], scored=scored,
                      counters=counters)


def _group_rows(group_ids: Any) -> List[List[int]]:
    """Row indices of each group, in the order the groups first appear."""
    rows: Dict[int, List[int]] = {}
    for i, g in enumerate(group_ids.tolist()):
        rows.setdefault(int(g), []).append(i)
    return list(rows.values())


def sample_step(
    groups: Dict[str, Any],
    algorithm: Any,
    first_prompts: List[Example],
    next_prompts: Callable[[], Optional[List[Example]]],
    group_size: int,
    run_seed: int,
    step: int,
    groups_per_part: int = 0,
    feed: Optional[Any] = None,
) -> SampledBatch:
    """The step's scored batch of ``len(first_prompts)`` groups (see the module docstring).
    With ``feed`` (a streamed step; no dynamic sampling) each part goes to the actor as it is scored."""
    wanted = len(first_prompts)
    budget = max(1, int(algorithm.max_generation_batches))
    if feed is not None and budget > 1:
        raise ValueError("a streamed step cannot use dynamic sampling: its prompts must be fixed in advance")
    parts: List[Any] = []
    part_rewards: List[List[Any]] = []
    scored: List[ScoredRows] = []
    kept: List[Tuple[int, List[int]]] = []
    rejected: List[Tuple[int, List[int]]] = []
    counters: Dict[str, float] = {}
    prompts: Optional[List[Example]] = first_prompts
    generations = 0
    while prompts is not None and generations < budget:
        gen = generate_and_score(groups, prompts, group_size, step, request_seed(run_seed, step, 0, generations),
                                 groups_per_part, feed)
        generations += 1
        for k, v in gen.counters.items():
            counters[k] = counters.get(k, 0.0) + float(v)
        parts.extend(gen.parts)
        part_rewards.extend(gen.part_rewards)
        scored.extend(gen.scored)
        if budget == 1:
            break
        for p in range(len(parts) - len(gen.parts), len(parts)):
            for rows in _group_rows(scored[p].shape.group_ids):
                keep = bool(algorithm.keep_group(scored[p].rewards[rows]))
                (kept if keep else rejected).append((p, rows))
        if len(kept) >= wanted:
            break
        prompts = next_prompts()
    if budget == 1:
        pieces = [(p, list(range(len(rows_scored)))) for p, rows_scored in enumerate(scored)]
    else:
        pieces = (kept + rejected)[:wanted]
    batch_rows = ScoredRows.cat([scored[p].select(rows) for p, rows in pieces])
    batch_rows.shape.group_ids = group_numbers([(p, g) for p, rows in pieces for g in scored[p].shape.group_ids[rows].tolist()])
    metrics = {**rollout_metrics(batch_rows), **counters, **_generated_metrics(batch_rows, scored)}
    if budget > 1:
        metrics["rollout/generation_batches"] = float(generations)
        metrics["rollout/rejected_groups"] = float(len(rejected))
        metrics["rollout/dynamic_sampling_filled"] = float(max(0, wanted - len(kept)))
        metrics["rollout/rewards_all_generated"] = float(ScoredRows.cat(scored).rewards.mean())
    return SampledBatch(parts=parts, pieces=pieces, scored=batch_rows, metrics=metrics, part_rewards=part_rewards,
                        fed=feed is not None)


def _generated_metrics(batch_rows: ScoredRows, scored: List[ScoredRows]) -> Dict[str, float]:
    """What the rollout and reward worked on (rejected groups included) and the tokens the actor trains on."""
    generated = ScoredRows.cat(scored)
    metrics = {
        "rollout/generated_responses": float(len(generated)),
        "rollout/generated_tokens": float(generated.shape.response_lengths.sum()),
        "train/tokens": float(batch_rows.shape.response_lengths.sum() + batch_rows.shape.prompt_lengths.sum()),
    }
    shares = [p.shape.engine_costs[ENGINE_COST_KEY] for p in scored if ENGINE_COST_KEY in p.shape.engine_costs]
    if shares:  # the mean over the calls of engines that time their decode steps (the planner's input)
        metrics[DECODE_SHARE_METRIC] = sum(shares) / len(shares)
    return metrics
