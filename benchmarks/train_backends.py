"""Train-backend step time and per-rank memory on 2 ranks: torch DDP, torch FSDP2, DeepSpeed ZeRO-1/2/3.

The model is the vs_trl ``small`` shape (13M-parameter Qwen2, random init: a step's cost does not
depend on the weights' values), the batch a GRPO step of 64 sequences (8 groups of 8 sharing a
prompt of 48 tokens, responses of 96-128 tokens), 2 minibatches, micro-batches of 8, fp32. Each
configuration runs in two fresh processes (rank 0 and 1, gloo on loopback, 1 thread each) that
train ``--steps`` steps; the first is warm-up and excluded from the median.

Memory, per rank:
- ``model states``: bytes of the tensors the rank holds between steps, counted from the tensors
  themselves: parameters (FSDP2 and ZeRO-3: only its shard), ZeRO's fp32 partition of the
  parameters that its optimizer updates, and the optimizer's state (AdamW's two moments):
  what ZeRO promises to cut. Gradients are freed after every update in each backend, so they
  show only in the peak;
- ``peak RSS``: the process's high-water resident memory (Python, torch, activations, buffers).

    python benchmarks/train_backends.py --out benchmarks/train_backends_results.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from math_tiny_learning import cpu_model  # noqa: E402

CONFIGS = {
    "torch-ddp": ("torch", ["actor.strategy=ddp"]),
    "torch-fsdp2": ("torch", ["actor.strategy=fsdp2"]),
    "zero-1": ("deepspeed", ["actor.deepspeed.zero_stage=1"]),
    "zero-2": ("deepspeed", ["actor.deepspeed.zero_stage=2"]),
    "zero-3": ("deepspeed", ["actor.deepspeed.zero_stage=3"]),
}
SMALL = dict(hidden_size=384, num_layers=6, num_heads=6, num_kv_heads=2, intermediate_size=1536, vocab_size=448)


def batch(seed: int):
    """64 rows: 8 groups of 8 sharing a 48-token prompt, responses of 96-128 tokens."""
    import torch

    from rlinf_core import Ragged, TrajectoryBatch

    g = torch.Generator().manual_seed(seed)
    prompts = [torch.randint(4, 250, (48,), generator=g) for _ in range(8)]
    rows = [prompts[i // 8].clone() for i in range(64)]
    responses = [torch.randint(4, 250, (int(torch.randint(96, 129, (1,), generator=g)),), generator=g) for _ in range(64)]
    adv = torch.randn(64, generator=g)
    return TrajectoryBatch(
        prompt_ids=Ragged.from_list(rows), response_ids=Ragged.from_list(responses),
        response_logprobs=Ragged.from_list([torch.zeros(len(r)) for r in responses]), group_ids=torch.arange(64) // 8,
        prompt_uids=[str(i // 8) for i in range(64)], answers=[["1"]] * 64, truncated=torch.zeros(64, dtype=torch.bool),
        rewards=adv.clone(), advantages=adv,
    )


def model_state_bytes(backend: Any) -> Dict[str, int]:
    """Bytes of the parameters, ZeRO's fp32 partition and the optimizer state this rank holds."""
    import torch

    def nbytes(t: Any) -> int:
        t = getattr(t, "_local_tensor", t)  # an FSDP2 DTensor: this rank's shard
        return t.numel() * t.element_size() if isinstance(t, torch.Tensor) else 0

    module = getattr(backend.model, "module", backend.model)
    params = sum(nbytes(getattr(p, "ds_tensor", None)) or nbytes(p) for p in module.parameters())  # ZeRO-3: the partition
    opt = getattr(backend.optimizer, "optimizer", backend.optimizer)  # ZeRO wraps torch's AdamW
    states = sum(nbytes(v) for s in opt.state.values() for v in s.values())
    # ZeRO's fp32 copy of the rank's partition, which its optimizer updates (stages 1-2 / stage 3).
    partitions = getattr(backend.optimizer, "single_partition_of_fp32_groups", None) or getattr(
        backend.optimizer, "fp32_partitioned_groups_flat", [])
    master = sum(nbytes(t) for t in partitions)
    return {"params": params, "fp32_partition": master, "optimizer": states}


def rank_main(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(1)
    from rlinf_core import TrainSetup, get_registry
    from rlinf_core.config import load_config, section

    backend_name, overrides = CONFIGS[args.config]
    cfg = load_config(None, [f"rollout.model.model_path={args.model}", f"actor.backend={backend_name}", *overrides,
                             "actor.global_batch_size=64", "actor.micro_batch_size=8", "actor.optim.lr=1e-5",
                             "data.rollout_batch_size=8", "algorithm.group_size=8"])
    registry = get_registry(())
    backend = registry.get("train_backends", backend_name)(section(cfg, "actor"), rank=args.rank, world_size=2)
    algorithm = registry.get("algorithms", "grpo")(section(cfg, "algorithm"))
    backend.load(TrainSetup(seed=0, temperature=1.0, total_optimizer_steps=2 * args.steps, dist_addr="127.0.0.1", dist_port=args.port))
    times: List[float] = []
    for step in range(args.steps):
        b = batch(step)
        mine = b.select(list(range(args.rank, 64, 2)))
        t0 = time.perf_counter()
        backend.train_step(mine, algorithm, 2, True)
        times.append(time.perf_counter() - t0)
    memory = model_state_bytes(backend)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with open(args.result, "w") as fh:
        json.dump({"times": times, "model_states": memory, "peak_rss": peak}, fh)


def run_config(name: str, model: str, steps: int) -> Dict[str, Any]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        results = [os.path.join(tmp, f"rank{r}.json") for r in (0, 1)]
        procs = [subprocess.Popen([sys.executable, __file__, "--rank", str(r), "--config", name, "--model", model,
                                   "--port", str(port), "--steps", str(steps), "--result", results[r]],
                                  env={**os.environ, "OMP_NUM_THREADS": "1"}) for r in (0, 1)]
        if any(p.wait() != 0 for p in procs):
            raise SystemExit(f"{name}: a rank failed")
        ranks = [json.load(open(f)) for f in results]
    step = [statistics.median(r["times"][1:]) for r in ranks]
    return {"config": name, "step_s": max(step), "ranks": ranks}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("configs", nargs="*", default=list(CONFIGS))
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--out", default=os.path.join(HERE, "train_backends_results.json"))
    p.add_argument("--rank", type=int)
    p.add_argument("--config")
    p.add_argument("--model")
    p.add_argument("--port", type=int)
    p.add_argument("--result")
    args = p.parse_args()
    if args.rank is not None:
        return rank_main(args)
    from rlinf_core.testing.fixtures import TINY_CORPUS
    from rlinf_core.tiny import TinyModelSpec, build_tiny_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_checkpoint(os.path.join(tmp, "small"), TINY_CORPUS, TinyModelSpec(**SMALL))
        rows = [run_config(name, model, args.steps) for name in args.configs]
    mib = 2**20
    print(f"\n{cpu_model()}; 13M Qwen2, 64 sequences x ~170 tokens per step, 2 ranks x 1 thread, fp32")
    print(f"{'config':12} {'step s':>7} {'params':>8} {'fp32 part':>9} {'optim':>8} {'states':>8} {'peak RSS':>9}  (MiB, rank 0)")
    for r in rows:
        m, peak = r["ranks"][0]["model_states"], r["ranks"][0]["peak_rss"]
        total = sum(m.values())
        print(f"{r['config']:12} {r['step_s']:7.2f} {m['params'] / mib:8.1f} {m['fp32_partition'] / mib:9.1f} "
              f"{m['optimizer'] / mib:8.1f} {total / mib:8.1f} {peak / mib:9.0f}")
    with open(args.out, "w") as fh:
        json.dump({"cpu": cpu_model(), "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
