"""The flow runner: one GRPO-style training loop over Ray worker groups.

Per step (as in RLinf's math reasoning flow, arXiv:2509.15965 §4): take prompts -> the
rollout group samples ``algorithm.group_size`` responses each -> the reward group scores
them -> the algorithm turns rewards into advantages -> each actor rank recomputes old
log-probs for its shard (or uses the rollout's with ``algorithm.recompute_logprobs:
false``) and runs the minibatch updates -> the new weights go to the rollout -> metrics.

Around the loop: inputs are validated before anything is written; checkpoints are atomic
(:mod:`rlinf_core.checkpoint`) and resumed exactly (``runner.resume``); SIGINT/SIGTERM stop
at the end of the step with a checkpoint; steps whose every update was skipped for
non-finite values are counted and stop the run after ``runner.max_consecutive_bad_steps``.

Deviation from RLinf: the loop is synchronous and trajectories pass through the driver
once (rollout -> driver -> actor shards); RLinf streams them between groups through
channels to overlap stages. The Channel primitive is here for that; the pipelined flow is
future work.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import yaml

from rlinf_core import checkpoint as ckpt
from rlinf_core.cluster.ray_cluster import check_fits, cluster_cpus_per_node, ensure_ray, placement_for_cluster, release, reserve
from rlinf_core.cluster.worker import WorkerGroup
from rlinf_core.config.derived import DerivedSizes, derive_sizes
from rlinf_core.config.loader import section, to_container
from rlinf_core.data import Ragged, RolloutRequest, SamplingParams, TrajectoryBatch
from rlinf_core.errors import ConfigError
from rlinf_core.evaluation.evaluator import EvalSettings, example_items, per_problem, run_items
from rlinf_core.evaluation.scores import summarize
from rlinf_core.flow.components import ActorWorker, RewardWorker, RolloutWorker
from rlinf_core.flow.data_cursor import DataCursor
from rlinf_core.flow.metrics import merge_rewards, rollout_metrics
from rlinf_core.interfaces.task import Example
from rlinf_core.interfaces.tracker import ResumeInfo
from rlinf_core.interfaces.train import TrainSetup
from rlinf_core.models import load_tokenizer
from rlinf_core.plugins import get_registry
from rlinf_core.trackers import build_trackers, flatten_params

PLUGIN_ENV_VARS = ("RLINF_PLUGINS", "RLINF_DISABLE_PLUGINS", "RLINF_PLUGIN_MODULES")


class TrainingDiverged(RuntimeError):
    """Too many consecutive steps without a single finite update."""


@dataclass
class RunResult:
    output_dir: str
    steps: int
    history: List[Dict[str, float]] = field(default_factory=list)
    run_id: Optional[str] = None
    final_checkpoint: Optional[str] = None
    stopped_by_signal: Optional[str] = None
    validation: Dict[str, float] = field(default_factory=dict)


def prepare_output_dir(path: str) -> str:
    """Create ``runner.output_dir`` and prove it is writable."""
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


def _check_output_dir_writable(path: str) -> None:
    """Fail before any work if ``runner.output_dir`` could not be created or written (creates nothing)."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe) or not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"`runner.output_dir`={path!r} is not writable ({probe!r} is not a writable folder).")


def _chunks(items: List[Any], n: int) -> List[List[Any]]:
    """``items`` cut into ``n`` consecutive chunks whose sizes differ by at most one (none lost)."""
    q, r = divmod(len(items), n)
    out, start = [], 0
    for i in range(n):
        end = start + q + (1 if i < r else 0)
        out.append(items[start:end])
        start = end
    return out


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


def _driver_rng_state() -> Dict[str, Any]:
    import numpy as np
    import torch

    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def _set_driver_rng_state(state: Dict[str, Any]) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


class Trainer:
    """Owns the worker groups of one run and executes its steps."""

    def __init__(self, cfg: Any):
        self.cfg = cfg
        self.registry = get_registry(cfg.plugins.modules)
        self.output_dir = os.path.abspath(cfg.runner.output_dir)
        self.checkpoint_root = os.path.join(self.output_dir, "checkpoints")
        self.container = to_container(cfg)
        self.groups: Dict[str, WorkerGroup] = {}
        self.pg: Any = None
        self.step_count = 0
        self.history: List[Dict[str, float]] = []
        self.resumed_from: Optional[str] = None
        self.run_id: Optional[str] = None

    # -- set-up -------------------------------------------------------------------------
    def validate(self) -> None:
        """Check every input (model, tokenizer, data, output dir, placement) without writing anything."""
        cfg = self.cfg
        if not cfg.data.train_data_paths:
            raise ConfigError("`data.train_data_paths` is empty: give at least one .jsonl or .parquet file.")
        _check_output_dir_writable(cfg.runner.output_dir)
        tokenizer = load_tokenizer(cfg.rollout.model.model_path)
        if cfg.actor.model.model_path != cfg.rollout.model.model_path:
            load_tokenizer(cfg.actor.model.model_path, "actor.model.model_path")
        task_cls = self.registry.get("tasks", cfg.data.task, field_name="data.task")
        self.task = task_cls(section(cfg, "data"), tokenizer)
        self.examples = self.task.load(list(cfg.data.train_data_paths))
        if len(self.examples) < cfg.data.rollout_batch_size:
            raise ConfigError(
                f"The training data has {len(self.examples)} usable prompts, fewer than one step's "
                f"`data.rollout_batch_size`={cfg.data.rollout_batch_size}."
            )
        self.cursor = DataCursor(self.task, self.examples, cfg.data.rollout_batch_size, cfg.runner.seed, cfg.runner.max_epochs)
        self.val_sets = [
            (os.path.splitext(os.path.basename(path))[0], self.task.load([path])) for path in cfg.data.val_data_paths
        ]
        self.algorithm = self.registry.get("algorithms", cfg.algorithm.name)(section(cfg, "algorithm"))
        # An embedded Ray gets the machine's real CPUs, so a recipe asking for more fails clearly.
        ensure_ray(cfg.cluster.address, None, cfg.cluster.namespace)
        self.placement = placement_for_cluster(cfg.cluster, cluster_cpus_per_node())
        self.placement.require(["actor", "rollout", "reward"])
        check_fits(self.placement)
        self.sizes: DerivedSizes = derive_sizes(cfg, self.placement)
        self.resumed_from = ckpt.resolve_resume(cfg.runner.resume, self.checkpoint_root)

    def restore_driver_state(self) -> Dict[str, Any]:
        """Load the driver's part of the resumed checkpoint (step, data position, RNG, history)."""
        import torch

        assert self.resumed_from is not None
        with open(os.path.join(self.resumed_from, "runner.json")) as fh:
            state = json.load(fh)
        self.step_count = int(state["step"])
        self.cursor.load_state_dict(state["data"])
        self.history = state.get("history", [])
        self.run_id = state.get("tracker_run_id")
        _set_driver_rng_state(torch.load(os.path.join(self.resumed_from, "driver_rng.pt"), weights_only=False))
        return state

    def launch(self) -> None:
        cfg = self.cfg
        container = self.container
        if self.resumed_from is not None:
            # Both sides start from the checkpoint's weights; the actor also restores its state.
            weights = os.path.join(self.resumed_from, "actor")
            container = json.loads(json.dumps(container))
            container["rollout"]["model"]["model_path"] = weights
            container["actor"]["model"]["model_path"] = weights
        self.pg = reserve(self.placement)
        env = {k: os.environ[k] for k in PLUGIN_ENV_VARS if k in os.environ}
        common = dict(args=(container,), placement=self.placement, placement_group=self.pg, env_vars=env)
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
        if self.resumed_from is not None:
            actor.execute("load_state", os.path.join(self.resumed_from, "actor_state"))

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
        futures = [
            reward.call("score", [texts[i] for i in c], [batch.answers[i] for i in c], ranks=[r])
            for r, c in enumerate(_chunks(list(range(len(batch))), reward.world_size))
            if c
        ]
        results = [res for f in futures for res in f.wait()]
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

    # -- validation ---------------------------------------------------------------------
    def _generate(self, prompt_ids: List[List[int]], sampling: SamplingParams, seed: int) -> List[str]:
        """Texts for ``prompt_ids`` (one sample each), spread over the rollout ranks."""
        rollout = self.groups["rollout"]
        futures = []
        for r, chunk in enumerate(_chunks(prompt_ids, rollout.world_size)):
            if chunk:
                uids = [str(i) for i in range(len(chunk))]
                request = RolloutRequest(Ragged.from_list(chunk), uids, [[""]] * len(chunk), 1, seed=seed + r, sampling=sampling)
                futures.append(rollout.call("generate", request, ranks=[r]))
        return [text for f in futures for part in f.wait() for text in (part.response_texts or [])]

    def _score(self, texts: List[str], golds: List[List[str]]) -> List[bool]:
        from rlinf_core.evaluation.local import verdicts_from

        result = self.groups["reward"].execute("score", texts, golds, ranks=[0])[0]
        return verdicts_from(result, self.cfg.reward.name)

    def evaluate(self) -> Dict[str, float]:
        """``val/<file>/avg@K`` and ``val/<file>/pass@k`` on each validation file, through the run's workers."""
        cfg = self.cfg
        settings = EvalSettings(
            samples=cfg.runner.val_samples, temperature=cfg.runner.val_temperature, top_p=cfg.runner.val_top_p,
            top_k=cfg.rollout.top_k, max_new_tokens=cfg.rollout.max_new_tokens, seed=cfg.runner.seed,
        )
        metrics: Dict[str, float] = {}
        start = time.perf_counter()
        for name, examples in self.val_sets:
            items = example_items(examples, settings.samples)
            _, verdicts = run_items(items, settings, self._generate, self._score)
            for key, value in summarize(per_problem(items, verdicts, len(examples), settings.samples)).items():
                metrics[f"val/{name}/{key}"] = value
        metrics["time/validation"] = time.perf_counter() - start
        return metrics

    # -- checkpoints --------------------------------------------------------------------
    def save(self, step: int) -> str:
        """An atomic, checksummed checkpoint of everything needed to continue exactly."""
        import torch

        final = ckpt.step_dir(self.checkpoint_root, step)
        tmp = final + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            os.makedirs(tmp)
            actor = self.groups["actor"]
            actor.execute("save_checkpoint", os.path.join(tmp, "actor"))
            actor.execute("save_state", os.path.join(tmp, "actor_state"))
            state = {
                "step": step,
                "data": self.cursor.state_dict(),
                "tracker_run_id": self.run_id,
                "history": self.history,
                "seed": self.cfg.runner.seed,
            }
            with open(os.path.join(tmp, "runner.json"), "w") as fh:
                json.dump(state, fh)
            torch.save(_driver_rng_state(), os.path.join(tmp, "driver_rng.pt"))
            ckpt.write_manifest(tmp, step)
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # never leave a partial checkpoint behind
            raise
        ckpt.prune(self.checkpoint_root, self.cfg.runner.keep_last)
        return final

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


class _StopFlag:
    """SIGINT/SIGTERM ask the loop to stop at the end of the current step; a second SIGINT aborts."""

    def __init__(self) -> None:
        self.signal_name: Optional[str] = None
        self._previous: Dict[int, Any] = {}

    def __enter__(self) -> "_StopFlag":
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signal_name is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name
        print(f"\n[rlinf] {self.signal_name}: stopping after this step and saving a checkpoint "
              f"(press Ctrl-C again to abort without saving)", file=sys.stderr, flush=True)

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def run_from_config(cfg: Any) -> RunResult:
    """Train as ``cfg`` says; returns the metric history and where things were written."""
    from rlinf_core.flow.plots import plot_curves
    from rlinf_core.flow.progress import StepProgress

    prepare_assets(cfg)
    trainer = Trainer(cfg)
    trainer.validate()
    result = RunResult(output_dir=trainer.output_dir, steps=0)
    resume_state = trainer.restore_driver_state() if trainer.resumed_from else None
    if resume_state is not None and trainer.step_count >= cfg.runner.max_steps:
        print(f"{trainer.output_dir} already holds a finished run (step {trainer.step_count}/{cfg.runner.max_steps}). "
              f"Raise runner.max_steps to continue it, or train afresh with another runner.output_dir or runner.resume=none.")
        result.steps, result.final_checkpoint = trainer.step_count, trainer.resumed_from
        return result

    prepare_output_dir(trainer.output_dir)
    ckpt.clean_partial(trainer.checkpoint_root)
    config_yaml = yaml.safe_dump(trainer.container, sort_keys=False)
    with open(os.path.join(trainer.output_dir, "config.yaml"), "w") as fh:
        fh.write(config_yaml)
    tracker = build_trackers(trainer.registry, cfg.tracking, trainer.output_dir)
    status = "FAILED"
    bad_steps = 0
    evaluated_at = -1
    try:
        trainer.launch()
        run_name = cfg.tracking.run_name or time.strftime("grpo-%Y%m%d-%H%M%S")
        resume = ResumeInfo(run_id=trainer.run_id, step=trainer.step_count) if resume_state is not None else None
        tracker.start(run_name, flatten_params(trainer.container), config_yaml, resume=resume)
        trainer.run_id = result.run_id = tracker.run_id
        if resume is not None:
            print(f"[rlinf] resumed from {trainer.resumed_from} at step {trainer.step_count}", file=sys.stderr)
        result.history = trainer.history
        with _StopFlag() as stop, StepProgress(cfg.runner.max_steps, start_step=trainer.step_count) as progress:
            while trainer.step_count < cfg.runner.max_steps and stop.signal_name is None:
                prompts = trainer.cursor.next()
                if prompts is None:
                    break  # runner.max_epochs passes over the data are done
                step = trainer.step_count + 1
                metrics = trainer.step(step, prompts)
                trainer.step_count = step
                last = step == cfg.runner.max_steps or stop.signal_name is not None
                if trainer.val_sets and (last or (cfg.runner.val_interval and step % cfg.runner.val_interval == 0)):
                    result.validation = trainer.evaluate()
                    metrics.update(result.validation)
                    evaluated_at = step
                tracker.log_metrics(metrics, step)
                trainer.history.append({"step": step, **metrics})
                progress.update(step, metrics)
                bad = metrics.get("train/skipped_updates", 0) > 0 and metrics.get("train/optimizer_steps", 1) == 0
                bad_steps = bad_steps + 1 if bad else 0
                if bad_steps >= cfg.runner.max_consecutive_bad_steps:
                    raise TrainingDiverged(
                        f"{bad_steps} consecutive steps had no finite update (NaN or Inf in the loss or gradients; "
                        f"see train/skipped_updates). Last complete checkpoint: "
                        f"{ckpt.latest_valid(trainer.checkpoint_root) or 'none'}. Lower actor.optim.lr or check the reward."
                    )
                if cfg.runner.save_interval and step % cfg.runner.save_interval == 0 and step < cfg.runner.max_steps:
                    trainer.save(step)
            result.steps = trainer.step_count
            result.stopped_by_signal = stop.signal_name
        if trainer.val_sets and trainer.step_count > 0 and evaluated_at != trainer.step_count:
            result.validation = trainer.evaluate()  # the data ran out before max_steps: evaluate the end too
            tracker.log_metrics(result.validation, trainer.step_count)
        if result.validation:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in result.validation.items() if not k.startswith("time/"))
            print(f"final validation: {shown}")
        if trainer.step_count > 0:
            result.final_checkpoint = trainer.save(trainer.step_count)
        if trainer.history:
            tracker.log_artifact(plot_curves(trainer.history, os.path.join(trainer.output_dir, "curves.png")))
        status = "KILLED" if result.stopped_by_signal else "FINISHED"
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
    if result.stopped_by_signal:
        print(f"Stopped on {result.stopped_by_signal} at step {result.steps}. Resume with the same command "
              f"(runner.resume=auto continues from {result.final_checkpoint}).")
    return result
