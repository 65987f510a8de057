"""Supervised warm start through a train backend, with an `sft` algorithm.

SFT is the train backend's ordinary minibatch update with a negative log-likelihood loss
on the response tokens (token-mean), so it runs on exactly the code path GRPO later uses
(packing, micro-batches, AdamW, clipping). The backend is resolved by name from the
registry, as workers do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

import torch

from rlinf_core import Algorithm, LossInputs, LossOutput, Ragged, TrainSetup, TrajectoryBatch
from rlinf_core.plugins import get_registry


class SFT(Algorithm):
    """Negative log-likelihood of the response tokens, averaged over the minibatch's tokens."""

    def compute_advantages(self, batch: TrajectoryBatch) -> torch.Tensor:
        return torch.ones(len(batch))

    def compute_loss(self, inputs: LossInputs) -> LossOutput:
        loss = -inputs.logprobs.sum() / inputs.num_tokens
        return LossOutput(loss=loss, metrics={"train/nll": float(-inputs.logprobs.detach().mean())})


@dataclass
class SFTSettings:
    steps: int = 350
    batch_size: int = 64
    lr: float = 3e-3
    warmup: int = 20
    seed: int = 0


def sft_batch(pairs: List[Tuple[List[int], List[int]]]) -> TrajectoryBatch:
    n = len(pairs)
    return TrajectoryBatch(
        prompt_ids=Ragged.from_list([p for p, _ in pairs], dtype=torch.long),
        response_ids=Ragged.from_list([r for _, r in pairs], dtype=torch.long),
        response_logprobs=Ragged.from_list([[0.0] * len(r) for _, r in pairs], dtype=torch.float32),
        group_ids=torch.arange(n),
        prompt_uids=[str(i) for i in range(n)],
        answers=[[""]] * n,
        truncated=torch.zeros(n, dtype=torch.bool),
        advantages=torch.ones(n),
    )


def warm_start(
    base_model: str,
    out_path: str,
    pairs: List[Tuple[List[int], List[int]]],
    settings: SFTSettings,
    backend_name: str = "torch",
    log: Optional[Callable[[int, float], Any]] = None,
) -> None:
    """Train ``base_model`` on (prompt ids, response ids) pairs and save the result to ``out_path``."""
    backend_cls = get_registry().get("train_backends", backend_name, field_name="actor.backend")
    cfg = backend_cls.config_class()
    cfg.model.model_path = base_model
    cfg.micro_batch_size = settings.batch_size
    cfg.global_batch_size = settings.batch_size
    cfg.optim.lr = settings.lr
    cfg.optim.weight_decay = 0.0
    cfg.optim.lr_warmup_steps = settings.warmup
    cfg.optim.lr_scheduler = "cosine"
    cfg.optim.min_lr_ratio = 0.1
    backend = backend_cls(cfg)
    backend.load(TrainSetup(seed=settings.seed, temperature=1.0, total_optimizer_steps=settings.steps))
    algorithm = SFT(None)  # type: ignore[arg-type]
    rng = random.Random(settings.seed)
    order: List[int] = []
    for step in range(settings.steps):
        if len(order) < settings.batch_size:
            order = list(range(len(pairs)))
            rng.shuffle(order)
        rows, order = order[: settings.batch_size], order[settings.batch_size :]
        metrics = backend.train_step(sft_batch([pairs[i] for i in rows]), algorithm, 1, recompute_logprobs=False)
        if log is not None:
            log(step, metrics["train/nll"])
    backend.save_checkpoint(out_path)
