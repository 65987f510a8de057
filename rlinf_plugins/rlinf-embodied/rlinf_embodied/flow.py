"""The embodied flow (``flow: embodied``): env workers and a policy worker, pipelined through Ray.

Follows RLinf's embodied scenario (arXiv:2509.15965 §5): environment workers step simulators
while the policy computes actions, the environment batch split into ``pipeline_stage_num``
stages so that one stage steps while another waits on the policy. Here every call is issued at
once as a chain of object references (:mod:`rlinf_embodied.collect`); Ray runs each worker's
calls in order, which is the pipeline. One iteration collects one episode per environment,
then the policy worker learns from it (PPO with GAE, or GRPO with episode groups).

Deviations: the policy acts and learns in one worker (RLinf can place the actor apart and sync
weights; with a small MLP the sync would cost more than it saves); a fixed horizon per episode;
LIBERO is stepped state-only (its policy is the same MLP; RLinf's is OpenVLA-OFT on images).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

from omegaconf import OmegaConf

from rlinf_core import Flow, WorkerGroup, get_registry
from rlinf_core.cluster.ray_cluster import ensure_ray, placement_for_cluster, release, reserve
from rlinf_core.errors import ConfigError
from rlinf_core.files import atomic_file
from rlinf_core.runner import prepare_output_dir
from rlinf_core.trackers import build_trackers, flatten_params
from rlinf_embodied.collect import collect
from rlinf_embodied.config import EmbodiedConfig
from rlinf_embodied.curves import write_curves
from rlinf_embodied.gif import write_gif
from rlinf_embodied.workers import EnvWorker, PolicyWorker, camera_size, stage_sizes

COMPONENTS = {"env": EnvWorker, "policy": PolicyWorker}


def check(cfg: Any, env_ranks: int) -> None:
    """Refuse a recipe the flow cannot run, naming the field (before anything starts)."""
    if env_ranks != cfg.env.num_workers:
        raise ConfigError(f"`cluster.component_placement` gives the env component {env_ranks} rank(s) but "
                          f"`env.num_workers`={cfg.env.num_workers}: make them equal.")
    try:
        stage_sizes(cfg.env.envs_per_worker, cfg.env.pipeline_stage_num)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if cfg.policy.kind == "hf" and cfg.runner.max_steps:
        raise ConfigError(f"`policy.kind`=hf evaluates a VLA but `runner.max_steps`={cfg.runner.max_steps}: set "
                          "runner.max_steps=0 (training a VLA with RL, as RLinf does OpenVLA-OFT, is not built here).")
    if cfg.policy.kind == "hf" and cfg.cluster.address is None:  # this machine runs it: check it can
        from rlinf_embodied.vla import check_vla_settings

        check_vla_settings(cfg.policy.path, cfg.policy.device)
    if cfg.algorithm.name == "grpo" and cfg.env.envs_per_worker % cfg.algorithm.group_size:
        raise ConfigError(f"`env.envs_per_worker`={cfg.env.envs_per_worker} must be a multiple of "
                          f"`algorithm.group_size`={cfg.algorithm.group_size} (a group's episodes share a start).")


def check_env_and_policy(cfg: Any) -> None:
    """Make one environment (a bad ``env.id`` fails here, before Ray starts) and, given
    ``policy.checkpoint``, load it into a policy of that environment's sizes."""
    from rlinf_embodied.envs import check_camera, make_env_batch

    check_camera(cfg.env.id, camera_size(cfg))
    # No camera here: the driver makes no rendering context (after one, importing triton crashes).
    probe = make_env_batch(cfg.env.id, 1, cfg.env.horizon)
    sizes = probe.obs_size, probe.action_size
    probe.close()
    if cfg.policy.checkpoint and cfg.policy.kind == "mlp":
        from rlinf_embodied.policy import ActorCritic, load_checkpoint

        load_checkpoint(ActorCritic(*sizes, cfg.policy.hidden_sizes, cfg.policy.init_log_std), cfg.policy.checkpoint)


class EmbodiedFlow(Flow):
    config_class = EmbodiedConfig
    edges = [("env", "policy", "observations, rewards, success (object references)"),
             ("policy", "env", "actions (object references, per stage)")]

    def run(self) -> Dict[str, Any]:
        cfg = self.config
        typed = OmegaConf.to_object(cfg)
        placement = placement_for_cluster(cfg.cluster)
        placement.require(list(COMPONENTS))
        check(typed, len(placement.ranks("env")))
        if cfg.policy.checkpoint:  # the workers' working directory is not the driver's
            cfg.policy.checkpoint = typed.policy.checkpoint = os.path.abspath(typed.policy.checkpoint)
        check_env_and_policy(typed)
        out = prepare_output_dir(cfg.runner.output_dir)
        container = OmegaConf.to_container(cfg, resolve=True)
        config_yaml = OmegaConf.to_yaml(cfg, resolve=True)
        with open(os.path.join(out, "config.yaml"), "w") as fh:
            fh.write(config_yaml)
        ensure_ray(cfg.cluster.address, None, cfg.cluster.namespace)
        groups, pg = launch(container, placement)
        tracker = None
        status = "FAILED"
        try:
            registry = get_registry(list(cfg.plugins.modules))
            tracker = build_trackers(registry, cfg.tracking, out)
            tracker.start(cfg.tracking.run_name or time.strftime("embodied-%Y%m%d-%H%M%S"), flatten_params(container),
                          config_yaml)
            summary = _train(typed, groups, tracker, out)
            status = "FINISHED"
            return summary
        finally:
            shutdown(groups, pg)
            if tracker is not None:
                tracker.finish(status)


def launch(container: Dict[str, Any], placement: Any) -> Tuple[Dict[str, WorkerGroup], Any]:
    """Start the env and policy groups on ``placement`` (their simulators and imports overlap)
    and build the policy for the environments' spaces; (groups, placement group)."""
    pg = reserve(placement)
    groups: Dict[str, WorkerGroup] = {}
    try:
        for name, cls in COMPONENTS.items():
            groups[name] = WorkerGroup.start(cls, name, args=(container,), placement=placement, placement_group=pg)
        for group in groups.values():
            group.wait_started()
        groups["policy"].execute("build", *groups["env"].execute("spaces", ranks=[0])[0])
    except BaseException:
        shutdown(groups, pg)
        raise
    return groups, pg


def shutdown(groups: Dict[str, WorkerGroup], pg: Any) -> None:
    for group in groups.values():
        group.shutdown()
    release(pg)


def _episodes(cfg: Any) -> int:
    """Validation episodes: ``runner.val_episodes`` rounded up to whole environment batches."""
    total = cfg.env.num_workers * cfg.env.envs_per_worker
    return -(-cfg.runner.val_episodes // total) * total


def _validate(cfg: Any, groups: Dict[str, WorkerGroup], tracker: Any, out: str, step: int) -> Dict[str, float]:
    batches = _episodes(cfg) // (cfg.env.num_workers * cfg.env.envs_per_worker)
    metrics: List[Dict[str, float]] = []
    for b in range(batches):
        collect(cfg, groups, iteration=1_000_000 + b, deterministic=True, record=cfg.runner.gif and b == 0)
        metrics.append(groups["policy"].execute("episode_metrics", ranks=[0])[0])
        if cfg.runner.gif and b == 0:
            recording = groups["env"].execute("take_recording", ranks=[0])[0]
            path = os.path.join(out, "gifs", f"eval_step{step:05d}.gif")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_gif(recording, path, cfg.env.render_size)
            tracker.log_artifact(path, "gifs")
    return {f"val/{k}": sum(m[k] for m in metrics) / len(metrics) for k in metrics[0]}


def _train(cfg: Any, groups: Dict[str, WorkerGroup], tracker: Any, out: str) -> Dict[str, Any]:
    history: List[Dict[str, float]] = []
    first = _validate(cfg, groups, tracker, out, 0)
    tracker.log_metrics(first, 0)
    history.append({"step": 0, **first})
    print(f"[rlinf] step 0: validation success {first['val/success_rate']:.1%}", file=sys.stderr, flush=True)
    began = time.time()
    last: Optional[Dict[str, float]] = None
    for step in range(1, cfg.runner.max_steps + 1):
        t0 = time.time()
        collect(cfg, groups, iteration=step, deterministic=False, record=False)
        t1 = time.time()
        learned = groups["policy"].execute("learn", ranks=[0])[0]
        steps = cfg.env.num_workers * cfg.env.envs_per_worker * cfg.env.horizon
        metrics = {**learned, "env/steps_per_s": steps / (t1 - t0),
                   "time/collect": t1 - t0, "time/learn": time.time() - t1, "time/elapsed": time.time() - began}
        out_of_time = cfg.runner.max_minutes and time.time() - began > cfg.runner.max_minutes * 60
        if (cfg.runner.val_interval and step % cfg.runner.val_interval == 0) or step == cfg.runner.max_steps or out_of_time:
            last = _validate(cfg, groups, tracker, out, step)
            metrics.update(last)
            print(f"[rlinf] step {step}: validation success {last['val/success_rate']:.1%} "
                  f"({metrics['time/elapsed']:.0f} s)", file=sys.stderr, flush=True)
        tracker.log_metrics(metrics, step)
        history.append({"step": step, **metrics})
        if out_of_time:
            break
    if cfg.runner.max_steps:  # an evaluation learned nothing to save
        groups["policy"].execute("save", os.path.join(out, "policy.pt"), ranks=[0])
    _write_history(out, history)
    write_curves(history, os.path.join(out, "curves.png"))
    final = last or first
    if cfg.runner.max_steps == 0:
        print(f"[rlinf] evaluation only (runner.max_steps=0): success {first['val/success_rate']:.1%} over "
              f"{_episodes(cfg)} episodes of {cfg.env.id}", flush=True)
    else:
        print(f"[rlinf] validation success: {first['val/success_rate']:.1%} at the start -> "
              f"{final['val/success_rate']:.1%} after {history[-1]['step']} iterations "
              f"({history[-1].get('time/elapsed', 0):.0f} s)", flush=True)
    return {"output_dir": out, "history": history, "start": first, "final": final}


def _write_history(out: str, history: List[Dict[str, float]]) -> None:
    with atomic_file(os.path.join(out, "metrics.jsonl")) as tmp, open(tmp, "w") as fh:
        for row in history:
            fh.write(json.dumps(row) + "\n")
