"""Helpers for testing rollout backends: a request from prompt strings, and the log-probs a
trainer would recompute for a batch (what a backend's sampled log-probs must agree with)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch

from rlinf_core.data import Ragged, RolloutRequest, SamplingParams, TrajectoryBatch


def tokenized_request(
    tokenizer: Any, prompts: Sequence[str], group_size: int = 3, seed: int = 7, sampling: Optional[SamplingParams] = None
) -> RolloutRequest:
    """A request for ``prompts`` (tokenised without special tokens), answers all "1"."""
    ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    return RolloutRequest(Ragged.from_list(ids), [str(i) for i in range(len(ids))], [["1"]] * len(ids),
                          group_size=group_size, seed=seed, sampling=sampling)


def forward_logprobs(model: Any, batch: TrajectoryBatch, temperature: float = 1.0) -> torch.Tensor:
    """log-softmax(logits / T) of each response token under ``model`` (a Hugging Face causal LM),
    one row at a time, concatenated in row order."""
    out = []
    for i in range(len(batch)):
        seq = torch.cat([batch.prompt_ids[i], batch.response_ids[i]])[None]
        with torch.no_grad():
            logits = model(seq).logits[0].float() / temperature
        p = len(batch.prompt_ids[i])
        out.append(torch.log_softmax(logits, -1)[p - 1 : -1].gather(-1, batch.response_ids[i][:, None]).squeeze(-1))
    return torch.cat(out)


def greedy_against_hf(backend: Any, checkpoint: str, prompts: Sequence[str], max_new_tokens: int):
    """``(backend's, the hf backend's)`` greedy batches for ``prompts`` on ``checkpoint``: the
    reference an engine's greedy decoding must reproduce token for token. The hf backend comes
    from the registry (the rlinf-hf plugin must be installed)."""
    from rlinf_core.plugins import get_registry

    hf_cls = get_registry(()).get("rollout_backends", "hf")
    cfg = hf_cls.config_class(max_new_tokens=max_new_tokens)
    cfg.model.model_path = checkpoint
    hf = hf_cls(cfg)
    hf.load()
    greedy = SamplingParams(temperature=0.0, max_new_tokens=max_new_tokens)
    return (backend.generate(tokenized_request(backend.tokenizer, prompts, sampling=greedy)),
            hf.generate(tokenized_request(hf.tokenizer, prompts, sampling=greedy)))
