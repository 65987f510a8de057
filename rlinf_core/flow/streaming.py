"""Streaming within a step (``runner.groups_per_part``): the actor trains parts as they arrive.

RLinf's pipelined mode (arXiv:2509.15965 §4) streams a step through its components: the
rollout emits prompt groups as they finish, the reward scores them and the actor computes
on micro-batches as they arrive, stepping the optimizer when the global batch is complete.
Here each rollout rank generates its prompts in parts of ``groups_per_part`` groups; every
part is scored as soon as it exists, and each actor rank trains its shard of it
(:meth:`TrainBackend.train_part`), gradients adding up until ``finish_streamed_step``.

Every call is made up front, with the previous component's results as Ray object references
in its arguments: each component's ranks run their calls in the order they were made as
soon as their inputs exist, so parts flow rollout -> reward -> actor without the driver
waiting on any of them (it only collects shapes and scores for metrics, and errors).

Exactness: the parts, their order and each part's shard over the actor ranks are fixed by
the config, so every placement does the same arithmetic, only at other times; with the actor
on devices of its own the calls go out while the rollout generates, otherwise after sampling
(and after the rollout has released its weights). Deviations from RLinf: the parts are whole
prompt groups (so advantages that look within a group are known per part), and the step makes
one update (RLinf's pipelined actor also makes one per global batch).
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

from rlinf_core.errors import ConfigError
from rlinf_core.flow.assembly import actor_shards
from rlinf_core.interfaces.algorithm import Algorithm
from rlinf_core.interfaces.train import TrainBackend


def part_sizes(prompts_per_rank: int, groups_per_part: int) -> List[int]:
    """Prompt groups in each part of one rollout rank (0 = one part: the rank's whole share)."""
    if groups_per_part <= 0 or groups_per_part >= prompts_per_rank:
        return [prompts_per_rank]
    full, rest = divmod(prompts_per_rank, groups_per_part)
    return [groups_per_part] * full + ([rest] if rest else [])


def part_shards(rows: int, world: int, seed: int, step: int, part: int) -> List[List[int]]:
    """Each actor rank's rows of one part: the step's one-minibatch shards, seeded per part."""
    return actor_shards(rows, rows, world, seed, step * 7_919 + part)


def check_streaming(cfg: Any, algorithm: Any, backend_cls: type, sizes: Any) -> None:
    """Refuse ``runner.groups_per_part`` where a step cannot be trained part by part, naming why."""
    groups = cfg.runner.groups_per_part
    if groups <= 0:
        return
    why = "`runner.groups_per_part`={} streams each step into the actor, which needs {}; set it to 0 or {}."
    name = type(algorithm).__name__
    if sizes.minibatches_per_step != 1:
        raise ConfigError(why.format(groups, "one update per step", (
            f"make `actor.global_batch_size` ({cfg.actor.global_batch_size}) the rollouts per step "
            f"({sizes.rollouts_per_step}) and `actor.num_epochs` 1")))
    if algorithm.max_generation_batches > 1:
        raise ConfigError(why.format(groups, "the step's prompts fixed in advance", "turn dynamic sampling off"))
    if not algorithm.advantages_per_group or algorithm.needs_token_advantages:
        raise ConfigError(why.format(groups, "advantages computed within each prompt group", (
            f"use settings under which {name} computes them per group (e.g. `algorithm.normalize_advantages` false)")))
    if any(getattr(type(algorithm), hook) is not getattr(Algorithm, hook) for hook in ("before_update", "after_update")):
        raise ConfigError(why.format(groups, "an algorithm without models of its own to train beside the policy", (
            f"use another algorithm than {name} (its before_update/after_update run on whole steps)")))
    if algorithm.loss_divides_by_num_tokens is None:
        raise ConfigError(why.format(groups, "an algorithm that says how its loss uses num_tokens", (
            f"declare {name}.loss_divides_by_num_tokens")))
    if getattr(backend_cls, "train_part", None) is TrainBackend.train_part:
        raise ConfigError(why.format(groups, "a train backend that trains streamed steps", (
            f"pick another `actor.backend` than {cfg.actor.backend!r}")))
    prompts_per_rank = sizes.prompts_per_step // sizes.rollout_ranks
    for size in sorted(set(part_sizes(prompts_per_rank, groups))):
        if (size * cfg.algorithm.group_size) % sizes.actor_ranks:
            raise ConfigError(why.format(groups, (
                f"every part's responses to split evenly over the {sizes.actor_ranks} actor ranks (a part of "
                f"{size} groups has {size * cfg.algorithm.group_size})"), "a size that makes them divide"))


class PartFeed:
    """A streamed step's calls to the actor ranks: begin, one ``train_part`` per part in batch
    order (arguments may be object references still being computed), then finish."""

    def __init__(self, actor: Any, recompute: bool, num_seqs: int, policy_version: int, seed: int, step: int):
        self.actor, self.policy_version, self.seed, self.step = actor, policy_version, seed, step
        self.calls: List[Any] = [actor.call("begin_streamed_step", recompute, num_seqs)]
        self.parts = 0

    def send(self, part: Any, rows: int, reward_results: Sequence[Any]) -> None:
        """Train on ``part`` (``rows`` responses) scored by ``reward_results`` (in row order)."""
        shards = part_shards(rows, self.actor.world_size, self.seed, self.step, self.parts)
        self.calls.append(self.actor.call_each(
            "train_part", [(self.policy_version, shard, part, *reward_results) for shard in shards]))
        self.parts += 1

    def finish(self) -> "_Finished":
        return _Finished(self.calls, self.actor.call("finish_streamed_step"))


class _Finished:
    """Waits for every call of a streamed step (raising the first failure) and returns the finish's results."""

    def __init__(self, calls: List[Any], finish: Any):
        self.calls, self.finish = calls, finish

    def wait(self, timeout: Optional[float] = None) -> List[Any]:
        for call in self.calls:
            call.wait(timeout)
        return self.finish.wait(timeout)
