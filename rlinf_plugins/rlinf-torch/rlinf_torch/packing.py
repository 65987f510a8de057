"""Laying ragged (prompt, response) pairs out in rows for one forward pass.

Two layouts, chosen by ``row_tokens``:

- ``row_tokens <= 0``: one sequence per row, right-padded to the longest. No attention mask
  is needed (padding comes after every real token, so plain causal attention is exact), which
  lets PyTorch's fused causal SDPA kernel run. On a CPU at RL response lengths this is the
  fastest layout (measured: 28% faster than 512-token packed rows for the tiny Qwen2), and the
  train backend keeps padding small by cutting micro-batches from length-sorted sequences.
- ``row_tokens > 0``: sequences laid back to back in rows of at most ``row_tokens`` tokens
  (first-fit decreasing; a longer sequence gets a row of its own); position ids restart at 0
  for each sequence and a block-diagonal causal mask keeps sequences from attending to each
  other (transformers accepts a 4-D boolean mask as is). Attention over a packed row costs
  O(row length^2), so rows are kept short. With FlashAttention-2 (GPUs), restarting position
  ids alone marks the boundaries and no mask is built: there packing has no extra cost.

The logits that predict response token j of a sequence sit one position before it;
``logit_index`` lists them, in the original sequence order, in the flattened
``[rows * width]`` logits.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import List, Optional

import torch


@dataclass
class PackedBatch:
    input_ids: torch.Tensor  # [R, W]
    position_ids: torch.Tensor  # [R, W]
    attention_mask: Optional[torch.Tensor]  # [R, 1, W, W] bool, or None for flash attention
    logit_index: torch.Tensor  # [T] flat positions whose logits predict the response tokens
    targets: torch.Tensor  # [T] the response tokens, sequence by sequence
    response_lengths: torch.Tensor  # [S]


def _assign_rows(lengths: List[int], row_tokens: int) -> List[List[int]]:
    if row_tokens <= 0:
        return [[s] for s in range(len(lengths))]
    rows: List[List[int]] = []
    room: List[int] = []
    for s in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        for r, free in enumerate(room):
            if lengths[s] <= free:
                rows[r].append(s)
                room[r] -= lengths[s]
                break
        else:
            rows.append([s])
            room.append(max(row_tokens, lengths[s]) - lengths[s])
    return rows


def pack(
    prompts: List[torch.Tensor], responses: List[torch.Tensor], build_mask: bool = True, row_tokens: int = 512, pad_id: int = 0
) -> PackedBatch:
    for p in prompts:
        if len(p) == 0:
            raise ValueError("cannot score a response without a prompt token to condition on")
    lengths = [len(p) + len(r) for p, r in zip(prompts, responses)]
    rows = _assign_rows(lengths, row_tokens)
    width = max(sum(lengths[s] for s in row) for row in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    position_ids = torch.zeros((len(rows), width), dtype=torch.long)
    segment = torch.full((len(rows), width), -1, dtype=torch.long)
    starts = [0] * len(prompts)
    for r, row in enumerate(rows):
        offset = 0
        for s in row:
            n = lengths[s]
            input_ids[r, offset : offset + n] = torch.cat([prompts[s], responses[s]])
            position_ids[r, offset : offset + n] = torch.arange(n)
            segment[r, offset : offset + n] = s
            starts[s] = r * width + offset
            offset += n
    mask = None
    # One sequence per row, starting at 0: causal attention alone is exact (padding trails).
    if build_mask and any(len(row) > 1 for row in rows):
        causal = torch.ones(width, width, dtype=torch.bool).tril()
        same = segment[:, :, None] == segment[:, None, :]
        pad = segment < 0
        # Padding attends to itself only, so its softmax stays finite; nothing attends to it.
        mask = (causal & same & ~pad[:, :, None]) | torch.diag_embed(pad)
        mask = mask[:, None]
    logit_index = torch.cat(
        [starts[s] + len(prompts[s]) - 1 + torch.arange(len(responses[s])) for s in range(len(prompts))]
    )
    return PackedBatch(
        input_ids=input_ids,
        position_ids=position_ids,
        attention_mask=mask,
        logit_index=logit_index.long(),
        targets=torch.cat(list(responses)).long(),
        response_lengths=torch.tensor([len(r) for r in responses], dtype=torch.long),
    )


def token_logprobs_and_entropy(logits: torch.Tensor, targets: torch.Tensor, temperature: float, entropy_grad: bool = False):
    """Log-prob of each target and the entropy of its distribution, softmax(logits / temperature).

    The entropy is a diagnostic unless a loss term uses it (``entropy_grad``, e.g. an entropy
    bonus): only then is it computed inside autograd, since its graph holds the full
    [tokens, vocab] distribution for the backward pass.
    """
    logp = torch.log_softmax(logits.float() / temperature, dim=-1)
    chosen = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    with contextlib.nullcontext() if entropy_grad else torch.no_grad():
        entropy = -(logp.exp() * logp).sum(-1)
    return chosen, entropy
