"""The flow runner: one GRPO-style training loop over Ray worker groups.

Per step (as in RLinf's math reasoning flow, arXiv:2509.15965 §4): take prompts -> the
rollout group samples ``algorithm.group_size`` responses each -> the reward group scores
them -> the algorithm turns rewards into advantages -> each actor rank recomputes old
log-probs for its shard (or uses the rollout's with ``algorithm.recompute_logprobs:
false``) and runs the minibatch updates -> the new weights go to the rollout -> metrics.

Deviation from RLinf: the loop is synchronous and trajectories pass through the driver
once (rollout -> driver -> actor shards); RLinf streams them between groups through
channels to overlap stages. The Channel primitive is here for that; the pipelined flow is
future work.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional

import yaml

from rlinf_core.cluster.ray_cluster import cluster_cpus_per_node, ensure_ray, placement_for_cluster, release, reserve
from rlinf_core.cluster.worker import WorkerGroup
from rlinf_core.config.derived import DerivedSizes, derive_sizes
from rlinf_core.config.loader import section, to_container
from rlinf_core.data import Ragged, RolloutRequest, TrajectoryBatch
from rlinf_core.errors import ConfigError
from rlinf_core.flow.components import ActorWorker, RewardWorker, RolloutWorker
from rlinf_core.interfaces.reward import RewardResult
from rlinf_core.interfaces.task import Example
from rlinf_core.interfaces.train import TrainSetup
from rlinf_core.models import load_tokenizer
from rlinf_core.plugins import get_registry
from rlinf_core.trackers import build_trackers, flatten_params

PLUGIN_ENV_VARS = ("RLINF_PLUGINS", "RLINF_DISABLE_PLUGINS", "RLINF_PLUGIN_MODULES")


@dataclass
class RunResult:
    output_dir: str
    steps: int
    history: List[Dict[str, float]] = field(default_factory=list)
    run_id: Optional[str] = None
    final_checkpoint: Optional[str] = None


def prepare_output_dir(path: str) -> str:
    """Create ``runner.output_dir`` and prove it is writable before any work starts."""
    path = os.path.abspath(path)
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".rlinf-write-test")
        with open(probe, "w") as fh:
            fh.write("ok")
        os.remove(probe)
    except OSError as exc:
        raise ConfigError(f"`runner.output_dir`={path!r} is not writable: {exc.strerror}. Choose another directory.") from exc
    return path


def _chunks(items: List[Any], n: int) -> List[List[Any]]:
    size = len(items) // n
    return [items[i * size : (i + 1) * size] for i in range(n)]


def _epochs(task: Any, examples: List[Example], batch_size: int, seed: int, max_epochs: int) -> Iterator[List[Example]]:
    for epoch in range(max_epochs):
        yield from task.batches(examples, batch_size, seed, epoch)


def actor_shards(n: int, global_batch_size: int, world: int, seed: int, step: int) -> List[List[int]]:
    """Row indices for each actor rank: a seeded shuffle, cut so that minibatch m of every
    rank holds its slice of the same ``global_batch_size`` rows."""
    import torch

    gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
    perm = torch.randperm(n, generator=gen).tolist()
    per_rank = global_batch_size // world
    shards: List[List[int]] = [[] for _ in range(world)]
    for start in range(0, n, global_batch_size):
        mb = perm[start : start + global_batch_size]
        for r in range(world):
            shards[r].extend(mb[r * per_rank : (r + 1) * per_rank])
    return shards


def merge_rewards(results: List[RewardResult]) -> RewardResult:
    scores = [s for r in results for s in r.scores]
    keys = set().union(*(r.components for r in results)) if results else set()
    components = {k: [v for r in results for v in r.components.get(k, [])] for k in keys}
    metrics: Dict[str, float] = {}
    for r in results:
        for k, v in r.metrics.items():
            metrics[k] = metrics.get(k, 0.0) + float(v)
    return RewardResult(scores=scores, components=components, metrics=metrics)


def rollout_metrics(batch: TrajectoryBatch) -> Dict[str, float]:
    import torch

    lengths = batch.response_ids.lengths.float()
    rewards = batch.rewards
    out = {
        "rollout/rewards": float(rewards.mean()),
        "rollout/response_length": float(lengths.mean()),
        "rollout/response_length_max": float(lengths.max()),
        "rollout/truncated_fraction": float(batch.truncated.float().mean()),
    }
    if "correct" in batch.reward_components:
        out["rollout/accuracy"] = float(batch.reward_components["correct"].float().mean())
    groups = torch.unique(batch.group_ids)
    uniform = sum(int(torch.unique(rewards[batch.group_ids == g]).numel() == 1) for g in groups)
    out["rollout/uniform_reward_groups"] = float(uniform)
    return out


class Trainer:
    """Owns the worker groups of one run and executes its steps."""

    def __init__(self, cfg: Any):
        self.cfg = cfg
        self.registry = get_registry(cfg.plugins.modules)
        self.output_dir = prepare_output_dir(cfg.runner.output_dir)
        self.container = to_container(cfg)
        self.groups: Dict[str, WorkerGroup] = {}
        self.pg: Any = None

    # -- set-up -------------------------------------------------------------------------
    def setup(self) -> None:
        cfg = self.cfg
        if not cfg.data.train_data_paths:
            raise ConfigError("`data.train_data_paths` is empty: give at least one .jsonl or .parquet file.")
        tokenizer = load_tokenizer(cfg.rollout.model.model_path)
        task_cls = self.registry.get("tasks", cfg.data.task, field_name="data.task")
        self.task = task_cls(section(cfg, "data"), tokenizer)
        self.examples = self.task.load(list(cfg.data.train_data_paths))
        if len(self.examples) < cfg.data.rollout_batch_size:
            raise ConfigError(
                f"The training data has {len(self.examples)} usable prompts, fewer than one step's "
                f"`data.rollout_batch_size`={cfg.data.rollout_batch_size}."
            )
        self.algorithm = self.registry.get("algorithms", cfg.algorithm.name)(section(cfg, "algorithm"))

        ensure_ray(cfg.cluster.address, cfg.cluster.num_cpus_per_node, cfg.cluster.namespace)
        self.placement = placement_for_cluster(cfg.cluster, cluster_cpus_per_node())
        self.placement.require(["actor", "rollout", "reward"])
        self.sizes: DerivedSizes = derive_sizes(cfg, self.placement)
        self.pg = reserve(self.placement)
        env = {k: os.environ[k] for k in PLUGIN_ENV_VARS if k in os.environ}
        common = dict(args=(self.container,), placement=self.placement, placement_group=self.pg, env_vars=env)
        self.groups["rollout"] = WorkerGroup.launch(RolloutWorker, "rollout", **common)
        self.groups["reward"] = WorkerGroup.launch(RewardWorker, "reward", **common)
        self.groups["actor"] = WorkerGroup.launch(ActorWorker, "actor", **common)
        actor = self.groups["actor"]
        addr, port = actor.execute("rendezvous", ranks=[0])[0]
        setup = TrainSetup(
            seed=cfg.runner.seed,
            temperature=cfg.rollout.temperature,
            total_optimizer_steps=cfg.runner.max_steps * self.sizes.minibatches_per_step,
            keep_reference=self.algorithm.needs_ref_logprobs,
            dist_addr=addr,
            dist_port=port,
        )
        actor.execute("load", setup)

    # -- one step -----------------------------------------------------------------------
    def step(self, step: int, prompts: List[Example]) -> Dict[str, float]:
        import torch

        cfg = self.cfg
        times: Dict[str, float] = {}
        t0 = time.perf_counter()
        rollout = self.groups["rollout"]
        requests = []
        for r, chunk in enumerate(_chunks(prompts, rollout.world_size)):
            requests.append(
                (
                    RolloutRequest(
                        prompt_ids=Ragged.from_list([e.prompt_ids for e in chunk]),
                        prompt_uids=[e.uid for e in chunk],
                        answers=[e.answers for e in chunk],
                        group_size=cfg.algorithm.group_size,
                        step=step,
                        seed=cfg.runner.seed * 1_000_003 + step * 1_009 + r,
                    ),
                )
            )
        parts = rollout.call_each("generate", requests).wait()
        offset = 0
        for part, (req,) in zip(parts, requests):
            part.group_ids = part.group_ids + offset
            offset += len(req.prompt_uids)
        batch = TrajectoryBatch.cat(parts)
        t1 = time.perf_counter()
        times["time/rollout"] = t1 - t0

        reward = self.groups["reward"]
        texts = batch.response_texts or []
        if len(texts) != len(batch):
            raise RuntimeError(f"rollout backend '{cfg.rollout.backend}' did not decode response_texts")
        idx_chunks = _chunks(list(range(len(batch))), reward.world_size)
        results = reward.call_each(
            "score", [([texts[i] for i in c], [batch.answers[i] for i in c]) for c in idx_chunks]
        ).wait()
        merged = merge_rewards(results)
        batch.rewards = torch.tensor(merged.scores, dtype=torch.float32)
        batch.reward_components = {k: torch.tensor(v, dtype=torch.float32) for k, v in merged.components.items()}
        batch.advantages = self.algorithm.compute_advantages(batch).float()
        self.last_batch = batch  # kept for inspection (tests, debugging); replaced every step
        t2 = time.perf_counter()
        times["time/reward"] = t2 - t1

        actor = self.groups["actor"]
        shards = actor_shards(len(batch), cfg.actor.global_batch_size, actor.world_size, cfg.runner.seed, step)
        train_results = actor.call_each(
            "train_step",
            [(batch.select(s), self.sizes.minibatches_per_epoch, cfg.algorithm.recompute_logprobs) for s in shards],
        ).wait()
        t3 = time.perf_counter()
        times["time/train"] = t3 - t2

        weights = actor.call("state_dict_for_rollout")
        rollout.call("update_weights", weights.refs[0]).wait()
        weights.wait()
        t4 = time.perf_counter()
        times["time/sync"] = t4 - t3
        times["time/step"] = t4 - t0

        metrics = rollout_metrics(batch)
        metrics.update(merged.metrics)
        metrics.update(train_results[0])
        metrics.update(times)
        tokens = int(batch.response_ids.lengths.sum()) + int(batch.prompt_ids.lengths.sum())
        metrics["throughput/tokens_per_s"] = tokens / times["time/step"]
        metrics["throughput/response_tokens_per_s"] = int(batch.response_ids.lengths.sum()) / times["time/step"]
        for k, v in self.task.stats.items():
            metrics[f"data/{k}"] = float(v)
        return metrics

    def save(self, step: int) -> str:
        path = os.path.join(self.output_dir, "checkpoints", f"step_{step:06d}")
        self.groups["actor"].execute("save_checkpoint", path)
        return path

    def shutdown(self) -> None:
        if "reward" in self.groups:
            try:
                self.groups["reward"].execute("close", timeout=30)
            except Exception:  # the run's own error is what matters; workers are killed next
                pass
        for group in self.groups.values():
            group.shutdown()
        self.groups.clear()
        release(self.pg)
        self.pg = None


def prepare_assets(cfg: Any) -> bool:
    """Run the recipe's preparer (``runner.prepare``) if what it makes is missing; True if it ran."""
    if not cfg.runner.prepare:
        return False
    registry = get_registry(cfg.plugins.modules)
    preparer = registry.get("preparers", cfg.runner.prepare, field_name="runner.prepare")(cfg)
    if preparer.is_prepared():
        return False
    preparer.prepare()
    return True


def run_from_config(cfg: Any) -> RunResult:
    """Train as ``cfg`` says; returns the metric history and where things were written."""
    from rlinf_core.flow.plots import plot_curves
    from rlinf_core.flow.progress import StepProgress

    prepare_assets(cfg)
    trainer = Trainer(cfg)
    config_yaml = yaml.safe_dump(trainer.container, sort_keys=False)
    with open(os.path.join(trainer.output_dir, "config.yaml"), "w") as fh:
        fh.write(config_yaml)
    tracker = build_trackers(trainer.registry, cfg.tracking, trainer.output_dir)
    result = RunResult(output_dir=trainer.output_dir, steps=0)
    status = "FAILED"
    try:
        trainer.setup()
        run_name = cfg.tracking.run_name or time.strftime("grpo-%Y%m%d-%H%M%S")
        tracker.start(run_name, flatten_params(trainer.container), config_yaml)
        result.run_id = tracker.run_id
        batches = _epochs(trainer.task, trainer.examples, cfg.data.rollout_batch_size, cfg.runner.seed, cfg.runner.max_epochs)
        with StepProgress(cfg.runner.max_steps) as progress:
            for step in range(1, cfg.runner.max_steps + 1):
                prompts = next(batches, None)
                if prompts is None:
                    break  # runner.max_epochs passes over the data are done
                metrics = trainer.step(step, prompts)
                tracker.log_metrics(metrics, step)
                result.history.append({"step": step, **metrics})
                result.steps = step
                progress.update(step, metrics)
                if cfg.runner.save_interval and step % cfg.runner.save_interval == 0 and step < cfg.runner.max_steps:
                    trainer.save(step)
        result.final_checkpoint = trainer.save(result.steps)
        png = plot_curves(result.history, os.path.join(trainer.output_dir, "curves.png"))
        tracker.log_artifact(png)
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        trainer.shutdown()
        try:
            tracker.finish(status)
        except Exception as exc:
            if status == "FINISHED":
                raise
            # The run's own error is already propagating; do not let a tracker hide it.
            print(f"warning: trackers failed to close: {exc}", file=sys.stderr)
    for name, where in tracker.describe().items():
        print(f"{name}: {where}")
    print(f"final checkpoint: {result.final_checkpoint}")
    return result
