"""One ``train_step`` of the torch backend: old log-probs, minibatch updates, metrics.

Follows RLinf's actor (arXiv:2509.15965): several minibatch updates per step (and epochs),
gradient accumulation over micro-batches, global-norm clipping; a minibatch whose update the
algorithm rejects (e.g. GRPO's ratio early stop), or whose gradient is not finite, is skipped
and counted.

Old log-probs. With recomputation, the first minibatch's come from its own training forward
(detached): no update has happened yet, so they are exactly what a separate pass would give,
and a one-update step needs no extra forward. The later minibatches' rows are scored up
front, before the first update; so are the first minibatch's skipped rows (below) when a later
epoch needs their ratios, and every row when the algorithm's per-token advantages
(``Algorithm.needs_token_advantages``, e.g. REINFORCE++) need them all before training.

Skipped zero-advantage rows. When the algorithm says a zero advantage is inert, rows with
advantage exactly 0 (e.g. GRPO groups whose samples all scored the same) are not trained on:
their loss and gradient are exactly 0 and they still count in the minibatch's token and
sequence totals, so the update is the full minibatch's. Their loss metrics (ratio, clip
fraction, policy loss) count too, so the metrics and the early-stop decision that reads them
are the full minibatch's as well: before any update of the step, with recomputed old
log-probs, their ratio is exactly 1 and needs no forward; otherwise a no-grad forward gives
it. Deviation from "the same as without the skip": ``train/entropy_loss`` covers the trained
tokens only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Set, Tuple

import torch

from rlinf_core import LossInputs, Ragged, TrajectoryBatch
from rlinf_core.interfaces.algorithm import TokenAdvantageInputs
from rlinf_torch import distributed as D
from rlinf_torch.metrics import MetricSums

if TYPE_CHECKING:
    from rlinf_core import Algorithm
    from rlinf_torch.backend import TorchTrainBackend

# A stand-in forward's entropy, used only when no rank trained on anything in a minibatch.
_STANDIN_ENTROPY = "_standin_entropy"


@dataclass
class _Norms:
    """The whole minibatch's response tokens and sequences, all ranks (the loss normalisers)."""

    tokens: float
    seqs: float


class TrainStep:
    """The updates of one step on one rank's shard (see the module docstring)."""

    def __init__(self, backend: "TorchTrainBackend", batch: TrajectoryBatch, algorithm: "Algorithm", recompute: bool):
        self.b = backend
        self.batch = batch
        self.algorithm = algorithm
        self.recompute = recompute
        n = len(batch)
        # Whether inert rows are skipped at all: the same on every rank, so their forwards stay in step.
        self.skips_inert = algorithm.zero_advantage_is_inert and not algorithm.needs_token_advantages
        self.inert: Set[int] = {i for i in range(n) if float(batch.advantages[i]) == 0.0} if self.skips_inert else set()
        self.old: List[Optional[torch.Tensor]] = [None] * n
        self.ref: Optional[Ragged] = None
        self.token_advantages: Optional[List[torch.Tensor]] = None
        self.updated = False  # whether the optimizer has stepped in this train_step
        self.passes = 0  # forward/backward passes run (stand-ins included)

    def run(self, num_minibatches: int) -> Dict[str, float]:
        b, n = self.b, len(self.batch)
        per_mb = n // num_minibatches
        self._old_logprobs(per_mb)
        self.ref = b._score(b.reference, self.batch)[0] if b.reference is not None else None
        if self.algorithm.needs_token_advantages:
            self.token_advantages = self._token_advantages()
        b.model.train()
        sums = MetricSums()
        counts = {"early_stopped": 0, "skipped": 0, "updates": 0, "inert": 0.0}
        grad_norms: List[float] = []
        for _ in range(b.config.num_epochs):
            for m in range(num_minibatches):
                stats, weights = self._minibatch(list(range(m * per_mb, (m + 1) * per_mb)))
                counts["inert"] += weights.pop("_inert_sequences")
                sums.add_means(stats, weights)
                outcome = self._apply_update(stats, grad_norms)
                counts[outcome] += 1
                self.updated = self.updated or outcome == "updates"
        return self._step_metrics(sums, counts, grad_norms)

    # -- before the updates ---------------------------------------------------------------
    def _old_logprobs(self, per_mb: int) -> None:
        b, batch, n = self.b, self.batch, len(self.batch)
        if not self.recompute:
            self.old = [batch.response_logprobs[i] for i in range(n)]
            return
        if self.algorithm.needs_token_advantages:
            up_front = list(range(n))
        else:
            first = sorted(i for i in self.inert if i < per_mb) if b.config.num_epochs > 1 else []
            up_front = first + list(range(per_mb, n))
        if not b._same_count(len(up_front)):
            return
        was_training = b.model.training
        b.model.eval()
        try:
            scored = b._score_rows(b.model, batch, up_front, same_count=True)[0]
        finally:
            b.model.train(was_training)
        for i in up_front:
            self.old[i] = scored[i]

    def _token_advantages(self) -> List[torch.Tensor]:
        b, batch = self.b, self.batch
        old = torch.cat([self.old[i] for i in range(len(batch))])
        ref = self.ref.values if self.ref is not None else None
        # NCCL reduces device tensors; the statistics come back where they were.
        return token_advantages(self.algorithm, batch, old, ref, lambda t: D.all_reduce(t.to(b.device)).to(t.device))

    # -- one minibatch --------------------------------------------------------------------
    def _minibatch(self, rows: List[int]) -> Tuple[Dict[str, float], Dict[str, float]]:
        """Forward/backward over the micro-batches of one minibatch; its metrics reduced over
        ranks, and each metric's token weight."""
        batch = self.batch
        local_tokens = float(sum(int(batch.response_ids.lengths[i]) for i in rows))
        totals = D.all_reduce(torch.tensor([local_tokens, float(len(rows))], dtype=torch.float64))
        norms = _Norms(tokens=float(totals[0]), seqs=float(totals[1]))
        sums = MetricSums()
        inert = self.accumulate(rows, norms, sums)
        return reduce_minibatch(sums, inert)

    def accumulate(self, rows: List[int], norms: _Norms, sums: MetricSums, min_passes: int = 1) -> int:
        """Forward/backward over ``rows``, gradients added to the model's; the inert rows are
        counted in the metrics, not trained. Returns how many were inert."""
        inert = [i for i in rows if i in self.inert]
        if self.skips_inert:
            self._inert_metrics(inert, norms, sums)
        self._train_micro_batches(rows, [i for i in rows if i not in self.inert], norms, sums, min_passes)
        return len(inert)

    def _inert_metrics(self, inert: List[int], norms: _Norms, sums: MetricSums) -> None:
        """The loss metrics of the inert rows, counted as if they had been trained on."""
        batch = self.batch
        if self.recompute and not self.updated and self.ref is None:
            # Their old log-probs are (or would be) the current weights': every ratio is exactly
            # 1, which equal zero log-probs reproduce without a forward. (A reference model's
            # log-probs could enter a metric, so with one the forward below runs instead.)
            if inert:
                lengths = batch.response_ids.lengths[inert]
                zeros = torch.zeros(int(lengths.sum()))
                self._add_inert(sums, LossInputs(zeros, zeros, zeros, lengths, norms.tokens, norms.seqs,
                                                 truncated=batch.truncated[inert]))
            return
        logps = self.b._score_rows(self.b.model, batch, inert, same_count=True)[0]
        if not inert:
            return
        for i in inert:
            if self.old[i] is None:  # only before any update: this forward's weights are the old ones
                self.old[i] = logps[i]
        logp = torch.cat([logps[i] for i in inert])
        ref = torch.cat([self.ref[i] for i in inert]) if self.ref is not None else None
        old = torch.cat([self.old[i] for i in inert]).float()
        self._add_inert(sums, LossInputs(logp, old, torch.zeros_like(logp), batch.response_ids.lengths[inert], norms.tokens,
                                         norms.seqs, ref_logprobs=ref, truncated=batch.truncated[inert]))

    def _add_inert(self, sums: MetricSums, inputs: LossInputs) -> None:
        out = self.algorithm.compute_loss(inputs)
        # An inert row's loss is 0; its tokens still weigh in every loss metric's mean.
        sums.add({**out.metrics, "train/loss": 0.0}, float(inputs.logprobs.numel()))

    def _train_micro_batches(
        self, rows: List[int], active: List[int], norms: _Norms, sums: MetricSums, min_passes: int = 1
    ) -> None:
        b, batch = self.b, self.batch
        micro = b._micro_batches(batch, active)
        # At least one pass (unless a streamed step will run it at its end): when every
        # sequence is inert, a zero-weighted stand-in gives the optimizer exact zero gradients
        # (AdamW still moves on its moments; a missing gradient would be skipped) and
        # registers the metric names.
        count = max(b._same_count(len(micro)), min_passes)
        self.passes += count
        for j in range(count):
            real = j < len(micro)
            mrows = micro[j] if real else rows[:1]  # a zero-weighted stand-in keeps the ranks in step
            with b._micro_batch_context(last=j == count - 1):
                logp, entropy, lengths = b._forward(
                    b.model, [batch.prompt_ids[i] for i in mrows], [batch.response_ids[i] for i in mrows],
                    entropy_grad=self.algorithm.needs_entropy_grad,
                )
                out = self.algorithm.compute_loss(self._loss_inputs(mrows, logp, entropy, lengths, norms, real))
                # Data-parallel backends average gradients over ranks; the loss is already a
                # share of the global minibatch mean, so scale the average back to a sum.
                b._backward(out.loss * (b.world_size if real else 0.0))
            tokens = float(logp.numel())
            weight = tokens if real else 0.0
            sums.add({**out.metrics, "train/loss": float(out.loss.detach()) * norms.tokens / max(tokens, 1.0)}, weight)
            entropy_mean = float(entropy.detach().mean()) if tokens else 0.0
            sums.add({"train/entropy_loss": entropy_mean}, weight)
            sums.add({_STANDIN_ENTROPY: entropy_mean}, tokens - weight)

    def _loss_inputs(self, mrows: List[int], logp, entropy, lengths, norms: _Norms, real: bool) -> LossInputs:
        """One micro-batch's loss inputs. Rows whose old log-probs are not known yet take this
        forward's (detached): the weights have not changed since the step began."""
        batch = self.batch
        if real and any(self.old[i] is None for i in mrows):
            for i, piece in zip(mrows, torch.split(logp.detach().float().cpu(), lengths.tolist())):
                if self.old[i] is None:
                    self.old[i] = piece
        old = torch.cat([self.old[i] for i in mrows]) if real else logp.detach()
        if self.token_advantages is not None:
            adv = torch.cat([self.token_advantages[i] for i in mrows])
        else:
            adv = torch.repeat_interleave(batch.advantages[mrows], lengths)
        return LossInputs(
            logprobs=logp,
            old_logprobs=old.to(logp.device, logp.dtype),
            advantages=adv.to(logp.device),
            seq_lengths=lengths,
            num_tokens=norms.tokens,
            num_seqs=norms.seqs,
            ref_logprobs=torch.cat([self.ref[i] for i in mrows]).to(logp.device) if self.ref is not None else None,
            entropy=entropy,
            truncated=batch.truncated[mrows],
        )

    # -- after a minibatch ----------------------------------------------------------------
    def _apply_update(self, stats: Dict[str, float], grad_norms: List[float]) -> str:
        return apply_update(self.b, self.algorithm, stats, grad_norms)

    def _step_metrics(self, sums: MetricSums, counts: Dict[str, float], grad_norms: List[float]) -> Dict[str, float]:
        return step_metrics(self.b, sums, counts, grad_norms, self.local_logprob_gap())

    def local_logprob_gap(self) -> float:
        """Largest |recomputed - rollout| old log-prob on this rank (0 without recomputation)."""
        if not self.recompute:
            return 0.0
        batch = self.batch
        gaps = [float((o - batch.response_logprobs[i]).abs().max()) for i, o in enumerate(self.old) if o is not None and o.numel()]
        return max(gaps, default=0.0)


def token_advantages(
    algorithm: "Algorithm",
    batch: TrajectoryBatch,
    old_logprobs: torch.Tensor,
    ref_logprobs: Optional[torch.Tensor],
    reduce_sum: Callable[[torch.Tensor], torch.Tensor],
) -> List[torch.Tensor]:
    """The algorithm's per-token advantages of every row of ``batch``, from the old (and
    reference) log-probs of all its rows concatenated, checked to be one value per response
    token, split per row (on the CPU). ``reduce_sum`` sums a statistic over the data-parallel ranks."""
    lengths = batch.response_ids.lengths
    inputs = TokenAdvantageInputs(
        advantages=batch.advantages.float(),
        old_logprobs=old_logprobs.float(),
        seq_lengths=lengths,
        ref_logprobs=ref_logprobs.float() if ref_logprobs is not None else None,
        rewards=batch.rewards,
        reduce_sum=reduce_sum,
        values=batch.values.values.float() if batch.values is not None else None,
    )
    adv = algorithm.token_advantages(inputs)
    if tuple(adv.shape) != (int(lengths.sum()),):
        name = type(algorithm).__name__
        raise ValueError(f"{name}.token_advantages returned shape {tuple(adv.shape)}, not one value per response token")
    return list(torch.split(adv.detach().float().cpu(), lengths.tolist()))


def apply_update(b: "TorchTrainBackend", algorithm: "Algorithm", stats: Dict[str, float], grad_norms: List[float]) -> str:
    """Step the optimizer on the accumulated gradient, unless the algorithm or a non-finite norm says no."""
    if algorithm.skip_update(stats):
        b._discard_gradients()
        return "early_stopped"
    norm = b._optimizer_step()
    if not math.isfinite(norm):
        return "skipped"
    grad_norms.append(norm)
    return "updates"


def step_metrics(
    b: "TorchTrainBackend", sums: MetricSums, counts: Dict[str, float], grad_norms: List[float], gap: float
) -> Dict[str, float]:
    """A step's ``train/*`` metrics; ``gap`` is this rank's largest recomputed-vs-rollout log-prob gap."""
    metrics = sums.reduce()[0]
    metrics["train/grad_norm"] = sum(grad_norms) / len(grad_norms) if grad_norms else 0.0
    metrics["train/lr"] = b.current_lr()
    metrics["train/early_stopped_minibatches"] = float(counts["early_stopped"])
    metrics["train/skipped_updates"] = float(counts["skipped"])
    metrics["train/optimizer_steps"] = float(counts["updates"])
    # Sequences not trained on because their zero advantage makes them inert (per rank, per epoch summed).
    metrics["train/skipped_zero_advantage_seqs"] = float(counts["inert"])
    # Same weights, same tokens: a large gap means the rollout and the trainer disagree
    # (precision, sampling settings, weight sync) and the importance ratios are off.
    metrics["train/rollout_logprob_diff_max"] = float(
        D.all_reduce(torch.tensor([gap], dtype=torch.float64), op=torch.distributed.ReduceOp.MAX)[0]
    )
    return metrics

def reduce_minibatch(sums: MetricSums, inert: int) -> Tuple[Dict[str, float], Dict[str, float]]:
    """A minibatch's metrics reduced over ranks, each metric's weight, and its inert sequence count."""
    stats, weights = sums.reduce(lambda t, op: D.all_reduce(t, op=op))
    fallback = stats.pop(_STANDIN_ENTROPY, 0.0)
    if weights.get("train/entropy_loss", 0.0) == 0.0:  # nothing trained on any rank
        stats["train/entropy_loss"] = fallback
        weights["train/entropy_loss"] = weights.get(_STANDIN_ENTROPY, 0.0)
    weights["_inert_sequences"] = float(inert)
    return stats, weights
