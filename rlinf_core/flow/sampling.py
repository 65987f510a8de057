"""The sampling phase of a step: prompts -> rollout ranks -> reward ranks -> a scored batch.

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
from typing import Any, Callable, Dict, List, Optional

from rlinf_core.data import Ragged, RolloutRequest, TrajectoryBatch
from rlinf_core.flow.metrics import merge_rewards, rollout_metrics
from rlinf_core.interfaces.task import Example


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
    """A scored batch ready for advantages, and what it took to get it."""

    batch: TrajectoryBatch
    metrics: Dict[str, float] = field(default_factory=dict)


def generate_and_score(groups: Dict[str, Any], prompts: List[Example], group_size: int, step: int, seed: int) -> SampledBatch:
    """One generation batch: rollout ranks sample ``group_size`` responses per prompt, reward
    ranks score each rank's responses as soon as that rank returns them, while the other
    rollout ranks are still generating. ``time/reward`` is the scoring time left after the
    last rollout rank finished (what the step waited for)."""
    import torch

    rollout, reward = groups["rollout"], groups["reward"]
    t0 = time.perf_counter()
    requests = []
    for r, chunk in enumerate(chunks(prompts, rollout.world_size)):
        requests.append((RolloutRequest(
            prompt_ids=Ragged.from_list([e.prompt_ids for e in chunk]),
            prompt_uids=[e.uid for e in chunk],
            answers=[e.answers for e in chunk],
            group_size=group_size,
            step=step,
            seed=seed + r,
        ),))
    parts: List[Any] = [None] * len(requests)
    scoring: List[List[Any]] = [[] for _ in requests]
    for r, part in rollout.call_each("generate", requests).as_completed():
        parts[r] = part
        scoring[r] = _score_part(reward, part, r)
    t1 = time.perf_counter()
    offset = 0
    for part, (req,) in zip(parts, requests):
        part.group_ids = part.group_ids + offset
        offset += len(req.prompt_uids)
    batch = TrajectoryBatch.cat(parts)
    merged = merge_rewards([res for futures in scoring for f in futures for res in f.wait()])
    batch.rewards = torch.tensor(merged.scores, dtype=torch.float32)
    batch.reward_components = {k: torch.tensor(v, dtype=torch.float32) for k, v in merged.components.items()}
    times = {"time/rollout": t1 - t0, "time/reward": time.perf_counter() - t1}
    return SampledBatch(batch=batch, metrics={**merged.metrics, **times})


def _score_part(reward: Any, part: TrajectoryBatch, rollout_rank: int) -> List[Any]:
    """Reward calls for one rollout rank's responses, spread over the reward ranks in row order."""
    texts = part.response_texts or []
    if len(texts) != len(part):
        raise RuntimeError(
            f"rollout rank {rollout_rank}: the rollout backend did not decode response_texts for every response"
        )
    return [
        reward.call("score", [texts[i] for i in c], [part.answers[i] for i in c], ranks=[r])
        for r, c in enumerate(chunks(list(range(len(part))), reward.world_size))
        if c
    ]


def _group_rows(batch: TrajectoryBatch) -> List[List[int]]:
    """Row indices of each group, in the order the groups first appear."""
    rows: Dict[int, List[int]] = {}
    for i, g in enumerate(batch.group_ids.tolist()):
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
) -> SampledBatch:
    """The step's scored batch of ``len(first_prompts)`` groups (see the module docstring)."""
    import torch

    wanted = len(first_prompts)
    budget = max(1, int(algorithm.max_generation_batches))
    kept: List[TrajectoryBatch] = []
    rejected: List[TrajectoryBatch] = []
    generated: List[TrajectoryBatch] = []
    reward_counts: Dict[str, float] = {}
    prompts: Optional[List[Example]] = first_prompts
    n_kept = 0
    while prompts is not None and len(generated) < budget:
        part = generate_and_score(groups, prompts, group_size, step, request_seed(run_seed, step, 0, len(generated)))
        generated.append(part.batch)
        for k, v in part.metrics.items():
            reward_counts[k] = reward_counts.get(k, 0.0) + float(v)
        if budget == 1:
            break
        for rows in _group_rows(part.batch):
            keep = bool(algorithm.keep_group(part.batch.rewards[rows]))
            (kept if keep else rejected).append(part.batch.select(rows))
            n_kept += int(keep)
        if n_kept >= wanted:
            break
        prompts = next_prompts()
    if budget == 1:
        batch = generated[0]
    else:
        chosen = (kept + rejected)[:wanted]
        for g, group in enumerate(chosen):
            group.group_ids = torch.full_like(group.group_ids, g)
        batch = TrajectoryBatch.cat(chosen)
    metrics = {**rollout_metrics(batch), **reward_counts}
    if budget > 1:
        metrics["rollout/generation_batches"] = float(len(generated))
        metrics["rollout/rejected_groups"] = float(len(rejected))
        metrics["rollout/dynamic_sampling_filled"] = float(max(0, wanted - n_kept))
        metrics["rollout/rewards_all_generated"] = float(TrajectoryBatch.cat(generated).rewards.mean())
    return SampledBatch(batch=batch, metrics=metrics)
