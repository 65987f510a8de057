"""A streamed step of the torch backend: one update, its rows trained part by part as they arrive.

With ``runner.groups_per_part`` the flow hands the actor a step's batch in parts (a few
prompt groups each, in a fixed order, each with its advantages) while the rollout still
generates the rest (RLinf's pipelined mode, arXiv:2509.15965 §4: the actor works on
micro-batches as they arrive and steps the optimizer when the global batch is complete).
Each part runs the forward/backward of :class:`rlinf_torch.step.TrainStep` over its rows
(inert rows skipped and counted, old log-probs from the training forward), and the gradients
add up across parts; :meth:`StreamedStep.finish` steps the optimizer.

The step's token count is only known at the end, so every part's loss is computed with
``num_tokens = 1`` and, for losses that divide by it (``Algorithm.loss_divides_by_num_tokens``),
the summed gradient is divided by the count before clipping: the same update as the
whole-batch step in exact arithmetic; in floating point it rounds differently, the same way
in every placement. ``num_seqs`` is known up front (the batch size). Limits, checked when the
config is validated: one update per step (one minibatch, one epoch), advantages computed per
group, no per-token advantages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional

import torch

from rlinf_core import TrajectoryBatch
from rlinf_torch import distributed as D
from rlinf_torch.metrics import MetricSums
from rlinf_torch.step import TrainStep, _Norms, apply_update, reduce_minibatch, step_metrics

if TYPE_CHECKING:
    from rlinf_core import Algorithm
    from rlinf_torch.backend import TorchTrainBackend


class StreamedStep:
    """Gradients of a step's parts, accumulated in arrival order (which the flow fixes)."""

    def __init__(self, backend: "TorchTrainBackend", algorithm: "Algorithm", recompute: bool, num_seqs: int):
        if algorithm.loss_divides_by_num_tokens is None:
            raise ValueError(
                f"{type(algorithm).__name__} does not say how its loss uses num_tokens "
                "(Algorithm.loss_divides_by_num_tokens), so a streamed step cannot normalise it"
            )
        self.b, self.algorithm, self.recompute = backend, algorithm, recompute
        self.norms = _Norms(tokens=1.0, seqs=float(num_seqs))
        self.sums = MetricSums()
        self.tokens = 0.0  # this rank's response tokens so far
        self.inert = 0
        self.passes = 0  # forward/backward passes run on this rank (stand-ins included)
        self.gap = 0.0
        self.last: Optional[TrainStep] = None
        backend.model.train()

    def add(self, part: TrajectoryBatch) -> None:
        """Forward/backward over this rank's rows of one part."""
        step = TrainStep(self.b, part, self.algorithm, self.recompute)
        # One minibatch: with recomputation the training forward gives the old log-probs (no
        # update has happened yet), so this sets only the rollout's when there is none.
        step._old_logprobs(len(part))
        if self.b.reference is not None:
            step.ref = self.b._score(self.b.reference, part)[0]
        self.inert += step.accumulate(list(range(len(part))), self.norms, self.sums, min_passes=0)
        self.passes += step.passes
        self.tokens += float(part.response_ids.lengths.sum())
        self.gap = max(self.gap, step.local_logprob_gap())
        self.last = step

    def finish(self) -> Dict[str, float]:
        """Normalise the summed gradient, step the optimizer, and the step's metrics."""
        if self.last is None:
            raise RuntimeError("finish_streamed_step before any train_part: the step received no rows")
        if not self.b._same_count(self.passes):
            # Every row of the step was inert on every rank: one zero-weighted stand-in gives
            # exact zero gradients, as the whole-batch step does.
            self.last._train_micro_batches([0], [], self.norms, self.sums, min_passes=1)
        total_tokens = float(D.all_reduce(torch.tensor([self.tokens], dtype=torch.float64))[0])
        divides = bool(self.algorithm.loss_divides_by_num_tokens)
        if divides:
            self._scale_gradients(1.0 / max(total_tokens, 1.0))
        stats, weights = reduce_minibatch(self.sums, self.inert)
        if not divides and "train/loss" in stats:
            # The loss metric is each micro-batch's loss per token, weighted by its tokens over the
            # normaliser passed (1): times the count it is the minibatch loss, as in TrainStep.
            stats["train/loss"] *= total_tokens
        inert = weights.pop("_inert_sequences")
        sums = MetricSums()
        for k, v in stats.items():
            sums.add({k: v}, weights.get(k, 1.0))
        grad_norms: List[float] = []
        outcome = apply_update(self.b, self.algorithm, stats, grad_norms)
        counts = {"early_stopped": 0, "skipped": 0, "updates": 0, "inert": inert}
        counts[outcome] += 1
        return step_metrics(self.b, sums, counts, grad_norms, self.gap)

    def _scale_gradients(self, factor: float) -> None:
        for p in self.b.model.parameters():
            if p.grad is not None:
                p.grad.mul_(factor)
