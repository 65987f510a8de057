"""One Megatron micro-batch: the padded token rows GPTModel takes, where each response token's
logits sit, and the forward/backward of a list of them through Megatron-Core's pipeline schedules.

Layout: one sequence (prompt + response) per row, right-padded. GPTModel's attention is causal,
so a real token never attends to the padding after it and no padding mask is needed; the
logits at a pad are computed and never read. The logits predicting response token ``k`` of a
row sit at position ``prompt_length + k - 1``.

The schedules (``get_forward_backward_func``: no pipelining for one stage, 1F1B otherwise) run
the forwards and backwards; the loss is computed on the last pipeline stage only, from the
vocab-parallel logits (:mod:`rlinf_megatron.logprobs`), and what it reports comes back as the
schedule's per-micro-batch outputs on that stage.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from rlinf_core import TrajectoryBatch
from rlinf_megatron.context import gather_tokens
from rlinf_megatron.logprobs import vocab_parallel_logprobs_and_entropy
from rlinf_torch.packing import pack

# (micro-batch, log-probs [T], entropy [T]) -> (loss, what to report)
LossOf = Callable[["MicroBatch", torch.Tensor, torch.Tensor], Tuple[torch.Tensor, Dict[str, Any]]]


@dataclass
class MicroBatch:
    rows: List[int]  # the batch's rows, in this micro-batch's order
    input_ids: torch.Tensor  # [b, s] right-padded
    position_ids: torch.Tensor  # [b, s]
    token_rows: torch.Tensor  # [T] the row of each response token
    token_cols: torch.Tensor  # [T] the position whose logits predict it
    targets: torch.Tensor  # [T] the response tokens
    response_lengths: torch.Tensor  # [b] on CPU
    # Under context parallelism (:mod:`rlinf_megatron.context`): where this rank's tokens sit in
    # the micro-batch's full token order, and how many there are in all.
    local_tokens: Optional[torch.Tensor] = None
    total_tokens: int = 0


def make_micro_batch(
    batch: TrajectoryBatch, rows: Sequence[int], pad_id: int, device: torch.device, width_multiple: int = 1
) -> MicroBatch:
    """``rows`` of ``batch`` as one micro-batch; the width is rounded up to ``width_multiple``
    (sequence parallelism splits the sequence over the tensor-parallel ranks)."""
    packed = pack([batch.prompt_ids[i] for i in rows], [batch.response_ids[i] for i in rows], build_mask=False,
                  row_tokens=0, pad_id=pad_id)  # rlinf-torch's one-sequence-per-row layout
    width = int(packed.input_ids.shape[1])
    wide = -(-width // width_multiple) * width_multiple
    input_ids = torch.nn.functional.pad(packed.input_ids, (0, wide - width), value=pad_id)
    position_ids = torch.arange(wide).unsqueeze(0).expand(len(rows), wide).contiguous()
    return MicroBatch(
        rows=list(rows), input_ids=input_ids.to(device), position_ids=position_ids.to(device),
        token_rows=(packed.logit_index // width).to(device), token_cols=(packed.logit_index % width).to(device),
        targets=packed.targets.long().to(device), response_lengths=packed.response_lengths,
    )


@dataclass
class VocabSlice:
    """This tensor-parallel rank's columns of the padded vocabulary, and the softmax settings."""

    start: int
    true_size: int  # the checkpoint's vocabulary (the padding is masked out)
    temperature: float
    group: Any  # the tensor-parallel process group
    context_group: Any = None  # the context-parallel group, when context_parallel_size > 1


def response_logprobs(logits: torch.Tensor, mb: MicroBatch, vocab: VocabSlice) -> Tuple[torch.Tensor, torch.Tensor]:
    """Log-probs and entropies of ``mb``'s response tokens from logits ``[b, s, V_local]``, in
    the micro-batch's full token order (gathered over the context-parallel ranks when split)."""
    picked = logits[mb.token_rows, mb.token_cols]
    logp, entropy = vocab_parallel_logprobs_and_entropy(
        picked, mb.targets, vocab.start, vocab.true_size, vocab.temperature, vocab.group
    )
    if mb.local_tokens is None:
        return logp, entropy
    return (gather_tokens(logp, mb.local_tokens, mb.total_tokens, vocab.context_group),
            gather_tokens(entropy, mb.local_tokens, mb.total_tokens, vocab.context_group))


def forward_backward(model: Any, micro: List[MicroBatch], vocab: VocabSlice, loss_of: LossOf, forward_only: bool) -> List[Dict[str, Any]]:
    """Run ``micro`` through Megatron's schedule for the current parallel layout (backwards too
    unless ``forward_only``); returns ``loss_of``'s reports, one per micro-batch, on the last
    pipeline stage (an empty list on the others)."""
    from megatron.core.pipeline_parallel import get_forward_backward_func

    def loss_func(mb: MicroBatch, logits: torch.Tensor):
        logp, entropy = response_logprobs(logits, mb, vocab)
        loss, report = loss_of(mb, logp, entropy)
        if mb.local_tokens is not None:  # every context-parallel rank computed this same loss
            loss = loss / torch.distributed.get_world_size(vocab.context_group)
        return loss, torch.tensor(logp.numel(), dtype=torch.int, device=logp.device), report

    def forward_step(data_iterator, chunk):
        mb = next(data_iterator)
        return chunk(mb.input_ids, mb.position_ids, None), functools.partial(loss_func, mb)

    run = get_forward_backward_func()
    kwargs = dict(
        forward_step_func=forward_step, data_iterator=iter(micro), model=[model], num_microbatches=len(micro),
        seq_length=max(int(mb.input_ids.shape[1]) for mb in micro),
        micro_batch_size=max(int(mb.input_ids.shape[0]) for mb in micro), forward_only=forward_only,
    )
    if forward_only:
        with torch.no_grad():
            return list(run(**kwargs))
    return list(run(**kwargs))
