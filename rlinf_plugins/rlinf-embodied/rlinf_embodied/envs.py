"""A batch of simulator environments behind one small adapter: reset with seeds, step with actions.

The Fetch family of gymnasium-robotics (MuJoCo; Plappert et al. 2018, arXiv:1802.09464) runs
here on CPU: a 7-DoF arm reaching, pushing, sliding or picking towards a goal, with
``info["is_success"]`` built in. An observation is the robot/object state, the achieved goal
and the desired goal concatenated (the policy sees the task through its goal); actions are
clipped to the action space's box. Probed (issue 20): ManiSkill3 cannot create an env without
Vulkan, and LIBERO's offline-installable build is ~3 GB, so Fetch is the simulator this plugin
trains on and LIBERO (:mod:`rlinf_embodied.libero`, an optional extra) plugs in as another
:class:`EnvBatch`.

Rendering (the evaluation GIF) uses MuJoCo's EGL backend, which runs on CPU through Mesa; where
it cannot, :meth:`EnvBatch.frame` returns None and the GIF plots the trajectory instead.
"""

from __future__ import annotations

import contextlib
import io
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from rlinf_core.errors import ConfigError

os.environ.setdefault("MUJOCO_GL", "egl")  # read when mujoco is first imported: offscreen, no display

FETCH_TASKS = ("FetchReach", "FetchPush", "FetchSlide", "FetchPickAndPlace")


@dataclass
class EnvStep:
    """One step of a batch: per environment, the next observation and what the step gave."""

    obs: np.ndarray  # float32 [n, obs_size]
    reward: np.ndarray  # float32 [n]
    terminated: np.ndarray  # bool [n]: the episode ended in the task itself (not by the horizon)
    success: np.ndarray  # float32 [n]: the task's own success flag after this step
    goal_xyz: np.ndarray  # float32 [n, 3]: the desired goal (for the plotted trajectory)
    achieved_xyz: np.ndarray  # float32 [n, 3]
    images: Optional[np.ndarray] = None  # uint8 [n, H, W, 3]: the camera, for a policy that sees (policy.kind: hf)


class EnvBatch(ABC):
    """``n`` environments stepped together by one env worker."""

    obs_size: int
    action_size: int
    instruction: str = ""  # the task in words, for a language-conditioned policy; empty: the goal is in the state

    @abstractmethod
    def reset(self, seeds: Sequence[int]) -> EnvStep:
        """Start a new episode in every environment, environment i from ``seeds[i]``."""

    @abstractmethod
    def step(self, actions: np.ndarray) -> EnvStep:
        """Apply ``actions`` [n, action_size] (clipped to the action box)."""

    def frame(self) -> Optional[np.ndarray]:
        """An RGB frame [H, W, 3] of environment 0, or None when this batch cannot render."""
        return None

    def _check_seeds(self, seeds: Sequence[int], n: int) -> None:
        if len(seeds) != n:
            raise ValueError(f"{len(seeds)} seeds for {n} environments")

    def _clipped(self, actions: np.ndarray, n: int, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """``actions`` as float64 [n, action_size] clipped to the box [low, high] (a ValueError on other shapes)."""
        actions = np.asarray(actions, dtype=np.float64)
        if actions.shape != (n, self.action_size):
            raise ValueError(f"actions of shape {actions.shape}, expected {(n, self.action_size)}")
        return np.clip(actions, low, high)

    def close(self) -> None:
        """Release the simulators."""


def fetch_ids() -> List[str]:
    import gymnasium as gym

    _register_robotics()
    return sorted(k for k in gym.registry if k.startswith(FETCH_TASKS))


def _register_robotics() -> None:
    try:
        import gymnasium as gym

        # Its import prints a notice about Adroit hand envs (which this plugin never makes) to stderr.
        with contextlib.redirect_stderr(io.StringIO()):
            import gymnasium_robotics
    except ImportError as exc:
        raise ConfigError(f"`env.id` needs gymnasium-robotics: pip install 'gymnasium-robotics==1.4.2' "
                          f"'mujoco>=3.3,<3.12' ({exc})") from None
    gym.register_envs(gymnasium_robotics)


class FetchBatch(EnvBatch):
    """``n`` gymnasium-robotics Fetch environments; environment 0 can render."""

    def __init__(self, env_id: str, n: int, horizon: int, render_size: int = 0):
        import gymnasium as gym

        _register_robotics()
        if env_id not in gym.registry or not env_id.startswith(FETCH_TASKS):
            known = ", ".join(i for i in fetch_ids() if i.endswith("-v4"))
            raise ConfigError(f"Unknown `env.id` {env_id!r}: this plugin steps the Fetch environments ({known}).")
        render = dict(render_mode="rgb_array", width=render_size, height=render_size) if render_size else {}
        # The time limit is the recipe's horizon; the flow ends episodes there itself.
        self.envs = [gym.make(env_id, max_episode_steps=horizon + 1, **(render if i == 0 else {})) for i in range(n)]
        space = self.envs[0].observation_space
        self.obs_size = sum(int(space[k].shape[0]) for k in ("observation", "achieved_goal", "desired_goal"))
        self.action_size = int(self.envs[0].action_space.shape[0])
        self.low, self.high = self.envs[0].action_space.low, self.envs[0].action_space.high
        self.can_render = bool(render_size)

    @staticmethod
    def _flat(o: dict) -> np.ndarray:
        return np.concatenate([o["observation"], o["achieved_goal"], o["desired_goal"]]).astype(np.float32)

    def _batch(self, outs: List[tuple]) -> EnvStep:
        obs = [o for o, *_ in outs]
        return EnvStep(
            obs=np.stack([self._flat(o) for o in obs]),
            reward=np.array([r for _, r, _, _ in outs], dtype=np.float32),
            terminated=np.array([t for _, _, t, _ in outs], dtype=bool),
            success=np.array([float(info.get("is_success", 0.0)) for _, _, _, info in outs], dtype=np.float32),
            goal_xyz=np.stack([o["desired_goal"][:3] for o in obs]).astype(np.float32),
            achieved_xyz=np.stack([o["achieved_goal"][:3] for o in obs]).astype(np.float32),
        )

    def reset(self, seeds: Sequence[int]) -> EnvStep:
        self._check_seeds(seeds, len(self.envs))
        outs = []
        for env, seed in zip(self.envs, seeds):
            obs, info = env.reset(seed=int(seed))
            outs.append((obs, 0.0, False, info))
        return self._batch(outs)

    def step(self, actions: np.ndarray) -> EnvStep:
        actions = self._clipped(actions, len(self.envs), self.low, self.high).astype(np.float32)
        outs = []
        for env, a in zip(self.envs, actions):
            obs, reward, terminated, _truncated, info = env.step(a)
            outs.append((obs, float(reward), bool(terminated), info))
        return self._batch(outs)

    def frame(self) -> Optional[np.ndarray]:
        if not self.can_render:
            return None
        try:
            return np.asarray(self.envs[0].render())
        except Exception:  # no EGL/Mesa here: the GIF falls back to the plotted trajectory
            self.can_render = False
            return None

    def close(self) -> None:
        for env in self.envs:
            env.close()


def make_env_batch(env_id: str, n: int, horizon: int, render_size: int = 0, camera_size: int = 0) -> EnvBatch:
    """The batch for ``env.id`` (a clear ConfigError naming the field for an id it cannot make);
    ``camera_size`` > 0: every step carries every environment's camera image of that size."""
    check_camera(env_id, camera_size)
    if env_id.startswith("libero:"):
        from rlinf_embodied.libero import LiberoBatch

        return LiberoBatch(env_id, n, horizon, render_size, camera_size)
    return FetchBatch(env_id, n, horizon, render_size)


def check_camera(env_id: str, camera_size: int) -> None:
    """Refuse camera images (a policy that sees: ``policy.kind: hf``) from an environment without them."""
    if camera_size and not env_id.startswith("libero:"):
        raise ConfigError(f"`policy.kind`=hf needs camera images and a task instruction, which `env.id` {env_id!r} "
                          "does not give: use a LIBERO task (libero:<suite>/<task index>).")
