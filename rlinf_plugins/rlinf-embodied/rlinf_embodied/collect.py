"""One episode per environment, env workers and the policy pipelined through object references.

Every call of the episode is issued at once: for each step t and each (env worker, stage) key,
``policy.act(key, t, outcome of t - 1)`` then ``env.step(stage, those actions)``, each call
taking the previous one's object reference. Ray runs each worker's calls in the order they
were issued and starts one as soon as its inputs exist, so with two stages the env worker
steps stage 0 while the policy computes stage 1's actions (RLinf's ``pipeline_stage_num``);
with one stage the two alternate. The driver only waits for the end.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rlinf_core import WorkerGroup
from rlinf_embodied.workers import global_rows

EVAL_SEED_BASE = 10_000_000  # evaluation episodes start from seeds no training episode uses


def start_seeds(cfg: Any, iteration: int, deterministic: bool, rows: range) -> List[int]:
    """The reset seed of each environment in ``rows``; GRPO's groups of environments share one."""
    total = cfg.env.num_workers * cfg.env.envs_per_worker
    if deterministic:
        return [EVAL_SEED_BASE + cfg.runner.seed * 100_000 + (iteration % 1000) * total + r for r in rows]
    per = cfg.algorithm.group_size if cfg.algorithm.name == "grpo" else 1
    return [(cfg.runner.seed * 1_000_003 + iteration) * total + r // per for r in rows]


def collect(cfg: Any, groups: Dict[str, WorkerGroup], iteration: int, deterministic: bool, record: bool) -> None:
    """Run one episode in every environment; the policy worker keeps what it saw."""
    env, policy = groups["env"], groups["policy"]
    keys = [(k, s) for k in range(cfg.env.num_workers) for s in range(cfg.env.pipeline_stage_num)]
    policy.execute("begin", iteration, deterministic, ranks=[0])
    outcome = {key: env.call("reset", key[1], start_seeds(cfg, iteration, deterministic, global_rows(cfg, key)),
                             record and key == (0, 0), ranks=[key[0]]).refs[0] for key in keys}
    for t in range(cfg.env.horizon):
        for key in keys:
            actions = policy.call("act", key, t, outcome[key], ranks=[0]).refs[0]
            outcome[key] = env.call("step", key[1], actions, ranks=[key[0]]).refs[0]
    for future in [policy.call("finish", key, outcome[key], ranks=[0]) for key in keys]:
        future.wait()
