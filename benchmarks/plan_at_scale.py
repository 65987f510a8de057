"""The step simulator at scale: collocated vs pipelined for RLinf's 1.5B math recipe on 8-1,024 GPUs.

    python benchmarks/plan_at_scale.py --out docs/img/plan_at_scale.png

Nothing here ran on GPUs: every cost below is an ASSUMED figure, named with where it comes
from, fed to the flow's pipeline model (``rlinf_core.plan.simulate.pipeline_end``, the one
``rlinf plan`` uses for streamed steps) at the level of single responses instead of measured
parts. The question is the shape RLinf reports (arXiv:2509.15965 §6): pipelining beats
collocation when response lengths have a long tail, not when they are uniform. What this
model gives (docs/planning.md, "At scale"): a long tail moves the ratio toward pipelining
(0.66x -> 0.79x with the assumed costs, 0.81x -> 0.97x with a faster decode), but collocation
still wins: here pipelining only recovers the GPUs the tail leaves idle, while giving the
rollout fewer GPUs costs it throughput. Not modelled, and in RLinf's favour at scale: a
collocated rollout's smaller KV-cache share of GPU memory (fewer sequences at once), and the
heavier resharding of a Megatron actor between phases.

The recipe (``cookbook/qwen2.5-1.5b-grpo``): 16 samples per prompt, up to 27,648 new tokens,
256 responses per GPU per step (its 512 x 16 on 32 GPUs, scaled with the GPU count).

Assumed costs (H100-class GPU, 1.5B model, bf16):

- decode: one rollout engine per GPU runs up to 256 sequences at once (continuous batching: a
  finished sequence's slot takes the next waiting one); a decode step takes 5 ms (reading the
  weights) plus 20 ms x running/256 (reading their KV caches): ~10k tokens/s per GPU at a full
  batch, the order of vLLM/SGLang's published 1-2B decode throughput, and faster per step as
  the batch drains in the tail.
- training: 12k trained tokens/s per GPU (forward, backward and the old-log-prob forward:
  ~8 x 1.5e9 FLOPs per token plus attention over ~8k-token contexts, at ~30% of 989 TFLOP/s),
  linear in tokens; prompts of 200 tokens.
- switching phases (collocated): 5 s per step to offload and reload weights and optimizer
  state (RLinf's collocated mode); weight sync (pipelined): 2 s per step.
- lengths: "long tail": log-normal, median 4,000 tokens, sigma 1.0, capped at 27,648 (R1-style
  reasoning: a few responses run to the cap); "uniform": every response the long tail's mean.

Collocated: every GPU generates, then every GPU trains. Pipelined: R GPUs generate, the others
train each prompt group as soon as its 16 responses are done (RLinf's disaggregated pipeline),
R chosen best from eighths of the GPUs. Prints the table; writes the plot.
"""

from __future__ import annotations

import argparse
import heapq
import os
import random
import statistics
import sys
from typing import Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from rlinf_core.plan.simulate import pipeline_end  # noqa: E402

GROUP, PER_GPU, CAP, PROMPT = 16, 256, 27_648, 200
DECODE_FIXED_S, SLOTS = 0.005, 256
DECODE_PER_SEQ_S = [0.020 / 256]
TRAIN_TOKENS_PER_S = [12_000.0]  # lists: each setting below sets them
SWITCH_S, SYNC_S = 5.0, 2.0


def lengths(kind: str, n: int, seed: int) -> List[int]:
    rng = random.Random(seed)
    tail = [min(CAP, max(1, int(rng.lognormvariate(8.294, 1.0)))) for _ in range(n)]  # e^8.294 ~ 4,000
    if kind == "long tail":
        return tail
    mean = int(statistics.mean(tail))
    return [mean] * n


def decode_step_s(running: int) -> float:
    """Memory-bound decode: the weights' read (fixed) plus the running sequences' KV cache reads."""
    return DECODE_FIXED_S + DECODE_PER_SEQ_S[0] * running


def engine_finish_times(group_lengths: List[List[int]]) -> List[float]:
    """One engine's groups (dispatched in order, up to ``SLOTS`` sequences running): when each
    group's last response is done. Event-driven: between two completions every running
    sequence gains the same tokens at a step time set by how many run."""
    waiting = [(g, n) for g, group in enumerate(group_lengths) for n in group]
    running: List[Tuple[int, int]] = []  # (token clock at which it finishes, group)
    clock, now, nxt = 0, 0.0, 0
    done = [0.0] * len(group_lengths)
    while nxt < len(waiting) or running:
        while nxt < len(waiting) and len(running) < SLOTS:
            g, n = waiting[nxt]
            heapq.heappush(running, (clock + n, g))
            nxt += 1
        finish, g = heapq.heappop(running)
        now += (finish - clock) * decode_step_s(len(running) + 1)
        clock = finish
        done[g] = max(done[g], now)
    return done


def rollout(groups: List[List[int]], engines: int) -> List[float]:
    """Each group's completion time, groups dealt round-robin to ``engines`` engines."""
    finish = [0.0] * len(groups)
    for e in range(engines):
        mine = list(range(e, len(groups), engines))
        for g, t in zip(mine, engine_finish_times([groups[g] for g in mine])):
            finish[g] = t
    return finish


def train_s(tokens: int, gpus: int) -> float:
    return tokens / (gpus * TRAIN_TOKENS_PER_S[0])


def collocated(groups: List[List[int]], gpus: int) -> float:
    tokens = sum(n + PROMPT for g in groups for n in g)
    return max(rollout(groups, gpus)) + train_s(tokens, gpus) + SWITCH_S


def pipelined(groups: List[List[int]], gpus: int) -> Tuple[float, int]:
    best = (float("inf"), 0)
    for eighth in range(1, 8):
        r = max(1, gpus * eighth // 8)
        if r >= gpus:
            continue
        arrivals = rollout(groups, r)
        works = [train_s(sum(n + PROMPT for n in g), gpus - r) for g in groups]
        best = min(best, (pipeline_end(arrivals, works) + SYNC_S, r))
    return best


def simulate(gpu_counts: List[int], seed: int) -> List[Dict[str, float]]:
    rows = []
    for kind in ("long tail", "uniform"):
        for gpus in gpu_counts:
            n = PER_GPU * gpus
            flat = lengths(kind, n, seed + gpus)
            groups = [flat[i : i + GROUP] for i in range(0, n, GROUP)]
            col = collocated(groups, gpus)
            pipe, r = pipelined(groups, gpus)
            rows.append({"lengths": kind, "gpus": gpus, "collocated_s": col, "pipelined_s": pipe, "rollout_gpus": r,
                         "speedup": col / pipe})
    return rows


SETTINGS = {"assumed costs": (20.0, 12_000.0), "sensitivity: decode KV part 2 ms": (2.0, 12_000.0)}


def run_setting(name: str, gpu_counts: List[int], seed: int) -> List[Dict[str, float]]:
    decode_ms, train_tps = SETTINGS[name]
    DECODE_PER_SEQ_S[0], TRAIN_TOKENS_PER_S[0] = decode_ms / 1000 / SLOTS, train_tps
    return [{"setting": name, **row} for row in simulate(gpu_counts, seed)]


def plot(rows: List[Dict[str, float]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.8, 3.8))
    for setting, colour in zip(SETTINGS, ("tab:blue", "tab:orange")):
        for kind, style in (("long tail", "o-"), ("uniform", "s--")):
            pts = [(r["gpus"], r["speedup"]) for r in rows if r["lengths"] == kind and r["setting"] == setting]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, color=colour, label=f"{setting}, {kind} lengths")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("GPUs")
    ax.set_ylabel("pipelined / collocated throughput")
    ax.set_title("Simulated with assumed GPU costs (nothing measured): 1.5B GRPO math", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gpus", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256, 512, 1024])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="docs/img/plan_at_scale.png")
    args = ap.parse_args()
    rows = [row for name in SETTINGS for row in run_setting(name, args.gpus, args.seed)]
    print("| costs | lengths | GPUs | collocated step | pipelined step (rollout GPUs) | pipelined / collocated |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['setting']} | {r['lengths']} | {r['gpus']} | {r['collocated_s']:.0f} s | {r['pipelined_s']:.0f} s "
              f"({r['rollout_gpus']}) | {r['speedup']:.2f}x |")
    plot(rows, args.out)
    print(f"\nplot: {args.out}")


if __name__ == "__main__":
    main()
