"""rlinf vs TRL's GRPOTrainer, side by side on this machine, alternating runs (issue: performance).

For each workload (:mod:`vs_trl_workloads`: ``tiny`` ~0.45M Qwen2 on math-tiny, ``small`` ~13M
Qwen2 on ~85-token worked three-digit additions) and seed, this runs ``rlinf run`` and TRL's
GRPOTrainer (:mod:`vs_trl_trl_child`) one after the other, each in its own process tree, from
the same SFT checkpoint, on the same prompts in the same order: 16 prompts x 8 samples per step,
temperature 1.0, one AdamW update over all 128 samples per step, equal lr/betas/eps/clipping,
no KL, token-level (DAPO) loss, group-std-normalised advantages, rlinf's math reward for both.

Reported per system (after ``--warmup`` steps): median step wall time, generated tokens/s
(completion tokens / generation time), trained tokens/s (prompt+completion tokens / train
time), peak PSS of the whole process tree (Ray's own processes and the grader pools
included), the reward curve, and training MFU: 6 x matmul params x trained tokens (+ causal
attention) / train time, against the fp32 and bf16 matmul peak measured in this run (2048^3,
2 threads, best of several, before and after the runs).

Run it in the bench venv (TRL is a peer, never an rlinf dependency; see vs_trl_trl_child.py)::

    /work/bench-venv/bin/python benchmarks/vs_trl.py --out /tmp/vs-trl [--workloads tiny small]

It writes ``results.json``, ``vs_trl.png`` and a markdown table (``table.md``) into ``--out``.
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List, Optional

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from vs_trl_workloads import WORKLOADS, load_rows, prepare  # noqa: E402

PROMPTS, GROUP = 16, 8


# -- measuring ----------------------------------------------------------------------------
def matmul_peak(threads: int = 2, n: int = 2048, budget_s: float = 3.0) -> Dict[str, float]:
    """Best GFLOP/s of an n^3 matmul (``x @ w.T``, as nn.Linear) in fp32 and bf16 on ``threads`` threads.

    Each dtype gets ``budget_s`` seconds of repeats; a dtype this CPU has no fast kernels for
    (bf16 without AVX-512-BF16/AMX runs at a few GFLOP/s) is measured at n=512 instead, so
    the measurement never takes minutes.
    """
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    out = {}
    try:
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            size = n
            a, b = torch.randn(512, 512, dtype=dtype), torch.randn(512, 512, dtype=dtype)
            t = time.perf_counter()
            a @ b.t()
            if 2 * 512**3 / (time.perf_counter() - t) < 20e9:
                size = 512
            a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
            a @ b.t()
            best, start = float("inf"), time.perf_counter()
            while time.perf_counter() - start < budget_s:
                t = time.perf_counter()
                a @ b.t()
                best = min(best, time.perf_counter() - t)
            out[name] = 2 * size**3 / best / 1e9
    finally:
        torch.set_num_threads(old)
    return out


class TreeMemory:
    """Peak summed PSS (proportional set size: shared pages split between sharers) of a process tree."""

    def __init__(self, pid: int, interval: float = 0.5):
        import psutil

        self.root, self.interval, self.peak_mb = psutil.Process(pid), interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            try:
                procs = [self.root] + self.root.children(recursive=True)
            except psutil.Error:
                break
            for p in procs:
                try:
                    total += p.memory_full_info().pss
                except psutil.Error:
                    pass
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(self.interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def run_tree(cmd: List[str], env: Dict[str, str], log_path: str) -> float:
    """Run ``cmd`` to completion with its output in ``log_path``; return the tree's peak PSS (MB)."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=os.path.dirname(HERE))
        # RLINF_BENCH_PSS_INTERVAL: seconds between PSS samples (reading smaps costs the sampled
        # processes time too, more for the system with more processes); 0 disables sampling.
        interval = float(os.environ.get("RLINF_BENCH_PSS_INTERVAL", "0.5"))
        mem = TreeMemory(proc.pid, interval) if interval > 0 else None
        rc = proc.wait()
        peak = mem.stop() if mem is not None else float("nan")
    if rc != 0:
        with open(log_path) as fh:
            tail = fh.read()[-3000:]
        raise RuntimeError(f"{cmd[:4]} exited with {rc}; last output:\n{tail}")
    return peak


def matmul_params(model_path: str) -> Dict[str, int]:
    """Parameters that take part in matmuls (embedding lookups excluded, a tied lm_head counted once)."""
    with open(os.path.join(model_path, "config.json")) as fh:
        c = json.load(fh)
    h, i, L, v = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"], c["vocab_size"]
    kv = h // c["num_attention_heads"] * c["num_key_value_heads"]
    per_layer = h * h * 2 + h * kv * 2 + 3 * h * i
    return {"matmul_params": L * per_layer + h * v, "hidden": h, "layers": L}


def train_flops(shape: Dict[str, int], seq_lengths: List[int]) -> float:
    """Forward+backward FLOPs: 6 N per token plus causal attention (QK^T and AV, 3x forward)."""
    tokens = sum(seq_lengths)
    attention = sum(3 * 2 * 2 * shape["layers"] * shape["hidden"] * n * (n + 1) / 2 for n in seq_lengths)
    return 6.0 * shape["matmul_params"] * tokens + attention


# -- the two systems ----------------------------------------------------------------------
def rlinf_config(w: Any, rows_path: str, model_path: str, seed: int, steps: int, out: str, extra: Dict[str, Any]) -> Dict[str, Any]:
    cfg = {
        "cluster": {"num_cpus_per_node": 2, "component_placement": "actor,rollout,reward: all",
                    "devices_per_rank": {"actor": 2, "rollout": 2, "reward": 2}},
        "runner": {"experiment_name": f"vs-trl-{w.name}", "output_dir": out, "max_steps": steps, "seed": seed,
                   "save_interval": 0, "val_interval": 0, "resume": "none"},
        "data": {"task": "math", "train_data_paths": [rows_path], "prompt_key": "prompt", "answer_key": "solutions",
                 "apply_chat_template": True, "max_prompt_length": w.max_prompt_length,
                 "rollout_batch_size": PROMPTS, "shuffle": False},
        "rollout": {"backend": "hf", "model": {"model_path": model_path}, "temperature": 1.0,
                    "max_new_tokens": w.max_new_tokens},
        "actor": {"backend": "torch", "global_batch_size": PROMPTS * GROUP, "micro_batch_size": w.micro_batch_size,
                  "num_epochs": 1, "optim": {"lr": w.lr, "weight_decay": 0.0, "clip_grad": 1.0}},
        "algorithm": {"name": "grpo", "group_size": GROUP, "loss_agg": "token-mean", "clip_ratio_low": 0.2,
                      "clip_ratio_high": 0.2, "kl_beta": 0.0},
        "reward": {"name": "math"},
        "tracking": {"backends": ["jsonl"]},
    }
    for dotted, value in extra.items():
        node = cfg
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return cfg


def run_rlinf(w: Any, paths: Dict[str, str], seed: int, steps: int, out: str, extra: Dict[str, Any]) -> Dict[str, Any]:
    os.makedirs(out, exist_ok=True)
    run_dir = os.path.join(out, "run")
    cfg_path = os.path.join(out, "recipe.yaml")
    with open(cfg_path, "w") as fh:
        yaml.safe_dump(rlinf_config(w, paths["rows"], paths["model"], seed, steps, run_dir, extra), fh, sort_keys=False)
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    peak = run_tree([sys.executable, "-m", "rlinf_core.cli", "run", cfg_path], env, os.path.join(out, "log.txt"))
    with open(os.path.join(run_dir, "metrics.jsonl")) as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    steps_out, last = [], None
    for r in rows:
        completion = int(round(r["rollout/response_length"] * PROMPTS * GROUP))
        total = int(round(r["throughput/tokens_per_s"] * r["time/step"]))
        wall = r["time"] - last if last is not None else r["time/step"]
        last = r["time"]
        steps_out.append({
            "step": r["step"], "wall_s": wall, "generate_s": r["time/rollout"], "generation_only_s": r["time/rollout"],
            "reward_s": r["time/reward"], "train_s": r["time/train"] + r["time/sync"],
            "reward_mean": r["rollout/rewards"], "correct_rate": r.get("rollout/accuracy"),
            "completion_tokens": completion, "prompt_tokens": total - completion,
            # sequences the trainer did not forward (advantage exactly 0: their gradient is 0)
            "skipped_seqs": r.get("train/skipped_zero_advantage_seqs", 0.0),
        })
    # The trainer runs a group's shared prompt once (actor.share_prompts, on by default).
    shared = bool(extra.get("actor.share_prompts", True))
    return {"system": "rlinf", "steps": steps_out, "peak_pss_mb": peak, "prompts_run_once_per_group": shared}


def run_trl(w: Any, paths: Dict[str, str], seed: int, steps: int, out: str, trl_python: str) -> Dict[str, Any]:
    os.makedirs(out, exist_ok=True)
    rows = load_rows(paths["rows"])[: steps * PROMPTS]
    spec = {
        "model_path": paths["model"], "rows": rows, "prompts_per_step": PROMPTS, "group_size": GROUP, "steps": steps,
        "max_new_tokens": w.max_new_tokens, "max_prompt_length": w.max_prompt_length, "temperature": 1.0,
        "lr": w.lr, "weight_decay": 0.0, "max_grad_norm": 1.0, "adam_beta1": 0.9, "adam_beta2": 0.999,
        "adam_eps": 1e-8, "seed": seed, "bf16": False, "threads": 2,
    }
    spec_path, result_path = os.path.join(out, "spec.json"), os.path.join(out, "result.json")
    with open(spec_path, "w") as fh:
        json.dump(spec, fh)
    peak = run_tree([trl_python, os.path.join(HERE, "vs_trl_trl_child.py"), "--spec", spec_path, "--out", result_path],
                    {**os.environ}, os.path.join(out, "log.txt"))
    with open(result_path) as fh:
        result = json.load(fh)
    result["peak_pss_mb"] = peak
    if not result.get("prompt_order_ok"):
        raise RuntimeError(f"TRL consumed prompts in another order than rlinf (see {result_path})")
    return result


# -- summarising --------------------------------------------------------------------------
def machine_speed(threads: int = 2, n: int = 1024, budget_s: float = 1.0) -> float:
    """Median fp32 GFLOP/s of n^3 matmuls over ``budget_s``, taken just before a run: a canary
    for how busy the shared machine is right then (the median, unlike the peak's best-of, moves
    with the neighbours' load)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b.t()
        times, start = [], time.perf_counter()
        while time.perf_counter() - start < budget_s:
            t = time.perf_counter()
            a @ b.t()
            times.append(time.perf_counter() - t)
    finally:
        torch.set_num_threads(old)
    return 2 * n**3 / statistics.median(times) / 1e9


def summarize(result: Dict[str, Any], warmup: int, shape: Dict[str, int], peaks: Dict[str, float], mean_prompt: float) -> Dict[str, Any]:
    steps = result["steps"][warmup:]
    gen_tokens = sum(s["completion_tokens"] for s in steps)
    trained = sum(s["completion_tokens"] + s["prompt_tokens"] for s in steps)
    gen_time = sum(s["generation_only_s"] for s in steps)
    train_time = sum(s["train_s"] for s in steps)
    # Sequence lengths for the attention term: mean prompt + this step's mean completion.
    flops = sum(train_flops(shape, [int(mean_prompt + s["completion_tokens"] / (PROMPTS * GROUP))] * PROMPTS * GROUP)
                for s in steps)
    # FLOPs actually executed: without the sequences rlinf skips (approximated by their share of
    # the batch) and, when prompts run once per group, without G-1 of every G prompt copies
    # (approximated by the token share; attention terms are small at these lengths).
    shared = result.get("prompts_run_once_per_group", False)

    def executed_share(s: Dict[str, Any]) -> float:
        keep = 1 - s.get("skipped_seqs", 0.0) / (PROMPTS * GROUP)
        if shared:
            response = s["completion_tokens"] / (PROMPTS * GROUP)
            keep *= (response + mean_prompt / GROUP) / (response + mean_prompt)
        return keep

    executed = sum(train_flops(shape, [int(mean_prompt + s["completion_tokens"] / (PROMPTS * GROUP))] * PROMPTS * GROUP)
                   * executed_share(s) for s in steps)
    effective = flops / train_time / 1e9
    achieved = executed / train_time / 1e9
    return {
        "steps_measured": len(steps),
        "median_step_s": statistics.median(s["wall_s"] for s in steps),
        "generated_tok_per_s": gen_tokens / gen_time,
        "trained_tok_per_s": trained / train_time,
        "step_tok_per_s": trained / sum(s["wall_s"] for s in steps),
        "median_generate_s": statistics.median(s["generate_s"] for s in steps),
        "median_train_s": statistics.median(s["train_s"] for s in steps),
        "train_gflops_effective": effective,
        "train_gflops": achieved,
        "skipped_seq_fraction": sum(s.get("skipped_seqs", 0.0) for s in steps) / (len(steps) * PROMPTS * GROUP),
        "mfu_vs_fp32_peak": achieved / peaks["fp32"],
        "mfu_vs_bf16_peak": achieved / peaks["bf16"],
        "peak_pss_mb": result["peak_pss_mb"],
        "machine_fp32_gflops_before": result.get("machine_fp32_gflops_before"),
        "mean_completion_tokens": gen_tokens / (len(steps) * PROMPTS * GROUP),
        "reward_first10": statistics.mean(s["reward_mean"] for s in result["steps"][:10]),
        "reward_last10": statistics.mean(s["reward_mean"] for s in result["steps"][-10:]),
        "rewards": [s["reward_mean"] for s in result["steps"]],
        "step_s": [s["wall_s"] for s in result["steps"]],
    }


def plot(results: Dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, axes = plt.subplots(2, len(names), figsize=(6 * len(names), 7), squeeze=False)
    colors = {"rlinf": "tab:blue", "trl": "tab:orange"}
    for j, name in enumerate(names):
        for run in results[name]["runs"]:
            s = run["summary"]
            label = f"{run['system']} seed {run['seed']}"
            style = "-" if run["seed"] == results[name]["seeds"][0] else "--"
            r = s["rewards"]
            smooth = [statistics.mean(r[max(0, i - 4) : i + 1]) for i in range(len(r))]  # trailing 5-step mean
            axes[0][j].plot(range(1, len(r) + 1), r, style, color=colors[run["system"]], alpha=0.25, linewidth=0.8)
            axes[0][j].plot(range(1, len(r) + 1), smooth, style, color=colors[run["system"]], label=label + " (5-step mean)")
            axes[1][j].plot(range(1, len(s["step_s"]) + 1), s["step_s"], style, color=colors[run["system"]], label=label)
        axes[0][j].set_title(f"{name}: mean reward per step (16 prompts x 8)")
        axes[0][j].set_xlabel("step")
        axes[0][j].set_ylabel("reward (+5 correct / -5 wrong)")
        axes[1][j].set_title(f"{name}: step wall time")
        axes[1][j].set_xlabel("step")
        axes[1][j].set_ylabel("seconds")
        axes[1][j].set_yscale("log")
        for ax in (axes[0][j], axes[1][j]):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _canary(summary: Dict[str, Any]) -> str:
    value = summary.get("machine_fp32_gflops_before")
    return f"{value:.0f}" if value else "–"


def table(results: Dict[str, Any]) -> str:
    lines = ["| workload | system | seed | median step | median gen / train | gen tok/s | train tok/s "
             "| train GFLOP/s effective (executed) | MFU vs fp32 / bf16 peak | peak PSS | reward first 10 → last 10 "
             "| machine fp32 GFLOP/s before the run |",
             "|" + "---|" * 12]
    for name, res in results.items():
        for run in res["runs"]:
            s = run["summary"]
            lines.append(
                f"| {name} | {run['system']} | {run['seed']} | {s['median_step_s']:.2f} s "
                f"| {s['median_generate_s']:.2f} / {s['median_train_s']:.2f} s | {s['generated_tok_per_s']:,.0f} "
                f"| {s['trained_tok_per_s']:,.0f} | {s['train_gflops_effective']:.0f} ({s['train_gflops']:.0f}) "
                f"| {s['mfu_vs_fp32_peak']:.0%} / "
                f"{s['mfu_vs_bf16_peak']:.0%} | {s['peak_pss_mb'] / 1024:.1f} GB | {s['reward_first10']:+.2f} → "
                f"{s['reward_last10']:+.2f} | {_canary(s)} |")
        for seed in res["seeds"]:
            by = {r["system"]: r["summary"] for r in res["runs"] if r["seed"] == seed}
            if len(by) == 2:
                lines.append(f"| {name} | **speed-up** | {seed} | **{by['trl']['median_step_s'] / by['rlinf']['median_step_s']:.2f}×** "
                             f"| | {by['rlinf']['generated_tok_per_s'] / by['trl']['generated_tok_per_s']:.2f}× "
                             f"| {by['rlinf']['trained_tok_per_s'] / by['trl']['trained_tok_per_s']:.2f}× | | | | | |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", nargs="+", default=["tiny", "small"], choices=sorted(WORKLOADS))
    ap.add_argument("--seeds", nargs="+", default=["tiny=1,2", "small=1"],
                    help="seeds per workload, WORKLOAD=S1,S2 (both systems run every seed)")
    ap.add_argument("--steps", nargs="+", default=["tiny=60", "small=25"], help="steps per workload, WORKLOAD=N")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--systems", nargs="+", default=["rlinf", "trl"], choices=["rlinf", "trl"])
    ap.add_argument("--cache", default="/tmp/rlinf-vs-trl")
    ap.add_argument("--out", default="/tmp/vs-trl")
    ap.add_argument("--trl-python", default=sys.executable)
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="extra rlinf config overrides (YAML values)")
    ap.add_argument("--from-results", metavar="RESULTS.json", help="only re-render the table and PNG from a previous run")
    ns = ap.parse_args(argv)
    if ns.from_results:
        with open(ns.from_results) as fh:
            saved = json.load(fh)
        report(saved["raw"], saved["meta"]["matmul_peak_gflops"], saved["meta"]["warmup_steps"], ns.cache, ns.out,
               saved["meta"]["rlinf_overrides"])
        return
    extra = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in ns.set)}
    seeds = {k: [int(x) for x in v.split(",")] for k, v in (s.split("=", 1) for s in ns.seeds)}
    steps_of = {k: int(v) for k, v in (s.split("=", 1) for s in ns.steps)}
    os.makedirs(ns.out, exist_ok=True)
    peaks_before = matmul_peak()
    print(f"matmul peak (2 threads, 2048^3): fp32 {peaks_before['fp32']:.0f} GFLOP/s, bf16 {peaks_before['bf16']:.0f}", flush=True)
    raw: List[Dict[str, Any]] = []
    for name in ns.workloads:
        w, steps = WORKLOADS[name], steps_of[name]
        paths = prepare(name, ns.cache)
        for k, seed in enumerate(seeds[name]):
            order = ns.systems if k % 2 == 0 else list(reversed(ns.systems))  # alternate who goes first
            for system in order:
                out = os.path.join(ns.out, name, f"{system}-seed{seed}")
                canary = machine_speed()
                t = time.time()
                if system == "rlinf":
                    result = run_rlinf(w, paths, seed, steps, out, extra)
                else:
                    result = run_trl(w, paths, seed, steps, out, ns.trl_python)
                result.update(seed=seed, workload=name, total_s=time.time() - t, machine_fp32_gflops_before=canary)
                raw.append(result)
                print(f"[{name}] {system} seed {seed}: {len(result['steps'])} steps in {result['total_s']:.0f}s", flush=True)
    peaks_after = matmul_peak()
    report(raw, {"before": peaks_before, "after": peaks_after}, ns.warmup, ns.cache, ns.out, extra)


def report(raw: List[Dict[str, Any]], peak_runs: Dict[str, Dict[str, float]], warmup: int, cache: str, out: str,
           extra: Dict[str, Any]) -> None:
    """Summaries, results.json, the PNG and the markdown table from the raw per-step records."""
    peaks = {k: max(r[k] for r in peak_runs.values()) for k in ("fp32", "bf16")}
    results: Dict[str, Any] = {}
    for result in raw:
        name = result["workload"]
        res = results.setdefault(name, {"seeds": [], "steps": len(result["steps"]), "runs": []})
        if result["seed"] not in res["seeds"]:
            res["seeds"].append(result["seed"])
        paths = prepare(name, cache)
        shape = matmul_params(paths["model"])
        mean_prompt = statistics.mean(s["prompt_tokens"] for s in result["steps"]) / (PROMPTS * GROUP)
        summary = summarize(result, warmup, shape, peaks, mean_prompt)
        res["runs"].append({"system": result["system"], "seed": result["seed"], "summary": summary})
        res["matmul_params"] = shape["matmul_params"]
    meta = {"date": time.strftime("%Y-%m-%d"), "matmul_peak_gflops": peak_runs, "warmup_steps": warmup,
            "prompts_per_step": PROMPTS, "group_size": GROUP, "rlinf_overrides": extra}
    with open(os.path.join(out, "results.json"), "w") as fh:
        json.dump({"meta": meta, "results": results, "raw": raw}, fh, indent=1, default=str)
    plot(results, os.path.join(out, "vs_trl.png"))
    md = table(results)
    with open(os.path.join(out, "table.md"), "w") as fh:
        fh.write(md + "\n")
    print(f"matmul peak: fp32 {peaks['fp32']:.0f} GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s")
    print(md)


if __name__ == "__main__":
    main()
