"""Run as a script: two gloo ranks each hold the logits of their context-parallel positions of one
micro-batch, score their response tokens, gather them whole, and backpropagate a fixed loss.

    python cp_logprobs.py WORKDIR PORT
"""

import os
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def rank_main(rank: int, workdir: str, port: int) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    from rlinf_megatron.context import cp_positions, localize
    from rlinf_megatron.micro import VocabSlice, response_logprobs

    data = torch.load(os.path.join(workdir, "in.pt"), weights_only=False)
    mb, logits, w = data["mb"], data["logits"], data["weights"]
    group = dist.new_group([0, 1])
    positions = cp_positions(int(mb.input_ids.shape[1]), 2, rank)
    mine = logits[:, positions].clone().requires_grad_(True)  # what this rank's model would output
    local = localize(mb, 2, rank)
    assert torch.equal(local.input_ids, mb.input_ids[:, positions])
    logp, entropy = response_logprobs(mine, local, VocabSlice(0, data["vocab"], 0.9, None, group))
    ((logp @ w["logp"] + entropy @ w["entropy"]) / 2).backward()  # every rank computes the same loss: / CP
    torch.save({"logp": logp.detach(), "entropy": entropy.detach(), "grad": mine.grad, "positions": positions},
               os.path.join(workdir, f"rank{rank}.pt"))
    dist.barrier()


if __name__ == "__main__":
    mp.spawn(rank_main, args=(sys.argv[1], int(sys.argv[2])), nprocs=2)
