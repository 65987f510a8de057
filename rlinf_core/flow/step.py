"""One training step of the flow: sample (or take the batch sampled ahead), train, sync weights.

The graph (:mod:`rlinf_core.flow.graph`) is rollout -> reward -> actor for trajectories and
actor -> rollout for weights. Trajectories go worker to worker through Ray's object store:
the rollout ranks' parts are fetched by the reward ranks (to score) and by the actor ranks
(to train), never by the driver, which sends control messages (requests, the batch plan with
the rewards) and collects metrics (:mod:`rlinf_core.flow.sampling`,
:mod:`rlinf_core.flow.assembly`). Weights go from actor rank 0 to every rollout rank the same
way. How the phases overlap is the placement's business (docs/flow.md): on shared devices
they take turns; with ``runner.max_staleness`` >= 1 the next batch is sampled while the
actor trains (:mod:`rlinf_core.flow.pipeline`); with ``runner.groups_per_part`` the actor
trains each part of the batch as it is scored (:mod:`rlinf_core.flow.streaming`), while the
rollout generates the rest when they have devices of their own.

Components that share devices offload between phases (``runner.offload_between_phases``):
after sampling, the rollout releases its weights (and whatever else its backend can) while
the actor trains, and gets the trained weights back at the sync; the actor's ``offload`` runs
while the rollout generates. Every step logs each component's resident and peak memory
(``memory/<component>_rss_mb``, ``_peak_mb``: the largest rank).
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from rlinf_core.config.derived import DerivedSizes
from rlinf_core.errors import ConfigError
from rlinf_core.flow.assembly import actor_shards
from rlinf_core.flow.data_cursor import DataCursor
from rlinf_core.flow.pipeline import Prefetch
from rlinf_core.flow.sampling import SampledBatch, sample_step
from rlinf_core.flow.streaming import PartFeed
from rlinf_core.interfaces.task import Example


def offloads_between_phases(cfg: Any, placement: Any) -> bool:
    """``runner.offload_between_phases`` resolved: auto offloads when rollout and actor share a device."""
    choice = cfg.runner.offload_between_phases
    if choice == "on" and cfg.runner.max_staleness > 0:
        raise ConfigError(
            "`runner.offload_between_phases`=on needs `runner.max_staleness`=0: with staleness the rollout "
            "generates while the actor trains, so neither can release its memory. Use auto or off."
        )
    if choice == "auto":
        return cfg.runner.max_staleness == 0 and placement.share_devices("rollout", "actor")
    return choice == "on"


def flow_summary(cfg: Any, placement: Any) -> Dict[str, Any]:
    """How a step of this config runs (for ``rlinf config show``): its edges, overlap and offload."""
    from rlinf_core.flow.graph import MATH_GRPO

    return {
        "edges": MATH_GRPO.describe().splitlines(),
        "rollout overlaps training": cfg.runner.max_staleness > 0,
        "offload between phases": offloads_between_phases(cfg, placement),
        "streams parts into the actor": streams_while_sampling(cfg, placement),
    }


def streams_while_sampling(cfg: Any, placement: Any) -> bool:
    """Whether the actor trains a step's parts while the rollout generates the rest: streaming is
    on and the actor has devices of its own (on shared ones the parts go to it after sampling)."""
    return cfg.runner.groups_per_part > 0 and not placement.share_devices("rollout", "actor")


class FlowStep:
    """Runs steps over launched worker groups; keeps the weights version and the batch sampled ahead."""

    def __init__(self, cfg: Any, groups: Dict[str, Any], algorithm: Any, sizes: DerivedSizes, cursor: DataCursor,
                 offload: bool = False, stream_early: bool = False):
        self.cfg, self.groups, self.algorithm, self.sizes, self.cursor = cfg, groups, algorithm, sizes, cursor
        self.offload = offload
        self.streams = cfg.runner.groups_per_part > 0  # one update per step, trained part by part
        self.stream_early = stream_early and self.streams  # ... while the rollout still generates
        self.prefetch = Prefetch()
        self.weights_version = 0  # updates behind the rollout's weights (= the last synced step)
        self.last: Optional[SampledBatch] = None  # the last trained batch's references (for inspection)

    def run(self, step: int, prompts: Optional[List[Example]], prefetch_next: bool = False) -> Dict[str, float]:
        """Sample (or take the batch sampled ahead), train, sync weights; the step's metrics.
        With ``prefetch_next`` the next step's batch is sampled while the actor trains."""
        times: Dict[str, float] = {}
        t0 = time.perf_counter()
        sampled = self.prefetch.take(step)
        feed: Optional[PartFeed] = None
        if sampled is None:
            if prompts is None:
                raise ValueError(f"step {step}: no prompts given and no batch sampled ahead")
            feed = self._feed(step, len(prompts) * self.cfg.algorithm.group_size, 0) if self.stream_early else None
            sampled = self.sample(step, prompts, feed)
        self.last = sampled
        staleness = self.weights_version - sampled.policy_version
        t1 = time.perf_counter()
        if self.offload:
            self._swap(release="rollout", restore="actor")
        training = self._train(step, sampled, staleness, feed)
        if prefetch_next:
            self.prefetch.fill(step + 1, self.cursor, self.sample)
            times["time/prefetch"] = time.perf_counter() - t1
        train_results = training.wait()
        t2 = time.perf_counter()
        times["time/train"] = t2 - t1
        self._sync_weights(step)
        if self.offload:
            self._swap(release="actor", restore="rollout")
        t3 = time.perf_counter()
        times["time/sync"] = t3 - t2
        times["time/step"] = t3 - t0
        metrics = self._metrics(sampled, train_results[0], times, staleness)
        metrics.update(self._memory())
        return metrics

    def sample(self, step: int, prompts: List[Example], feed: Optional[PartFeed] = None) -> SampledBatch:
        """The step's scored batch (by reference), tagged with the weights version that sampled it;
        with ``feed``, each part also goes to the actor as soon as it is scored."""
        cfg = self.cfg
        sampled = sample_step(self.groups, self.algorithm, prompts, self.cursor.next, cfg.algorithm.group_size,
                              cfg.runner.seed, step, cfg.runner.groups_per_part, feed)
        sampled.policy_version = self.weights_version
        return sampled

    def _feed(self, step: int, num_seqs: int, staleness: int) -> PartFeed:
        """A streamed step's actor calls. Stale samples keep the rollout's log-probs as the behaviour policy."""
        recompute = self.cfg.algorithm.recompute_logprobs and staleness == 0
        return PartFeed(self.groups["actor"], recompute, num_seqs, self.weights_version - staleness,
                        self.cfg.runner.seed, step)

    def _train(self, step: int, sampled: SampledBatch, staleness: int, feed: Optional[PartFeed] = None) -> Any:
        """Start every actor rank on its shard; the ranks fetch the parts themselves. A streamed
        step whose parts did not go to the actor while sampling gets them now, the same calls."""
        if self.streams:
            if feed is None:
                feed = self._feed(step, len(sampled), staleness)
                sampled.feed(feed)
            return feed.finish()
        recompute = self.cfg.algorithm.recompute_logprobs and staleness == 0
        actor = self.groups["actor"]
        shards = actor_shards(len(sampled), self.cfg.actor.global_batch_size, actor.world_size, self.cfg.runner.seed, step)
        minibatches = self.sizes.minibatches_per_epoch
        return actor.call_each("train_on", [(sampled.plan(s), minibatches, recompute, *sampled.parts) for s in shards])

    def _swap(self, release: str, restore: str) -> None:
        """One component offloads while the other onloads (both at once: they are independent)."""
        released = self.groups[release].call("offload")
        self.groups[restore].call("onload").wait()
        released.wait()

    def _memory(self) -> Dict[str, float]:
        """Each component's largest resident and peak memory over its ranks, in MB."""
        futures = {name: group.call("memory") for name, group in self.groups.items()}
        out: Dict[str, float] = {}
        for name, future in futures.items():
            ranks = future.wait()
            out[f"memory/{name}_rss_mb"] = max(m["rss"] for m in ranks) / 2**20
            out[f"memory/{name}_peak_mb"] = max(m["peak"] for m in ranks) / 2**20
        return out

    def _sync_weights(self, step: int) -> None:
        """Actor rank 0's full weights into every rollout rank, straight through the object store."""
        weights = self.groups["actor"].call("state_dict_for_rollout")
        self.groups["rollout"].call("update_weights", weights.refs[0]).wait()
        weights.wait()
        self.weights_version = step

    def _metrics(self, sampled: SampledBatch, train: Dict[str, float], times: Dict[str, float], staleness: int) -> Dict[str, float]:
        shape = sampled.scored.shape
        metrics = dict(sampled.metrics)
        metrics.update(train)
        metrics.update(times)
        metrics["rollout/staleness_mean"] = float(staleness)  # every row of a batch has one version
        metrics["rollout/staleness_max"] = float(staleness)
        response_tokens = int(shape.response_lengths.sum())
        metrics["throughput/tokens_per_s"] = (response_tokens + int(shape.prompt_lengths.sum())) / times["time/step"]
        metrics["throughput/response_tokens_per_s"] = response_tokens / times["time/step"]
        return metrics
