"""The algorithm contract: one finite advantage per trajectory, a finite differentiable scalar
loss whose micro-batch parts add up to the minibatch loss (normalised by
``num_tokens``/``num_seqs``); the optional hooks typed right (``max_generation_batches``,
``keep_group``) and, when ``needs_token_advantages``, one finite ``token_advantages`` value per
response token."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, List, Optional, Sequence

from rlinf_core.interfaces import Algorithm, LossInputs, LossOutput
from rlinf_core.testing.contracts.common import PluginRef, Report, check_by_name, finite, plugin_config, report_for, resolve

if TYPE_CHECKING:
    import torch

    from rlinf_core.data import TrajectoryBatch
    from rlinf_core.plugins import Registry


def _synthetic_batch(num_groups: int, group_size: int, seed: int) -> "TrajectoryBatch":
    import torch

    from rlinf_core.data import Ragged, TrajectoryBatch

    g = torch.Generator().manual_seed(seed)
    n = num_groups * group_size
    rewards = torch.randint(-1, 3, (n,), generator=g).float()
    rewards[:group_size] = 1.0  # one group with identical rewards
    if num_groups > 1:
        rewards[group_size : 2 * group_size] = 0.0
        rewards[group_size] = 1.0  # one group where a single response succeeds
    prompts = [torch.randint(4, 100, (3,), generator=g) for _ in range(n)]
    responses = [torch.randint(4, 100, (1 + i % 5,), generator=g) for i in range(n)]
    return TrajectoryBatch(
        prompt_ids=Ragged.from_list(prompts),
        response_ids=Ragged.from_list(responses),
        response_logprobs=Ragged.from_list([-torch.rand(len(r), generator=g) for r in responses]),
        group_ids=torch.arange(num_groups).repeat_interleave(group_size),
        prompt_uids=[f"p{i // group_size}" for i in range(n)],
        answers=[["1"]] * n,
        truncated=torch.zeros(n, dtype=torch.bool),
        rewards=rewards,
    )


def _loss_inputs(seq_lengths: List[int], seed: int, with_ref: bool, entropy_grad: bool = False) -> LossInputs:
    import torch

    g = torch.Generator().manual_seed(seed + 1)
    total = sum(seq_lengths)
    logprobs = (-2.0 * torch.rand(total, generator=g)).requires_grad_(True)
    old = logprobs.detach() + 0.05 * torch.randn(total, generator=g)
    seq_adv = torch.tensor([(1.0 + i % 3) * (-1.0) ** i for i in range(len(seq_lengths))])
    lengths = torch.tensor(seq_lengths)
    return LossInputs(
        logprobs=logprobs,
        old_logprobs=old,
        advantages=torch.repeat_interleave(seq_adv, lengths),
        seq_lengths=lengths,
        num_tokens=float(total),
        num_seqs=float(len(seq_lengths)),
        ref_logprobs=(logprobs.detach() - 0.1 * torch.rand(total, generator=g)) if with_ref else None,
        entropy=(0.1 + torch.rand(total, generator=g)).requires_grad_(entropy_grad),
        truncated=torch.tensor([i % 4 == 3 for i in range(len(seq_lengths))]),  # every fourth hit the length limit
    )


def _slice(inputs: LossInputs, seqs: slice) -> LossInputs:
    lengths = inputs.seq_lengths.tolist()
    start = sum(lengths[: seqs.start])
    stop = sum(lengths[: seqs.stop])
    entropy = inputs.entropy
    if entropy is not None:
        entropy = entropy.detach()[start:stop].clone().requires_grad_(inputs.entropy.requires_grad)
    return dataclasses.replace(
        inputs,
        logprobs=inputs.logprobs.detach()[start:stop].clone().requires_grad_(True),
        old_logprobs=inputs.old_logprobs[start:stop],
        advantages=inputs.advantages[start:stop],
        seq_lengths=inputs.seq_lengths[seqs],
        ref_logprobs=inputs.ref_logprobs[start:stop] if inputs.ref_logprobs is not None else None,
        entropy=entropy,
        truncated=inputs.truncated[seqs] if inputs.truncated is not None else None,
    )


def _check_optional_hooks(rep: Report, algo: Algorithm, batch: "TrajectoryBatch", advantages: "torch.Tensor") -> None:
    """Dynamic sampling and per-token advantages, when the algorithm uses them."""
    import torch

    from rlinf_core.interfaces.algorithm import TokenAdvantageInputs

    gens = algo.max_generation_batches
    rep.check(isinstance(gens, int) and gens >= 1, f"max_generation_batches must be an int >= 1, got {gens!r}")
    keep = algo.keep_group(batch.rewards[batch.group_ids == batch.group_ids[0]])
    rep.check(isinstance(keep, bool), f"keep_group must return a bool, got {keep!r}")
    if not algo.needs_token_advantages:
        return
    lengths = batch.response_ids.lengths
    old = batch.response_logprobs.values.float()
    total = int(lengths.sum())
    out = algo.token_advantages(TokenAdvantageInputs(
        advantages=advantages, old_logprobs=old, seq_lengths=lengths,
        ref_logprobs=old - 0.1 if algo.needs_ref_logprobs else None, rewards=batch.rewards,
        values=torch.linspace(-0.5, 0.5, total),  # a critic's values, for algorithms that have one (PPO)
    ))
    if rep.check(isinstance(out, torch.Tensor) and tuple(out.shape) == (total,),
                 f"token_advantages must return one value per response token ({total}), got "
                 f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}"):
        rep.check(bool(torch.isfinite(out).all()), "token_advantages returned non-finite values")


def _check_advantages(rep: Report, algo: Algorithm, batch: "TrajectoryBatch") -> "torch.Tensor":
    import torch

    rewards = batch.rewards.clone()
    adv = algo.compute_advantages(batch)
    n = len(batch)
    if rep.check(isinstance(adv, torch.Tensor), f"compute_advantages returned {type(adv).__name__}, not a tensor"):
        rep.check(
            tuple(adv.shape) == (n,),
            f"compute_advantages returned shape {tuple(adv.shape)}; expected ({n},), one per trajectory",
        )
        rep.check(adv.is_floating_point() and bool(torch.isfinite(adv).all()), "advantages must be finite floats")
        rep.check(torch.equal(adv, algo.compute_advantages(batch)), "compute_advantages is not deterministic")
    rep.check(torch.equal(batch.rewards, rewards), "compute_advantages modified batch.rewards in place")
    rep.stop_if_any()
    return adv


def _check_loss(rep: Report, algo: Algorithm, inputs: LossInputs) -> LossOutput:
    """A finite scalar loss with a finite, non-zero gradient w.r.t. the log-probs; finite metrics."""
    import torch

    out = algo.compute_loss(inputs)
    if not rep.check(isinstance(out, LossOutput), f"compute_loss returned {type(out).__name__}, not a LossOutput"):
        rep.stop_if_any()
    loss = out.loss
    if not rep.check(isinstance(loss, torch.Tensor) and loss.numel() == 1, "LossOutput.loss must be a scalar tensor"):
        rep.stop_if_any()
    rep.check(bool(torch.isfinite(loss).all()), f"the loss is not finite: {loss}")
    if rep.check(loss.requires_grad, "the loss does not depend on inputs.logprobs (no gradient would flow)"):
        loss.backward()
        grad = inputs.logprobs.grad
        rep.check(grad is not None and bool(torch.isfinite(grad).all()), "the gradient w.r.t. logprobs is not finite")
        rep.check(
            grad is not None and bool(grad.abs().sum() > 0), "the gradient w.r.t. logprobs is zero for non-zero advantages"
        )
    rep.check(
        isinstance(out.metrics, dict) and all(isinstance(k, str) and finite(v) for k, v in out.metrics.items()),
        f"LossOutput.metrics must map names to finite floats, got {out.metrics!r}",
    )
    return out


def _check_micro_batches(rep: Report, algo: Algorithm, inputs: LossInputs, loss: "torch.Tensor", n: int) -> None:
    """Deterministic, and the micro-batch losses add up to the minibatch loss."""
    import torch

    again = algo.compute_loss(_slice(inputs, slice(0, n)))
    rep.check(torch.allclose(loss.detach(), again.loss.detach(), atol=1e-6), "compute_loss is not deterministic")
    k = n // 2
    parts = sum(algo.compute_loss(_slice(inputs, part)).loss.detach() for part in (slice(0, k), slice(k, n)))
    rep.check(
        torch.allclose(parts, loss.detach(), rtol=1e-5, atol=1e-6),
        f"micro-batch losses do not add up to the minibatch loss ({float(parts):.6g} != {float(loss.detach()):.6g}): "
        "normalise by "
        "inputs.num_tokens / inputs.num_seqs (the whole minibatch, all ranks), not by the micro-batch's own size",
    )


def check_algorithm(
    algorithm: PluginRef,
    config: Any = None,
    *,
    group_size: int = 4,
    num_groups: int = 3,
    seed: int = 0,
    modules: Sequence[str] = (),
    registry: Optional["Registry"] = None,
    fresh_process: bool = True,
) -> LossOutput:
    """Check an algorithm (registered name or class) on a synthetic scored batch.

    Without ``config``, ``algorithm.group_size`` is set to ``group_size``. Returns the loss
    output of the whole synthetic minibatch.
    """
    name, cls, registry = resolve("algorithms", algorithm, modules, registry)
    rep = report_for("algorithms", name, cls)
    cfg = plugin_config(rep, "algorithms", cls, config if config is not None else {"group_size": group_size})
    rep.stop_if_any()
    algo: Algorithm = cls(cfg)
    batch = _synthetic_batch(num_groups, group_size, seed)
    adv = _check_advantages(rep, algo, batch)
    n = len(batch)
    _check_optional_hooks(rep, algo, batch, adv)
    rep.stop_if_any()
    lengths = [1 + (i * 7) % 5 for i in range(n)]
    inputs = _loss_inputs(lengths, seed, algo.needs_ref_logprobs, algo.needs_entropy_grad)
    out = _check_loss(rep, algo, inputs)
    _check_micro_batches(rep, algo, inputs, out.loss, n)
    skip = algo.skip_update(out.metrics)
    rep.check(isinstance(skip, bool), f"skip_update must return a bool, got {skip!r}")
    check_by_name(rep, "algorithms", name, cls, registry, fresh_process)
    rep.stop_if_any()
    return out
