"""One ``train_step`` of the Megatron backend on one rank: old (and reference) log-probs, the
minibatch updates, the step's metrics.

Follows RLinf's actor (arXiv:2509.15965) as rlinf-torch does: several minibatch updates per step
(and epochs), gradient accumulation over micro-batches, the algorithm's loss normalised by the
whole minibatch's token and sequence counts over the data-parallel ranks, global-norm clipping,
a minibatch the algorithm rejects (e.g. GRPO's ratio early stop) or whose gradient is not finite
is dropped and counted, and the same ``train/*`` metrics.

Where it differs from rlinf-torch's step: old log-probs are recomputed in one forward-only pass
over the step's rows before the first update (rlinf-torch reuses the first minibatch's training
forward); rows whose zero advantage makes them inert are trained on like any other (their loss
and gradient are 0) rather than skipped; the shared-prompt forward is not used. The loss and its
metrics exist on the last pipeline stage only; the minibatch's metrics are reduced over its
data-parallel ranks there and broadcast to the other stages, so that every rank takes the same
early-stop decision and returns the same metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional

import torch

from rlinf_core import LossInputs, TrajectoryBatch
from rlinf_megatron.batching import micro_batches
from rlinf_megatron.micro import MicroBatch, forward_backward
from rlinf_torch.metrics import MetricSums
from rlinf_torch.step import apply_update, step_metrics, token_advantages

if TYPE_CHECKING:
    from rlinf_core import Algorithm
    from rlinf_megatron.backend import MegatronTrainBackend


class MegatronTrainStep:
    """The updates of one step on one model replica's rows (see the module docstring)."""

    def __init__(self, backend: "MegatronTrainBackend", batch: TrajectoryBatch, algorithm: "Algorithm", recompute: bool):
        self.b = backend
        self.batch = batch
        self.algorithm = algorithm
        n = len(batch)
        if recompute:
            self.old = backend.score(backend.model, batch)[0]
        else:
            self.old = [batch.response_logprobs[i].float() for i in range(n)]
        self.ref = backend.score(backend.reference, batch)[0] if backend.reference is not None else None
        self.token_advantages: Optional[List[torch.Tensor]] = None
        if algorithm.needs_token_advantages:
            ref = torch.cat(self.ref) if self.ref is not None else None
            self.token_advantages = token_advantages(algorithm, batch, torch.cat(self.old), ref, backend.data_parallel_sum)
        self.gap = max(
            (float((self.old[i] - batch.response_logprobs[i]).abs().max()) for i in range(n) if recompute and self.old[i].numel()),
            default=0.0,
        )

    def run(self, num_minibatches: int) -> Dict[str, float]:
        b, n = self.b, len(self.batch)
        per = n // num_minibatches
        b.model.train()
        sums = MetricSums()
        # No inert rows are skipped (module docstring): "inert" stays 0.
        counts = {"early_stopped": 0, "skipped": 0, "updates": 0, "inert": 0.0}
        norms: List[float] = []
        for _ in range(b.config.num_epochs):
            for m in range(num_minibatches):
                stats, weights = self._minibatch(list(range(m * per, (m + 1) * per)))
                sums.add_means(stats, weights)
                counts[apply_update(b, self.algorithm, stats, norms)] += 1
        return step_metrics(b, sums, counts, norms, self.gap)

    # -- one minibatch --------------------------------------------------------------------
    def _minibatch(self, rows: List[int]) -> tuple:
        b, batch = self.b, self.batch
        lengths = (batch.prompt_ids.lengths + batch.response_ids.lengths).tolist()
        local = torch.tensor([float(batch.response_ids.lengths[rows].sum()), float(len(rows))], dtype=torch.float64)
        tokens, seqs = (float(x) for x in b.data_parallel_sum(local))
        micro = [b.micro_batch(batch, rows_) for rows_ in micro_batches(lengths, rows, b.token_budget, b.config.micro_batch_size)]

        def loss_of(mb: MicroBatch, logp: torch.Tensor, entropy: torch.Tensor):
            out = self.algorithm.compute_loss(self._loss_inputs(mb, logp, entropy, tokens, seqs))
            count = float(logp.numel())
            report = {"metrics": dict(out.metrics), "tokens": count,
                      "loss": float(out.loss.detach()) * tokens / max(count, 1.0),
                      "entropy": float(entropy.detach().mean()) if count else 0.0}
            return out.loss, report

        reports = forward_backward(b.model, micro, b.vocab, loss_of, forward_only=False)
        sums = MetricSums()
        for r in reports:
            sums.add({**r["metrics"], "train/loss": r["loss"], "train/entropy_loss": r["entropy"]}, r["tokens"])
        return b.last_stage_to_all(lambda: sums.reduce(b.data_parallel_reduce))

    def _loss_inputs(self, mb: MicroBatch, logp: torch.Tensor, entropy: torch.Tensor, tokens: float, seqs: float) -> LossInputs:
        batch, device = self.batch, logp.device
        if self.token_advantages is not None:
            adv = torch.cat([self.token_advantages[i] for i in mb.rows])
        else:
            adv = torch.repeat_interleave(batch.advantages[mb.rows].float(), mb.response_lengths)
        return LossInputs(
            logprobs=logp,
            old_logprobs=torch.cat([self.old[i] for i in mb.rows]).to(device, logp.dtype),
            advantages=adv.to(device),
            seq_lengths=mb.response_lengths,
            num_tokens=tokens,
            num_seqs=seqs,
            ref_logprobs=torch.cat([self.ref[i] for i in mb.rows]).to(device) if self.ref is not None else None,
            entropy=entropy if self.algorithm.needs_entropy_grad else entropy.detach(),
            truncated=batch.truncated[mb.rows],
        )
