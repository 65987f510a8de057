"""The step simulator at scale: collocated vs pipelined for RLinf's 1.5B math recipe on 8-1,024 GPUs.

    python benchmarks/plan_at_scale.py --out docs/img/plan_at_scale.png

Nothing here ran on GPUs: every cost below is an ASSUMED figure, named with where it comes
from. The rollout is a continuous-batching engine per GPU (``rlinf_core.plan.batching``: KV
cache, admission, preemption); the pipelined step is the flow's pipeline model
(``rlinf_core.plan.simulate.pipeline_end``, the one ``rlinf plan`` uses for streamed steps) at
the level of prompt groups instead of measured parts. The question is the shape RLinf reports
(arXiv:2509.15965 §6): pipelining beats collocation when response lengths have a long tail, not
when they are uniform. The answer this model gives is in docs/planning.md, "At scale".

The recipe (``cookbook/qwen2.5-1.5b-grpo``): 512 prompts x 16 samples = 8,192 responses per
step, up to 27,648 new tokens, prompts of 200 tokens, the rollout's
``gpu_memory_utilization: 0.55``. "recipe batch": those 8,192 responses on every GPU count (as
RLinf's evaluation scales a fixed batch over more GPUs); "256 per GPU": the batch grows with
the GPUs (the recipe's 256 per GPU on 32), which keeps every engine's batch full.

Assumed costs (H100 SXM: 80 GB, 3.35 TB/s HBM3, 989 TFLOP/s dense bf16; DeepSeek-R1-Distill-
Qwen-1.5B: 1.78e9 parameters, 28 layers, 2 KV heads of 128, bf16):

- decode step: a fixed 5 ms (reading the 3.55 GB of weights at 70% of HBM bandwidth is 1.5 ms;
  the rest is the engine's scheduler and kernel launches with CUDA graphs: an assumption,
  bracketed by 2 ms and 10 ms), plus 2 x 1.55e9 FLOPs per running sequence at 40% of peak,
  plus reading the KV cache: 28,672 bytes per cached token at 70% of HBM bandwidth. At 256
  running sequences of ~6k cached tokens that is ~26 ms a step, ~10k tokens/s per GPU, the
  order of vLLM/SGLang's published 1-2B decode throughput.
- engine: vLLM's ``max_num_seqs`` default on 80 GB GPUs other than A100 (1024); a KV cache of
  0.55 x 80 GB less the weights and 4 GB of activations and CUDA graphs (1.27M tokens); prefill
  (also of a preempted sequence's context) at 50% of peak.
- training: 12k trained tokens/s per GPU (forward, backward and the old-log-prob forward:
  ~8 x 1.5e9 FLOPs per token plus attention over ~8k-token contexts, at ~30% of 989 TFLOP/s),
  linear in tokens.
- switching phases (collocated): 5 s per step to offload and reload weights and optimizer
  state (RLinf's collocated mode); weight sync (pipelined): 2 s per step.
- lengths: "long tail": log-normal, median 4,000 tokens, sigma 1.0, capped at 27,648 (R1-style
  reasoning: a few responses run to the cap); "uniform": every response the long tail's mean.

Collocated: every GPU generates, then every GPU trains. Pipelined: R GPUs generate, the others
train each prompt group as soon as its 16 responses are done (the flow's streamed step: one
optimizer step at the end), R the best of eighths of the GPUs. Prints the table; writes the plot.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
from typing import Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from rlinf_core.plan.batching import DecodeCosts, group_finish_times  # noqa: E402
from rlinf_core.plan.simulate import pipeline_end  # noqa: E402

GROUP, RECIPE_RESPONSES, PER_GPU, CAP, PROMPT = 16, 8192, 256, 27_648, 200
TRAIN_TOKENS_PER_S = 12_000.0
SWITCH_S, SYNC_S = 5.0, 2.0

# The engine's costs (the docstring says where each figure comes from).
PARAMS, WEIGHT_BYTES, KV_BYTES_PER_TOKEN = 1.78e9, 3.55e9, 2 * 28 * 2 * 128 * 2
HBM_BYTES_PER_S, BF16_FLOPS = 3.35e12 * 0.7, 989e12
ENGINE = {
    "compute": 2 * 1.55e9 / (BF16_FLOPS * 0.4),  # the embedding table's 0.23e9 parameters are a lookup
    "kv_read": KV_BYTES_PER_TOKEN / HBM_BYTES_PER_S,
    "prefill": 2 * 1.55e9 / (BF16_FLOPS * 0.5),
    "kv_capacity": int((0.55 * 80e9 - WEIGHT_BYTES - 4e9) / KV_BYTES_PER_TOKEN),
    "max_seqs": 1024,
}
SETTINGS = {"assumed costs": 0.005, "sensitivity: 2 ms per step": 0.002, "sensitivity: 10 ms per step": 0.010}


def lengths(kind: str, n: int, seed: int) -> List[int]:
    rng = random.Random(seed)
    tail = [min(CAP, max(1, int(rng.lognormvariate(8.294, 1.0)))) for _ in range(n)]  # e^8.294 ~ 4,000
    if kind == "long tail":
        return tail
    mean = int(statistics.mean(tail))
    return [mean] * n


def rollout(groups: List[List[int]], engines: int, costs: DecodeCosts) -> List[float]:
    """Each group's completion time, groups dealt round-robin to ``engines`` engines (one per GPU)."""
    finish = [0.0] * len(groups)
    for e in range(engines):
        mine = list(range(e, len(groups), engines))
        for g, t in zip(mine, group_finish_times(costs, [groups[g] for g in mine], PROMPT)):
            finish[g] = t
    return finish


def train_s(tokens: int, gpus: int) -> float:
    return tokens / (gpus * TRAIN_TOKENS_PER_S)


def collocated(groups: List[List[int]], gpus: int, costs: DecodeCosts) -> Tuple[float, float]:
    """(step seconds, rollout seconds): every GPU generates, then every GPU trains."""
    tokens = sum(n + PROMPT for g in groups for n in g)
    generate = max(rollout(groups, gpus, costs))
    return generate + train_s(tokens, gpus) + SWITCH_S, generate


def pipelined(groups: List[List[int]], gpus: int, costs: DecodeCosts) -> Tuple[float, int]:
    """(step seconds, rollout GPUs) of the best split in eighths: R GPUs generate, the rest train
    each group as soon as its last response is done."""
    best = (float("inf"), 0)
    for eighth in range(1, 8):
        r = max(1, gpus * eighth // 8)
        if r >= gpus:
            continue
        arrivals = rollout(groups, r, costs)
        works = [train_s(sum(n + PROMPT for n in g), gpus - r) for g in groups]
        best = min(best, (pipeline_end(arrivals, works) + SYNC_S, r))
    return best


SCALINGS = ("recipe batch", "256 per GPU")


def run_setting(name: str, scaling: str, gpu_counts: List[int], seed: int) -> List[Dict[str, object]]:
    costs = DecodeCosts(fixed=SETTINGS[name], **ENGINE)
    rows: List[Dict[str, object]] = []
    for kind in ("long tail", "uniform"):
        for gpus in gpu_counts:
            n = RECIPE_RESPONSES if scaling == "recipe batch" else PER_GPU * gpus
            flat = lengths(kind, n, seed)
            groups = [flat[i : i + GROUP] for i in range(0, n, GROUP)]
            col, generate = collocated(groups, gpus, costs)
            pipe, r = pipelined(groups, gpus, costs)
            rows.append({"setting": name, "scaling": scaling, "lengths": kind, "gpus": gpus, "collocated_s": col,
                         "rollout_s": generate, "pipelined_s": pipe, "rollout_gpus": r, "speedup": col / pipe})
    return rows


def plot(rows: List[Dict[str, object]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, scaling in zip(axes, SCALINGS):
        for setting, colour in zip(SETTINGS, ("tab:blue", "tab:orange", "tab:green")):
            for kind, style in (("long tail", "o-"), ("uniform", "s--")):
                pts = [(r["gpus"], r["speedup"]) for r in rows
                       if r["lengths"] == kind and r["setting"] == setting and r["scaling"] == scaling]
                ax.plot([p[0] for p in pts], [p[1] for p in pts], style, color=colour, label=f"{setting}, {kind}")
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("GPUs")
        ax.set_title(f"{scaling} ({'8,192 responses a step' if scaling == 'recipe batch' else 'the batch grows'})",
                     fontsize=9)
    axes[0].set_ylabel("pipelined / collocated throughput")
    axes[1].legend(fontsize=7)
    fig.suptitle("Simulated with assumed GPU costs (nothing measured): 1.5B GRPO math", fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gpus", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256, 512, 1024])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="docs/img/plan_at_scale.png")
    args = ap.parse_args()
    rows = [row for scaling in SCALINGS for name in SETTINGS for row in run_setting(name, scaling, args.gpus, args.seed)]
    print("| scaling | costs | lengths | GPUs | collocated step (its rollout) | pipelined step (rollout GPUs) "
          "| pipelined / collocated |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scaling']} | {r['setting']} | {r['lengths']} | {r['gpus']} | {r['collocated_s']:.0f} s "
              f"({r['rollout_s']:.0f} s) | {r['pipelined_s']:.0f} s ({r['rollout_gpus']}) | {r['speedup']:.2f}x |")
    plot(rows, args.out)
    print(f"\nplot: {args.out}")


if __name__ == "__main__":
    main()
