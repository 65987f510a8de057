"""Run as a script: two gloo ranks under Megatron-Core's parallel_state, first as two data-parallel
replicas (context parallel 1), then as one replica split over context parallelism 2; each time,
which ranks train on the same rows and the union of their shards.

    python same_rows.py WORKDIR PORT
"""

import os
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def rank_main(rank: int, workdir: str, port: int) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    from megatron.core import parallel_state as ps

    from rlinf_core.testing.batches import random_trajectory_batch
    from rlinf_megatron.parallel import group_union, same_rows_group

    shard = random_trajectory_batch(4, seed=10 + rank)
    out = {}
    for cp in (1, 2):
        ps.initialize_model_parallel(1, 1, context_parallel_size=cp)
        group = same_rows_group()
        union, positions = group_union(shard, 2, group)
        out[cp] = {"size": dist.get_world_size(group), "member": dist.get_rank(group),
                   "union": [t.tolist() for t in (union.response_ids[i] for i in range(len(union)))],
                   "positions": positions}
        ps.destroy_model_parallel()
    torch.save(out, os.path.join(workdir, f"rank{rank}.pt"))
    dist.barrier()


if __name__ == "__main__":
    mp.spawn(rank_main, args=(sys.argv[1], int(sys.argv[2])), nprocs=2)
