"""Context parallelism (``actor.megatron.context_parallel_size``): which sequence positions a
context-parallel rank runs, and its response tokens' log-probs gathered back whole.

Follows Megatron-LM's load-balanced split for causal attention (Korthikanti et al. 2022; Megatron-
Core's ``get_batch_on_this_cp_rank``): the padded sequence is cut into 2 x CP equal chunks and
rank r holds chunks r and 2 x CP - 1 - r, so every rank has as much attention work; Transformer
Engine's attention exchanges keys and values between the ranks. The logits a rank computes are
those of its own positions, so it scores only the response tokens predicted there.

Deviation: the loss is not computed on each rank's share. Every loss aggregation the algorithms
use (a sequence mean among them) needs a sequence's tokens together, so the ranks' log-probs
and entropies are all-gathered, differentiably, into the micro-batch's full token order; each
rank then computes the same loss, and its backward returns to every rank the gradient of its own
tokens summed over the CP ranks, i.e. CP times the true one: the loss is divided by CP
(:func:`rlinf_megatron.micro.forward_backward`). Megatron's DDP then sums the parameter gradients
over the data- and context-parallel ranks.
"""

from __future__ import annotations

import dataclasses
from typing import Any, List

import torch


def cp_positions(width: int, cp: int, rank: int) -> torch.Tensor:
    """The sequence positions context-parallel rank ``rank`` of ``cp`` holds (``width`` a multiple of 2 x cp)."""
    if width % (2 * cp):
        raise ValueError(f"a sequence of {width} positions does not split into 2 x {cp} equal chunks")
    size = width // (2 * cp)
    first, second = rank * size, (2 * cp - 1 - rank) * size
    return torch.cat([torch.arange(first, first + size), torch.arange(second, second + size)])


def localize(mb: Any, cp: int, rank: int) -> Any:
    """``mb`` (a :class:`~rlinf_megatron.micro.MicroBatch`) as context-parallel rank ``rank`` runs
    it: its positions of the ids, and the response tokens whose logits fall there, with where
    they sit in the micro-batch's full token order (``local_tokens``)."""
    width = int(mb.input_ids.shape[1])
    positions = cp_positions(width, cp, rank).to(mb.input_ids.device)
    inverse = torch.full((width,), -1, dtype=torch.long, device=positions.device)
    inverse[positions] = torch.arange(len(positions), device=positions.device)
    mine = inverse[mb.token_cols] >= 0
    return dataclasses.replace(
        mb, input_ids=mb.input_ids[:, positions], position_ids=mb.position_ids[:, positions],
        token_rows=mb.token_rows[mine], token_cols=inverse[mb.token_cols[mine]], targets=mb.targets[mine],
        local_tokens=torch.nonzero(mine).squeeze(-1), total_tokens=int(mb.token_cols.numel()),
    )


def gather_tokens(values: torch.Tensor, local_tokens: torch.Tensor, total: int, group: Any) -> torch.Tensor:
    """The full ``[total]`` tensor from every rank's ``values`` at its ``local_tokens``,
    differentiable (the backward hands each rank the summed gradient of its own tokens)."""
    from torch.distributed.nn.functional import all_gather

    world = torch.distributed.get_world_size(group)
    count = torch.tensor([values.numel()], device=values.device)
    counts: List[torch.Tensor] = [torch.zeros_like(count) for _ in range(world)]
    torch.distributed.all_gather(counts, count, group=group)
    longest = int(max(int(c) for c in counts))
    pad = longest - values.numel()
    padded_values = torch.cat([values, values.new_zeros(pad)])
    padded_index = torch.cat([local_tokens, local_tokens.new_zeros(pad)])
    indices: List[torch.Tensor] = [torch.zeros_like(padded_index) for _ in range(world)]
    torch.distributed.all_gather(indices, padded_index, group=group)
    pieces = all_gather(padded_values, group=group)
    out = values.new_zeros(total)
    for n, index, piece in zip(counts, indices, pieces):
        out = out.index_put((index[: int(n)],), piece[: int(n)])
    return out
