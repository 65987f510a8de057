"""Per-token log-probs and entropy from vocab-parallel logits, with gradients, without gathering the
vocabulary: each tensor-parallel rank holds one contiguous slice of the (padded) vocabulary.

Follows Megatron-LM's vocab-parallel cross entropy (Shoeybi et al. 2019, arXiv:1909.08053): the
softmax's maximum and normaliser, and the target's logit, are reduced over the tensor-parallel
group (``reduce_from_tensor_model_parallel_region``: an all-reduce forward, the identity
backward, since every rank computes the same loss from the reduced values). Deviations: these are
log-probs of ``softmax(logits / temperature)``, as the rollout samples; the entropy is returned
too; and the vocabulary padding (Megatron pads to a multiple of ``vocab_divisor x TP``) is
masked out, since the rollout samples over the true vocabulary and a padded column would
otherwise take probability mass.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import torch


def _all_reduce_sum(t: torch.Tensor, group: Any) -> torch.Tensor:
    if group is None or torch.distributed.get_world_size(group) == 1:
        return t
    from megatron.core.tensor_parallel.mappings import reduce_from_tensor_model_parallel_region

    return reduce_from_tensor_model_parallel_region(t.contiguous(), group)


def vocab_parallel_logprobs_and_entropy(
    logits: torch.Tensor,
    targets: torch.Tensor,
    vocab_start: int,
    vocab_size: int,
    temperature: float = 1.0,
    group: Optional[Any] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``logits[..., V_local]`` are this rank's columns ``vocab_start .. vocab_start + V_local`` of
    the padded vocabulary; ``targets[...]`` are global token ids below ``vocab_size`` (the true
    vocabulary). Returns fp32 ``(log_probs, entropy)``, each shaped like ``targets``, both
    differentiable with respect to ``logits``. ``group`` is the tensor-parallel process group
    (None: one rank holds the whole vocabulary)."""
    scaled = logits.float() / temperature
    width = scaled.shape[-1]
    columns = torch.arange(vocab_start, vocab_start + width, device=scaled.device)
    valid = columns < vocab_size
    # Padded columns become 0 before exp and are zeroed after it: no -inf enters the graph, so
    # no 0 * inf turns a gradient into NaN.
    lowest = torch.finfo(scaled.dtype).min
    peak = scaled.detach().masked_fill(~valid, lowest).amax(dim=-1)
    if group is not None and torch.distributed.get_world_size(group) > 1:
        torch.distributed.all_reduce(peak, op=torch.distributed.ReduceOp.MAX, group=group)
    shifted = torch.where(valid, scaled - peak.unsqueeze(-1), torch.zeros((), device=scaled.device))
    exp = torch.where(valid, shifted.exp(), torch.zeros((), device=scaled.device))
    normaliser = _all_reduce_sum(exp.sum(dim=-1), group)
    mine = (targets >= vocab_start) & (targets < vocab_start + width)
    local_index = (targets - vocab_start).clamp(0, width - 1)
    target_logit = shifted.gather(-1, local_index.unsqueeze(-1)).squeeze(-1)
    target_logit = _all_reduce_sum(torch.where(mine, target_logit, torch.zeros((), device=scaled.device)), group)
    log_normaliser = normaliser.log()
    logp = target_logit - log_normaliser
    # H = log Z - sum_v p_v * shifted_v, with sum_v p_v * shifted_v = sum_v exp_v * shifted_v / Z.
    weighted = _all_reduce_sum((exp * shifted).sum(dim=-1), group)
    entropy = log_normaliser - weighted / normaliser
    return logp, entropy
