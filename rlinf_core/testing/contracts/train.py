"""The train backend contract: with a tiny checkpoint, log-probs equal to an independent Hugging
Face forward, an update that changes the weights, weights out under Hugging Face names, a
checkpoint that loads back, and exact resumption through ``save_state``/``load_state``.

The step is driven by :class:`~rlinf_core.testing.algorithms.ClippedPolicyGradient` with its
defaults (PPO's clipped loss, token-mean; no KL, entropy, token advantages or early stop), so a
backend's tests need no algorithm plugin."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

from rlinf_core.testing.contracts.backends import backend_config, model_state
from rlinf_core.testing.contracts.common import PluginRef, Report, check_by_name, finite, report_for, resolve

if TYPE_CHECKING:
    import torch

    from rlinf_core.data import Ragged, TrajectoryBatch
    from rlinf_core.plugins import Registry


def _reference_logprobs(
    path: str, batch: "TrajectoryBatch", temperature: float, state: Optional[Dict[str, Any]] = None
) -> List["torch.Tensor"]:
    """Per-token log-probs of the responses from a plain (unpacked) Hugging Face forward."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    if state is not None:
        model.load_state_dict(state, strict=False)
    out = []
    with torch.no_grad():
        for i in range(len(batch)):
            p, r = batch.prompt_ids[i], batch.response_ids[i]
            logits = model(torch.cat([p, r])[None]).logits[0].float() / temperature
            logp = torch.log_softmax(logits[len(p) - 1 : len(p) + len(r) - 1], dim=-1)
            out.append(logp.gather(-1, r[:, None]).squeeze(-1))
    return out


def _probe_batch(path: str) -> "TrajectoryBatch":
    """Two prompts x two random responses, with rewards and advantages."""
    import torch

    from rlinf_core.data import Ragged, TrajectoryBatch
    from rlinf_core.models import load_tokenizer

    tok = load_tokenizer(path, "actor.model.model_path")
    g = torch.Generator().manual_seed(0)
    prompts = [torch.tensor(tok(t, add_special_tokens=False)["input_ids"]) for t in ("What is 2 + 3?", "Reverse: stone")]
    prompts = [prompts[0], prompts[0], prompts[1], prompts[1]]
    responses = [torch.randint(4, len(tok), (n,), generator=g) for n in (3, 5, 1, 4)]
    return TrajectoryBatch(
        prompt_ids=Ragged.from_list(prompts, dtype=torch.long),
        response_ids=Ragged.from_list(responses, dtype=torch.long),
        response_logprobs=Ragged.from_list([torch.zeros(len(r)) for r in responses], dtype=torch.float32),
        group_ids=torch.tensor([0, 0, 1, 1]),
        prompt_uids=["p0", "p0", "p1", "p1"],
        answers=[["5"], ["5"], ["enots"], ["enots"]],
        truncated=torch.zeros(4, dtype=torch.bool),
        rewards=torch.tensor([1.0, 0.0, 0.0, 1.0]),
        advantages=torch.tensor([0.5, -0.5, -0.5, 0.5]),
    )


def _check_logprobs(rep: Report, engine: Any, batch: "TrajectoryBatch", path: str, temperature: float) -> "Ragged":
    """One finite log-prob and entropy per response token, equal to a plain forward's, deterministic."""
    import torch

    from rlinf_core.data import Ragged

    lp, ent = engine.compute_logprobs(batch)
    lengths = batch.response_ids.lengths
    if not rep.check(isinstance(lp, Ragged) and isinstance(ent, Ragged), "compute_logprobs must return (Ragged, Ragged)"):
        rep.stop_if_any()
    rep.check(
        torch.equal(lp.lengths, lengths) and torch.equal(ent.lengths, lengths),
        "log-probs/entropies are not one per response token",
    )
    rep.stop_if_any()
    rep.check(bool(torch.isfinite(lp.values).all()) and bool((lp.values <= 1e-5).all()), "log-probs must be finite and <= 0")
    rep.check(bool(torch.isfinite(ent.values).all()) and bool((ent.values >= -1e-5).all()), "entropies must be finite and >= 0")
    reference = torch.cat(_reference_logprobs(path, batch, temperature))
    gap = float((lp.values - reference).abs().max())
    rep.check(
        gap < 1e-3,
        f"log-probs differ from a plain Hugging Face forward by {gap:.2e}: they must be log softmax(logits / temperature) "
        "of each response token given everything before it",
    )
    again = engine.compute_logprobs(batch)[0]
    rep.check(torch.allclose(again.values, lp.values, atol=1e-6), "compute_logprobs is not deterministic")
    return lp


def _check_rollout_weights(
    rep: Report, engine: Any, batch: "TrajectoryBatch", path: str, temperature: float, trained: "torch.Tensor"
) -> None:
    """``state_dict_for_rollout``: every Hugging Face weight, rightly shaped, and the trained values."""
    import torch

    state = engine.state_dict_for_rollout()
    hf_state = model_state(path)
    is_state = isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
    if not rep.check(is_state, "state_dict_for_rollout must return a dict of tensors"):
        return
    unknown = sorted(set(state) - set(hf_state))
    rep.check(not unknown, f"state_dict_for_rollout has names the Hugging Face model does not: {unknown[:5]}")
    missing = sorted(k for k in set(hf_state) - set(state) if k != "lm_head.weight")
    rep.check(not missing, f"state_dict_for_rollout lacks weights: {missing[:5]}")
    wrong = sorted(k for k in set(state) & set(hf_state) if tuple(state[k].shape) != tuple(hf_state[k].shape))
    rep.check(not wrong, f"state_dict_for_rollout has wrongly shaped weights: {wrong[:5]}")
    if not (unknown or missing or wrong):
        synced = torch.cat(_reference_logprobs(path, batch, temperature, {k: v.detach().cpu() for k, v in state.items()}))
        rep.check(
            float((synced - trained).abs().max()) < 1e-3,
            "the weights out of state_dict_for_rollout are not the trained weights",
        )


def _check_checkpoint(
    rep: Report, cls: type, cfg: Any, engine: Any, batch: "TrajectoryBatch", temperature: float,
    trained: "torch.Tensor", workdir: Optional[str],
) -> None:
    """``save_checkpoint`` writes a transformers checkpoint of the trained weights that resumes exactly."""
    import torch

    from rlinf_core.models import load_tokenizer

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        target = os.path.join(tmp, "ckpt")
        engine.save_checkpoint(target)
        rep.check(os.path.exists(os.path.join(target, "config.json")), "save_checkpoint wrote no config.json")
        try:
            load_tokenizer(target, "checkpoint")
            saved = torch.cat(_reference_logprobs(target, batch, temperature))
        except Exception as exc:
            rep.check(False, f"the saved checkpoint does not load with transformers: {type(exc).__name__}: {exc}")
            return
        rep.check(float((saved - trained).abs().max()) < 1e-3, "the saved checkpoint does not hold the trained weights")
        _check_resume(rep, cls, cfg, engine, batch, target, os.path.join(tmp, "state"), temperature)


def check_train_backend(
    backend: PluginRef,
    config: Any = None,
    *,
    model_path: Optional[str] = None,
    temperature: float = 1.0,
    modules: Sequence[str] = (),
    registry: Optional["Registry"] = None,
    fresh_process: bool = True,
    workdir: Optional[str] = None,
) -> Optional[Dict[str, float]]:
    """Check a train backend; with ``model_path`` (a tiny checkpoint) also train a step.

    Log-probs are compared with a plain Hugging Face forward (softmax of logits /
    ``temperature``), one update must change the weights, ``state_dict_for_rollout`` must
    return them under Hugging Face names, and ``save_checkpoint`` must write a checkpoint
    that loads back with them. Returns the ``train_step`` metrics, or None for an
    interface-only check.
    """
    import torch

    from rlinf_core.interfaces.train import TrainSetup
    from rlinf_core.testing.algorithms import ClippedPolicyGradient

    name, cls, registry = resolve("train_backends", backend, modules, registry)
    rep = report_for("train_backends", name, cls)
    if config is None and model_path is not None:
        config = {
            "model": {"model_path": str(model_path)},
            "global_batch_size": 4,
            "micro_batch_size": 2,
            "optim": {"lr": 1e-3, "weight_decay": 0.0, "lr_warmup_steps": 0},
        }
    cfg = backend_config(rep, "train_backends", name, cls, registry, config, model_path, fresh_process)
    if cfg is None:
        return None
    path = cfg.model.model_path
    engine = cls(cfg, rank=0, world_size=1)
    engine.load(TrainSetup(seed=0, temperature=temperature, total_optimizer_steps=4))
    batch = _probe_batch(path)
    lp = _check_logprobs(rep, engine, batch, path, temperature)
    metrics = engine.train_step(batch, ClippedPolicyGradient(), 1, True)
    rep.check(
        isinstance(metrics, dict) and all(isinstance(k, str) and finite(v) for k, v in metrics.items()),
        f"train_step must return a dict of name -> finite float, got {metrics!r}",
    )
    trained = engine.compute_logprobs(batch)[0].values
    rep.check(not torch.allclose(trained, lp.values, atol=1e-7), "train_step did not change the weights")
    _check_rollout_weights(rep, engine, batch, path, temperature, trained)
    _check_checkpoint(rep, cls, cfg, engine, batch, temperature, trained, workdir)
    check_by_name(rep, "train_backends", name, cls, registry, fresh_process)
    rep.stop_if_any()
    return metrics


def _check_resume(
    rep: Report, cls: type, cfg: Any, engine: Any, batch: Any, checkpoint: str, state: str, temperature: float
) -> None:
    """A backend rebuilt from the checkpoint plus ``save_state`` continues exactly like the original."""
    from rlinf_core.interfaces.train import TrainSetup
    from rlinf_core.testing.algorithms import ClippedPolicyGradient

    engine.save_state(state)
    resumed = cls(dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, model_path=checkpoint)), rank=0, world_size=1)
    resumed.load(TrainSetup(seed=0, temperature=temperature, total_optimizer_steps=4))
    resumed.load_state(state)
    for backend in (engine, resumed):
        backend.train_step(batch, ClippedPolicyGradient(), 1, True)
    gap = float((engine.compute_logprobs(batch)[0].values - resumed.compute_logprobs(batch)[0].values).abs().max())
    rep.check(
        gap < 1e-5,
        f"a backend resumed from save_checkpoint + save_state/load_state drifts from the original after one more step "
        f"(log-prob gap {gap:.2e}): save the optimizer, scheduler and RNG states",
    )

