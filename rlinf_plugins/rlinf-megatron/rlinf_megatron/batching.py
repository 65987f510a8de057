"""Which rows a Megatron actor rank trains on, and in which micro-batches.

The flow hands each actor rank its own shard of a step's rows, as it does for data-parallel
backends. Under Megatron the ranks that hold one model replica between them (its tensor, pipeline
and context parallel ranks) must run the same rows, so they train on the union of their
shards: minibatch by minibatch (minibatch m of the union is every member's minibatch m), so each
optimizer update covers the rows the flow meant it to, whatever the parallel layout.

Micro-batches follow RLinf's dynamic batching (arXiv:2509.15965, ``max_tokens_per_mbs``):
length-sorted sequences are cut so that a micro-batch's padded size (rows x its longest
sequence) stays within a token budget, so short sequences are not run in micro-batches sized for
the longest. Without a budget, a fixed number of length-sorted rows per micro-batch.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple


def union_order(shard_sizes: Sequence[int], num_minibatches: int) -> Tuple[List[Tuple[int, int]], List[List[int]]]:
    """The union of one replica's ranks' shards, minibatch by minibatch.

    Returns ``(order, positions)``: ``order[k] = (member, row)`` is the union's row ``k``, and
    ``positions[member][row]`` is where that member's row went. Each shard must split into
    ``num_minibatches`` equal minibatches (the flow's sizing guarantees it)."""
    for member, size in enumerate(shard_sizes):
        if size % num_minibatches:
            raise ValueError(f"actor rank {member}'s {size} rows do not split into {num_minibatches} minibatches")
    order: List[Tuple[int, int]] = []
    positions: List[List[int]] = [[-1] * size for size in shard_sizes]
    for m in range(num_minibatches):
        for member, size in enumerate(shard_sizes):
            per = size // num_minibatches
            for row in range(m * per, (m + 1) * per):
                positions[member][row] = len(order)
                order.append((member, row))
    return order, positions


def micro_batches(lengths: Sequence[int], rows: Sequence[int], max_tokens: int, max_rows: int) -> List[List[int]]:
    """``rows`` cut into micro-batches of similar length. With ``max_tokens > 0``, each holds as
    many length-sorted rows as keep ``len(micro-batch) x its longest sequence <= max_tokens`` (a
    sequence longer than the budget runs alone); otherwise ``max_rows`` rows each."""
    ordered = sorted(rows, key=lambda i: (int(lengths[i]), i))
    if max_tokens <= 0:
        return [ordered[i : i + max_rows] for i in range(0, len(ordered), max_rows)]
    out: List[List[int]] = []
    current: List[int] = []
    for i in ordered:
        # Sorted ascending, so row i is the longest of the micro-batch it joins.
        if current and (len(current) + 1) * int(lengths[i]) > max_tokens:
            out.append(current)
            current = []
        current.append(i)
    if current:
        out.append(current)
    return out
