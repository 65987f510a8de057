"""rlinf's own decode loop for the HF rollout: sampling with a KV cache that drops finished rows.

transformers' ``generate()`` keeps every sequence in the batch until the longest one ends and
runs a general-purpose pipeline (logits processors, stopping criteria, score bookkeeping for
every vocabulary entry) on each token. On a CPU, where a step of a small model costs a few
milliseconds, that per-token overhead and the finished rows are a large part of rollout time.
This loop does only what GRPO needs: a prefill that computes logits for the last prompt
position only, then per token one forward of the live rows, sampling from
softmax(logits / T) with optional top-k / top-p (transformers' order: temperature, top-k,
top-p), the log-prob of the drawn token under that processed distribution, and removal of rows
that emitted EOS from the batch, the attention mask and the KV cache.

Sampling semantics match ``generate(do_sample=True)``; the random draws differ (one uniform
number per live row and step, inverted through the cumulative distribution), so the two
engines give different samples for the same seed. Greedy decoding (temperature 0) gives the same tokens as ``generate``
(tested) and reports the raw log-softmax, as the ``generate`` path does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch

from rlinf_core import distinct_rows, left_pad
from rlinf_core.models import kv_cache_keyword
from rlinf_core.plan.decode_cost import DecodeSteps


def preallocated_cache(num_layers: int, capacity: int):
    """A transformers KV cache whose layers write into buffers of ``capacity`` positions.

    transformers' DynamicCache concatenates each new position onto the whole cache, a copy
    of every layer's keys and values per token (measured: ~40% of a tiny Qwen2's decode step
    at batch 128). These layers allocate once and hand out views; dropping rows copies only
    the live ones.
    """
    from transformers.cache_utils import Cache, DynamicLayer

    class PreallocatedLayer(DynamicLayer):
        def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
            b, h, _, d = key_states.shape
            self.device = key_states.device
            self._k = key_states.new_empty((b, h, capacity, d))
            self._v = value_states.new_empty((b, h, capacity, value_states.shape[-1]))
            self.length = 0
            self.is_initialized = True

        def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            end = self.length + key_states.shape[-2]
            if end > capacity:
                raise RuntimeError(f"KV cache overflow: {end} positions, capacity {capacity}")
            self._k[:, :, self.length : end] = key_states
            self._v[:, :, self.length : end] = value_states
            self.length = end
            self.keys, self.values = self._k[:, :, :end], self._v[:, :, :end]
            return self.keys, self.values

        def get_seq_length(self) -> int:
            return self.length if self.is_initialized else 0

        def batch_select_indices(self, indices: torch.Tensor) -> None:
            if self.is_initialized:
                self._k, self._v = self._k[indices], self._v[indices]
                self.keys, self.values = self._k[:, :, : self.length], self._v[:, :, : self.length]

    return Cache(layers=[PreallocatedLayer() for _ in range(num_layers)])


@dataclass
class Decoded:
    responses: List[torch.Tensor]  # token ids per prompt, EOS included when emitted
    logprobs: List[torch.Tensor]  # log-prob of each token under the sampling distribution
    truncated: List[bool]  # True when max_new_tokens ran out before EOS


def processed_logprobs(logits: torch.Tensor, temperature: float, top_k: int, top_p: float) -> torch.Tensor:
    """log-softmax of the logits after temperature, top-k (``top_k > 0``) and top-p (< 1) filtering."""
    logits = logits.float()
    if temperature <= 0:
        return torch.log_softmax(logits, dim=-1)
    logits = logits / temperature
    if 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=False, dim=-1)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        # Drop the low tail whose mass is at most 1 - top_p; the most likely token always stays.
        drop = cumulative <= (1 - top_p)
        drop[..., -1] = False
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    return torch.log_softmax(logits, dim=-1)


def _pick(logits: torch.Tensor, temperature: float, top_k: int, top_p: float) -> Tuple[torch.Tensor, torch.Tensor]:
    logp = processed_logprobs(logits, temperature, top_k, top_p)
    if temperature <= 0:
        token = logp.argmax(dim=-1)
    else:
        token = sample_inverse_cdf(logp.exp())
    return token, logp.gather(-1, token[:, None]).squeeze(-1)


def sample_inverse_cdf(probs: torch.Tensor) -> torch.Tensor:
    """One draw per row of ``probs`` [B, V] by inverting the cumulative distribution.

    Exact like ``torch.multinomial``, but it needs one uniform number per row instead of one
    exponential per vocabulary entry (multinomial's method: ~1 ms per step at batch 128 on
    this CPU, more than the tiny model's forward). ``side="right"`` returns the first index
    whose cumulative mass exceeds the draw, so a token of probability 0 is never picked.
    """
    cdf = probs.double().cumsum(dim=-1)
    u = torch.rand((probs.shape[0], 1), dtype=torch.float64, device=probs.device) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True).squeeze(-1).clamp_(max=probs.shape[-1] - 1)


@torch.inference_mode()
def decode(
    model: torch.nn.Module,
    prompts: Sequence[torch.Tensor],
    *,
    temperature: float,
    top_k: int,
    top_p: float,
    max_new_tokens: int,
    eos_ids: Sequence[int],
    pad_id: int,
    device: torch.device,
    steps: Optional[DecodeSteps] = None,
) -> Decoded:
    """Sample one response per prompt (left-padded batch); rows leave the batch at EOS.

    Identical prompts (GRPO's G samples of one prompt) are prefilled once: the distinct
    prompts' KV cache and last logits are then copied to every row that shares them.
    ``steps``, when given, records each decode step's live rows and seconds (CPU only: on a GPU
    the kernels run asynchronously, so per-step wall times would need a synchronisation).
    """
    n = len(prompts)
    rows = distinct_rows(prompts)
    distinct, of_row = [prompts[i] for i in rows.first], rows.of_row
    input_ids, mask = left_pad(distinct, pad_id)
    width = input_ids.shape[1]
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    input_ids, mask, positions = input_ids.to(device), mask.to(device), positions.to(device)
    eos = torch.tensor(list(eos_ids), device=device)

    cache = preallocated_cache(model.config.num_hidden_layers, width + max_new_tokens)
    cache_kw = {kv_cache_keyword(model): cache, "use_cache": True}
    out = model(input_ids=input_ids, attention_mask=mask, position_ids=positions, logits_to_keep=1, **cache_kw)
    logits = out.logits[:, -1]
    if len(distinct) < n:
        of_row = of_row.to(device)
        cache.batch_select_indices(of_row)
        logits, mask, positions = logits[of_row], mask[of_row], positions[of_row]
    next_pos = positions[:, -1:] + 1
    live = torch.arange(n, device=device)  # original row of each live row
    tokens = torch.full((n, max_new_tokens), pad_id, dtype=torch.long, device=device)
    logps = torch.zeros((n, max_new_tokens), dtype=torch.float32, device=device)
    lengths = torch.full((n,), max_new_tokens, dtype=torch.long, device=device)
    ended = torch.zeros(n, dtype=torch.bool, device=device)
    if steps is not None:
        steps.start()
    for t in range(max_new_tokens):
        token, logp = _pick(logits, temperature, top_k, top_p)
        tokens[live, t] = token
        logps[live, t] = logp
        done = torch.isin(token, eos)
        lengths[live[done]] = t + 1
        ended[live[done]] = True
        if t == max_new_tokens - 1:
            break
        if bool(done.any()):
            keep = (~done).nonzero().squeeze(-1)
            if keep.numel() == 0:
                break
            # Finished rows leave the batch and the cache: the remaining steps cost only live rows.
            cache.batch_select_indices(keep)
            live, token, mask, next_pos = live[keep], token[keep], mask[keep], next_pos[keep]
        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=-1)
        out = model(input_ids=token[:, None], attention_mask=mask, position_ids=next_pos, **cache_kw)
        logits = out.logits[:, -1]
        next_pos = next_pos + 1
        if steps is not None:
            steps.step(int(token.shape[0]))
    tokens, logps, lengths, ended = tokens.cpu(), logps.cpu(), lengths.cpu(), ended.cpu()
    return Decoded(
        responses=[tokens[i, : lengths[i]] for i in range(n)],
        logprobs=[logps[i, : lengths[i]] for i in range(n)],
        truncated=[not bool(ended[i]) for i in range(n)],
    )
