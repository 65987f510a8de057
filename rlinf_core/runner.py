"""The trainer: sets up one run's worker groups, checkpoints them, and tears them down.

It validates every input without writing anything or starting Ray (:meth:`Trainer.validate`),
launches one worker group per component of the flow graph (:mod:`rlinf_core.flow.graph`)
onto the placement, and saves and restores checkpoints atomically and exactly
(:mod:`rlinf_core.checkpoint`, ``runner.resume``). What happens in a step (RLinf's math
flow, arXiv:2509.15965 §4: sample, score, advantages, train, sync weights, with trajectories
going worker to worker) is :mod:`rlinf_core.flow.step`; validation is
:mod:`rlinf_core.flow.validation`; the run around the steps (step-0 validation, best
checkpoint, signals, the report) is :mod:`rlinf_core.flow.loop`.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from rlinf_core import checkpoint as ckpt
from rlinf_core.cluster.ray_cluster import (
    check_fits_locally,
    cluster_cpus_per_node,
    ensure_ray,
    placement_for_cluster,
    release,
    reserve,
)
from rlinf_core.cluster.node_loss import layout_lines
from rlinf_core.cluster.worker import WorkerGroup
from rlinf_core.config.derived import DerivedSizes, derive_sizes
from rlinf_core.config.loader import section, to_container
from rlinf_core.data import TrajectoryBatch
from rlinf_core.errors import ConfigError
from rlinf_core.files import atomic_folder
from rlinf_core.flow.data_cursor import DataCursor
from rlinf_core.flow.graph import MATH_GRPO
from rlinf_core.flow.best import BEST_DIR, ValidationRecord, resolve_keep_best, write_best_info
from rlinf_core.flow.assembly import assemble
from rlinf_core.flow.pipeline import Prefetch
from rlinf_core.flow.step import FlowStep, offloads_between_phases, streams_while_sampling
from rlinf_core.flow.streaming import check_streaming
from rlinf_core.flow.validation import WorkerValidation
from rlinf_core.interfaces.task import Example
from rlinf_core.interfaces.train import TrainSetup
from rlinf_core.models import load_tokenizer
from rlinf_core.plan.fit import check_memory, estimate_memory
from rlinf_core.plugins import get_registry
from rlinf_core.rng import restore_rng_state, rng_state

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
        self.graph = MATH_GRPO
        self.flow: Optional[FlowStep] = None  # the step over the groups, built by validate()

    # -- set-up -------------------------------------------------------------------------
    def validate(self) -> None:
        """Check every input (model, tokenizer, data, output dir, placement) without writing anything."""
        cfg = self.cfg
        if not cfg.data.train_data_paths:
            raise ConfigError("`data.train_data_paths` is empty: give at least one .jsonl or .parquet file.")
        _check_output_dir_writable(cfg.runner.output_dir)
        tokenizer = load_tokenizer(cfg.rollout.model.model_path)
        rollout_cls = self.registry.get("rollout_backends", cfg.rollout.backend, field_name="rollout.backend")
        rollout_cls.check_config(section(cfg, "rollout"))
        actor_cls = self.registry.get("train_backends", cfg.actor.backend, field_name="actor.backend")
        actor_cls.check_config(section(cfg, "actor"))
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
        self.best_metric = resolve_keep_best(cfg.runner.keep_best, cfg.data.val_data_paths, cfg.runner.val_samples)
        self.placement = self._placement()
        self.placement.require(list(self.graph.names))
        actor_cls.check_placement(section(cfg, "actor"), len(self.placement.ranks("actor")), self.placement.device_type,
                                  self.placement.devices_per_rank.get("actor", 1))
        self.sizes: DerivedSizes = derive_sizes(cfg, self.placement)
        check_memory(estimate_memory(cfg, self.placement, self.registry))
        self.resumed_from = ckpt.resolve_resume(cfg.runner.resume, self.checkpoint_root)
        check_streaming(cfg, self.algorithm, actor_cls, self.sizes)
        self.flow = FlowStep(cfg, self.groups, self.algorithm, self.sizes, self.cursor,
                             offload=offloads_between_phases(cfg, self.placement),
                             stream_early=streams_while_sampling(cfg, self.placement))

    def _placement(self) -> Any:
        """The placement, checked against what the run will get. Starts no Ray: an embedded Ray
        (``cluster.address: null``) gets this machine, so it is checked against this machine; only
        a cluster address without ``cluster.num_cpus_per_node`` needs asking the cluster (joining it)."""
        cluster = self.cfg.cluster
        if cluster.address is None:
            placement = placement_for_cluster(cluster)
            check_fits_locally(placement)
            return placement
        if cluster.num_cpus_per_node:
            return placement_for_cluster(cluster)
        ensure_ray(cluster.address, None, cluster.namespace)
        return placement_for_cluster(cluster, cluster_cpus_per_node())

    def restore_driver_state(self) -> Dict[str, Any]:
        """Load the driver's part of the resumed checkpoint (step, data position, RNG, history)."""
        import torch

        assert self.resumed_from is not None
        with open(os.path.join(self.resumed_from, "runner.json")) as fh:
            state = json.load(fh)
        self.step_count = int(state["step"])
        self.flow.weights_version = self.step_count
        self.cursor.load_state_dict(state["data"])
        self.history = state.get("history", [])
        self.run_id = state.get("tracker_run_id")
        restore_rng_state(torch.load(os.path.join(self.resumed_from, "driver_rng.pt"), weights_only=False))
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
        ensure_ray(cfg.cluster.address, None, cfg.cluster.namespace)
        self.pg = reserve(self.placement)  # checks the placement against what Ray has
        env = {k: os.environ[k] for k in PLUGIN_ENV_VARS if k in os.environ}
        common = dict(args=(container,), placement=self.placement, placement_group=self.pg, env_vars=env)
        # Every component's ranks start at once, so their imports and model loads overlap.
        for component in self.graph.components:
            self.groups[component.name] = WorkerGroup.start(component.worker, component.name, **common)
        for group in self.groups.values():
            group.wait_started()
        if self.placement.num_nodes > 1:
            for line in layout_lines(self.groups):
                print(f"[rlinf] {line}", file=sys.stderr, flush=True)
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

    # -- one step (rlinf_core.flow.step) -------------------------------------------------
    def step(self, step: int, prompts: Optional[List[Example]], prefetch_next: bool = False) -> Dict[str, float]:
        """One step: sample (or take the batch sampled ahead), train, sync weights, plus the task's data stats."""
        metrics = self.flow.run(step, prompts, prefetch_next)
        for k, v in self.task.stats.items():
            metrics[f"data/{k}"] = float(v)
        return metrics

    @property
    def prefetch(self) -> Prefetch:
        return self.flow.prefetch

    @property
    def weights_version(self) -> int:
        return self.flow.weights_version

    @property
    def last_batch(self) -> Optional[TrajectoryBatch]:
        """The last trained batch as the actor ranks assembled it (fetched on demand, for tests and debugging)."""
        import ray

        if self.flow is None or self.flow.last is None:
            return None
        last = self.flow.last
        return assemble(ray.get(last.parts), last.plan(), self.algorithm)

    # -- validation (rlinf_core.flow.validation) ----------------------------------------
    def evaluate(self) -> Dict[str, float]:
        """``val/<file>/avg@K`` and ``val/<file>/pass@k`` on each validation file, through the run's workers."""
        return WorkerValidation(self.cfg, self.groups, self.val_sets).run()

    # -- checkpoints --------------------------------------------------------------------
    def save(self, step: int, best: Optional[ValidationRecord] = None) -> str:
        """An atomic, checksummed checkpoint of everything needed to continue exactly; with
        ``best``, the best-validation checkpoint (``checkpoints/best``, with its best.json)."""
        import torch

        final = ckpt.step_dir(self.checkpoint_root, step) if best is None else os.path.join(self.checkpoint_root, BEST_DIR)
        with atomic_folder(final) as tmp:  # never a partial checkpoint (ckpt ignores and cleans ".tmp")
            actor = self.groups["actor"]
            actor.execute("save_checkpoint", os.path.join(tmp, "actor"))
            actor.execute("save_state", os.path.join(tmp, "actor_state"))
            state = {
                "step": step,
                "data": self.prefetch.cursor_state(self.cursor),
                "tracker_run_id": self.run_id,
                "history": self.history,
                "seed": self.cfg.runner.seed,
            }
            with open(os.path.join(tmp, "runner.json"), "w") as fh:
                json.dump(state, fh)
            torch.save(rng_state(), os.path.join(tmp, "driver_rng.pt"))
            if best is not None:
                write_best_info(tmp, best)
            ckpt.write_manifest(tmp, step)
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
    """Run the recipe's preparer (``runner.prepare``) if what it makes is missing; True if it ran.

    A path the user gave outside ``runner.cache_dir`` that does not exist is an error before
    the preparer runs: preparers never write outside the cache (see :class:`Preparer`).
    """
    if not cfg.runner.prepare:
        return False
    registry = get_registry(cfg.plugins.modules)
    preparer = registry.get("preparers", cfg.runner.prepare, field_name="runner.prepare")(cfg)
    preparer.check_given_paths()
    if preparer.is_prepared():
        return False
    preparer.prepare()
    return True


def run_from_config(cfg: Any) -> Any:
    """Train as ``cfg`` says; returns the metric history and where things were written. A
    config of a plugin flow (top-level ``flow``) runs that flow and returns its summary."""
    if "flow" in cfg:
        from omegaconf import OmegaConf

        from rlinf_core.plugins import get_registry

        modules = OmegaConf.select(cfg, "plugins.modules", default=None) or []
        flow_cls = get_registry(list(modules)).get("flows", str(cfg.flow), field_name="flow")
        return flow_cls(cfg).run()
    from rlinf_core.flow.loop import run

    return run(cfg)
