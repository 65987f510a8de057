"""Run as a script: two gloo ranks each hold half of a padded vocabulary's logits and compute
vocab_parallel_logprobs_and_entropy and its gradient for fixed weights.

    python tp_logprobs.py WORKDIR PORT VOCAB TEMPERATURE
"""

import os
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def rank_main(rank: int, workdir: str, port: int, vocab: int, temperature: float) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    from rlinf_megatron.logprobs import vocab_parallel_logprobs_and_entropy

    data = torch.load(os.path.join(workdir, "in.pt"))
    logits, targets = data["logits"], data["targets"]
    width = logits.shape[-1] // 2
    mine = logits[:, rank * width : (rank + 1) * width].clone().requires_grad_(True)
    group = dist.new_group([0, 1])
    logp, ent = vocab_parallel_logprobs_and_entropy(mine, targets, rank * width, vocab, temperature, group)
    g = torch.Generator().manual_seed(11)
    w = {"logp": torch.randn(len(targets), generator=g), "entropy": torch.randn(len(targets), generator=g)}
    (logp @ w["logp"] + ent @ w["entropy"]).backward()
    torch.save({"logp": logp.detach(), "entropy": ent.detach(), "grad": mine.grad}, os.path.join(workdir, f"rank{rank}.pt"))
    if rank == 0:
        torch.save(w, os.path.join(workdir, "weights.pt"))
    dist.barrier()


if __name__ == "__main__":
    workdir, port, vocab, temperature = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    mp.spawn(rank_main, args=(workdir, port, vocab, temperature), nprocs=2)
