"""Where one GRPO step's time goes, phase by phase, in one process (no Ray): generate, reward,
old log-probs, update, weight sync. Companion of vs_trl.py, for profiling before changing.

    python benchmarks/step_profile.py --workload tiny --steps 6 [--set rollout.model.precision=bf16 ...]

Prints the median seconds per phase over the steps after the first. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Dict, List

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from vs_trl import GROUP, PROMPTS, rlinf_config  # noqa: E402
from vs_trl_workloads import WORKLOADS, prepare  # noqa: E402


def main() -> None:
    import yaml
    from omegaconf import OmegaConf

    from rlinf_core.config.loader import build_config, section
    from rlinf_core.data import Ragged, RolloutRequest
    from rlinf_core.interfaces.train import TrainSetup
    from rlinf_core.models import load_tokenizer
    from rlinf_core.plugins import get_registry

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", default="tiny", choices=sorted(WORKLOADS))
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--cache", default="/tmp/rlinf-vs-trl")
    ap.add_argument("--set", nargs="*", default=[])
    ap.add_argument("--threads", type=int, default=2)
    ns = ap.parse_args()
    torch.set_num_threads(ns.threads)
    w = WORKLOADS[ns.workload]
    paths = prepare(ns.workload, ns.cache)
    extra = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in ns.set)}
    registry = get_registry()
    cfg = build_config(OmegaConf.create(rlinf_config(w, paths["rows"], paths["model"], 1, ns.steps, "/tmp/unused", extra)), registry)
    tok = load_tokenizer(paths["model"])
    task = registry.get("tasks", "math")(section(cfg, "data"), tok)
    examples = task.load([paths["rows"]])
    rollout = registry.get("rollout_backends", cfg.rollout.backend)(section(cfg, "rollout"))
    rollout.load()
    actor = registry.get("train_backends", cfg.actor.backend)(section(cfg, "actor"))
    actor.load(TrainSetup(seed=1, temperature=cfg.rollout.temperature, total_optimizer_steps=ns.steps))
    algorithm = registry.get("algorithms", cfg.algorithm.name)(section(cfg, "algorithm"))
    reward = registry.get("rewards", cfg.reward.name)(section(cfg, "reward"))
    times: Dict[str, List[float]] = {}

    def tick(name: str, start: float) -> float:
        now = time.perf_counter()
        times.setdefault(name, []).append(now - start)
        return now

    for step in range(ns.steps):
        chunk = examples[step * PROMPTS : (step + 1) * PROMPTS]
        req = RolloutRequest(Ragged.from_list([e.prompt_ids for e in chunk]), [e.uid for e in chunk],
                             [e.answers for e in chunk], GROUP, step=step, seed=step)
        t = time.perf_counter()
        batch = rollout.generate(req)
        t = tick("generate", t)
        result = reward.score(batch.response_texts, batch.answers)
        batch.rewards = torch.tensor(result.scores)
        batch.advantages = algorithm.compute_advantages(batch).float()
        t = tick("reward+advantages", t)
        actor.compute_logprobs(batch)
        t = tick("old log-probs (forward only)", t)
        metrics = actor.train_step(batch, algorithm, 1, cfg.algorithm.recompute_logprobs)
        t = tick("train_step (as configured)", t)
        rollout.update_weights(actor.state_dict_for_rollout())
        tick("weight sync (in process)", t)
        n_resp = int(batch.response_ids.lengths.sum())
        print(f"step {step}: {n_resp} response tokens, reward {float(batch.rewards.mean()):+.2f}, "
              f"logprob gap {metrics['train/rollout_logprob_diff_max']:.2e}", flush=True)
    reward.close()
    for name, values in times.items():
        print(f"{name:32s} median {statistics.median(values[1:]):.3f} s")


if __name__ == "__main__":
    main()
