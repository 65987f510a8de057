"""The embodied flow's two components: env workers (simulators) and the policy worker.

An env worker holds ``envs_per_worker`` environments split into ``pipeline_stage_num`` stages,
each stage its own :class:`~rlinf_embodied.envs.EnvBatch`, so that one stage can step while the
policy computes another's actions. The policy worker acts for every stage of every env worker
and keeps what it saw (observations, actions, log-probs, values, and the rewards that came
back), so the trajectories never travel through the driver; at the end of an iteration it
computes the advantages and trains (:mod:`rlinf_embodied.update`).

Determinism: environment i of the whole batch (worker-major, then stage, then row) always starts
from the same seed for the same iteration, and its action noise at step t is row i of one
standard-normal draw over the whole batch, seeded by (run seed, iteration, t). The split into
stages changes neither.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from omegaconf import OmegaConf

from rlinf_core import Worker
from rlinf_core.files import atomic_file
from rlinf_embodied.advantages import alive_mask, episode_returns, gae, group_advantages
from rlinf_embodied.config import EmbodiedConfig
from rlinf_embodied.envs import EnvStep, make_env_batch
from rlinf_embodied.policy import ActorCritic, load_checkpoint
from rlinf_embodied.update import Batch, update

Key = Tuple[int, int]  # (env worker, stage)


def typed(container: Dict[str, Any]) -> Any:
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(EmbodiedConfig), container))


def noise_seed(seed: int, iteration: int, t: int) -> int:
    """The seed of step ``t``'s action noise in ``iteration`` (distinct for every pair)."""
    return (seed * 1_000_003 + iteration) * 100_003 + t


def camera_size(cfg: Any) -> int:
    """The camera images' size every env step carries: only for a policy that sees (kind hf)."""
    return cfg.policy.image_size if cfg.policy.kind == "hf" else 0


def stage_sizes(envs: int, stages: int) -> List[int]:
    """How ``envs`` split into ``stages`` stages (the first ones one larger when uneven)."""
    if stages > envs:
        raise ValueError(f"`env.pipeline_stage_num`={stages} is more than `env.envs_per_worker`={envs}")
    return [envs // stages + (1 if s < envs % stages else 0) for s in range(stages)]


def global_rows(cfg: Any, key: Key) -> range:
    """Which environments of the whole batch a (worker, stage) holds."""
    sizes = stage_sizes(cfg.env.envs_per_worker, cfg.env.pipeline_stage_num)
    start = key[0] * cfg.env.envs_per_worker + sum(sizes[: key[1]])
    return range(start, start + sizes[key[1]])


class EnvWorker(Worker):
    """One rank of the ``env`` component: its stages' environment batches."""

    def __init__(self, container: Dict[str, Any]):
        cfg = typed(container)
        sizes = stage_sizes(cfg.env.envs_per_worker, cfg.env.pipeline_stage_num)
        render = cfg.env.render_size if self.rank == 0 else 0  # the GIF's episode: env 0 of worker 0
        self.stages = [make_env_batch(cfg.env.id, n, cfg.env.horizon, render if s == 0 else 0, camera_size(cfg))
                       for s, n in enumerate(sizes)]
        self.recording: Optional[List[Any]] = None

    def spaces(self) -> Tuple[int, int, str]:
        """(observation size, action size, the task's instruction)."""
        return self.stages[0].obs_size, self.stages[0].action_size, self.stages[0].instruction

    def reset(self, stage: int, seeds: List[int], record: bool = False) -> EnvStep:
        out = self.stages[stage].reset(seeds)
        if stage == 0:
            self.recording = [] if record else None
            self._record(out)
        return out

    def step(self, stage: int, actions: np.ndarray) -> EnvStep:
        out = self.stages[stage].step(actions)
        if stage == 0:
            self._record(out)
        return out

    def _record(self, out: EnvStep) -> None:
        if self.recording is not None:
            self.recording.append((self.stages[0].frame(), out.achieved_xyz[0].copy(), out.goal_xyz[0].copy(),
                                   float(out.success[0])))

    def take_recording(self) -> List[Any]:
        """(frame or None, achieved xyz, goal xyz, success) per step of the recorded episode."""
        rec, self.recording = self.recording or [], None
        return rec


class PolicyWorker(Worker):
    """The ``policy`` component's rank: acts for every stage, then learns from what it saw."""

    def __init__(self, container: Dict[str, Any]):
        self.cfg = cfg = typed(container)
        torch.set_num_threads(max(1, self.context.num_threads))
        self.total = cfg.env.num_workers * cfg.env.envs_per_worker
        self.model: Optional[ActorCritic] = None
        self.vla: Optional[Any] = None  # policy.kind hf: a VLAPolicy acting in the model's place
        self.iteration, self.deterministic = 0, False
        self.noise: Dict[int, torch.Tensor] = {}
        self.seen: Dict[Key, Dict[str, List[torch.Tensor]]] = {}

    def build(self, obs_size: int, action_size: int, instruction: str = "") -> None:
        torch.manual_seed(self.cfg.runner.seed)
        self.instruction = instruction
        if self.cfg.policy.kind == "hf":
            from rlinf_embodied.vla import VLAPolicy

            p = self.cfg.policy
            self.vla = VLAPolicy(p.path, p.unnorm_key, p.device, p.dtype)
            return  # it only acts: no MLP, optimizer or noise
        self.model = ActorCritic(obs_size, action_size, self.cfg.policy.hidden_sizes, self.cfg.policy.init_log_std)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.cfg.algorithm.lr, eps=1e-5)
        if self.cfg.policy.checkpoint:
            load_checkpoint(self.model, self.cfg.policy.checkpoint, self.optimizer)
        self.generator = torch.Generator().manual_seed(self.cfg.runner.seed)

    def begin(self, iteration: int, deterministic: bool) -> None:
        self.iteration, self.deterministic = iteration, deterministic
        self.noise, self.seen = {}, {}

    def _noise(self, t: int, rows: range) -> torch.Tensor:
        if t not in self.noise:
            g = torch.Generator().manual_seed(noise_seed(self.cfg.runner.seed, self.iteration, t))
            self.noise[t] = torch.randn((self.total, self.model.log_std.numel()), generator=g)
        return self.noise[t][rows.start : rows.stop]

    def act(self, key: Key, t: int, env_step: EnvStep) -> np.ndarray:
        """Actions for stage ``key`` at step ``t`` from ``env_step`` (the outcome of step t - 1)."""
        key = tuple(key)
        seen = self.seen.setdefault(key, {k: [] for k in ("obs", "actions", "logprobs", "values", "rewards",
                                                            "terminated", "success")})
        obs = torch.tensor(env_step.obs)  # a copy: arrays from the object store are read-only
        if t > 0:
            self._outcome(seen, env_step)
        if self.vla is not None:  # evaluation only: nothing to learn from, so no log-probs or values
            actions = torch.tensor(self.vla.act(env_step.images, self.instruction), dtype=torch.float32)
            logp = values = torch.zeros(len(obs))
        else:
            actions, logp, values = self.model.act(obs, self._noise(t, global_rows(self.cfg, key)), self.deterministic)
        for k, v in (("obs", obs), ("actions", actions), ("logprobs", logp), ("values", values)):
            seen[k].append(v)
        return actions.numpy()

    def finish(self, key: Key, env_step: EnvStep) -> None:
        """The last step's outcome and the bootstrap value of the state the horizon stopped at."""
        seen = self.seen[tuple(key)]
        self._outcome(seen, env_step)
        with torch.no_grad():
            obs = torch.tensor(env_step.obs)
            seen["values"].append(torch.zeros(len(obs)) if self.vla is not None else self.model.value(obs))

    @staticmethod
    def _outcome(seen: Dict[str, List[torch.Tensor]], env_step: EnvStep) -> None:
        seen["rewards"].append(torch.tensor(env_step.reward))
        seen["terminated"].append(torch.tensor(env_step.terminated))
        seen["success"].append(torch.tensor(env_step.success))

    def trajectories(self) -> Dict[str, torch.Tensor]:
        """Every key's steps side by side in global environment order: [T, N, ...] per field."""
        keys = sorted(self.seen)
        return {f: torch.cat([torch.stack(self.seen[k][f]) for k in keys], dim=1) for f in self.seen[keys[0]]}

    def episode_metrics(self, s: Optional[Dict[str, torch.Tensor]] = None) -> Dict[str, float]:
        """Success where each episode ended (the task's own end, as in LIBERO, or the horizon, as in
        Fetch), return and length, over this iteration's episodes."""
        s = self.trajectories() if s is None else s
        alive = alive_mask(s["terminated"])
        last = (alive.sum(0).long() - 1).clamp(min=0)
        return {"success_rate": float(s["success"].gather(0, last[None]).mean()),
                "episode_return": float(episode_returns(s["rewards"], s["terminated"]).mean()),
                "episode_length": float(alive.sum(0).mean())}

    def learn(self) -> Dict[str, float]:
        """The iteration's episode metrics (``env/...``), then advantages over what it saw and the
        update (see the module docstring)."""
        cfg, s = self.cfg.algorithm, self.trajectories()
        episodes = {f"env/{k}": v for k, v in self.episode_metrics(s).items()}
        if cfg.name == "ppo":
            adv, returns = gae(s["rewards"], s["values"], s["terminated"], cfg.gamma, cfg.lam)
        else:
            adv, returns = group_advantages(s["rewards"], s["terminated"], cfg.group_size), torch.zeros_like(s["rewards"])
        alive = alive_mask(s["terminated"]).bool()
        batch = Batch(obs=s["obs"][alive], actions=s["actions"][alive], logprobs=s["logprobs"][alive],
                      advantages=adv[alive], returns=returns[alive], values=s["values"][:-1][alive])
        warming = cfg.name == "ppo" and self.iteration < cfg.critic_warmup_steps
        metrics = update(self.model, self.optimizer, batch, cfg, self.generator, train_policy=not warming)
        self.model.norm.update(batch.obs)  # the next iteration acts with statistics that include these
        metrics["train/action_std"] = float(self.model.log_std.detach().exp().mean())
        return {**episodes, **metrics}

    def save(self, path: str) -> None:
        with atomic_file(path) as tmp:
            torch.save({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}, tmp)
