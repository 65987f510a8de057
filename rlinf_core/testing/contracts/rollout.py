"""The rollout backend contract: with a tiny checkpoint, a real round of generation: shapes
and bookkeeping of the batch, log-probabilities, seeded reproducibility, ``request.sampling``
honoured, ``update_weights`` taking effect and surviving offload/onload."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from rlinf_core.testing.contracts.backends import backend_config, model_state
from rlinf_core.testing.contracts.common import PluginRef, Report, check_by_name, report_for, resolve

if TYPE_CHECKING:
    from rlinf_core.data import RolloutRequest, TrajectoryBatch
    from rlinf_core.plugins import Registry


def _request(path: str) -> Tuple[List[List[int]], "RolloutRequest"]:
    """Two prompts, two samples each, with a fixed seed."""
    from rlinf_core.data import Ragged, RolloutRequest
    from rlinf_core.models import load_tokenizer

    tok = load_tokenizer(path)
    prompts = [tok(text, add_special_tokens=False)["input_ids"] for text in ("What is 2 + 3?", "Reverse the letters: stone")]
    request = RolloutRequest(
        prompt_ids=Ragged.from_list(prompts), prompt_uids=["p0", "p1"], answers=[["5"], ["enots"]], group_size=2, seed=123
    )
    return prompts, request


def _check_bookkeeping(rep: Report, out: "TrajectoryBatch", prompts: List[List[int]]) -> None:
    """Rows in request order, prompt-major, with each prompt's uid, answers and token ids."""
    rep.check(
        out.group_ids.tolist() == [0, 0, 1, 1],
        f"group_ids {out.group_ids.tolist()} != [0, 0, 1, 1] (request order, prompt-major)",
    )
    rep.check(out.prompt_uids == ["p0", "p0", "p1", "p1"], f"prompt_uids {out.prompt_uids} are not repeated per response")
    rep.check(out.answers == [["5"], ["5"], ["enots"], ["enots"]], f"answers {out.answers} are not repeated per response")
    rep.check(
        [p.tolist() for p in out.prompt_ids.to_list()] == [prompts[0], prompts[0], prompts[1], prompts[1]],
        "prompt_ids of the batch are not the request's prompts, repeated per response",
    )


def _check_responses(rep: Report, out: "TrajectoryBatch", limit: int) -> None:
    """Lengths within the limit, log-probabilities, truncation flags and decoded texts."""
    import torch

    lengths = out.response_ids.lengths.tolist()
    rep.check(all(0 <= n <= limit for n in lengths), f"response lengths {lengths} exceed rollout.max_new_tokens={limit}")
    lp = out.response_logprobs.values
    rep.check(
        bool(torch.isfinite(lp).all()) and bool((lp <= 1e-5).all()),
        "response_logprobs must be finite log-probabilities (<= 0)",
    )
    rep.check(
        out.truncated.dtype == torch.bool and tuple(out.truncated.shape) == (4,),
        "truncated must be a bool tensor with one flag per response",
    )
    rep.check(
        all(n == limit for n, t in zip(lengths, out.truncated.tolist()) if t),
        "a response is flagged truncated but is shorter than rollout.max_new_tokens",
    )
    rep.check(
        isinstance(out.response_texts, list)
        and len(out.response_texts) == 4
        and all(isinstance(t, str) for t in out.response_texts),
        "response_texts must hold the decoded response of every row (the reward scores text)",
    )


def _same(a: "TrajectoryBatch", b: "TrajectoryBatch") -> bool:
    import torch

    return torch.equal(a.response_ids.values, b.response_ids.values) and torch.equal(
        a.response_ids.offsets, b.response_ids.offsets
    ) and torch.allclose(a.response_logprobs.values, b.response_logprobs.values, atol=1e-5)


def _check_weight_updates(rep: Report, engine: Any, request: "RolloutRequest", out: "TrajectoryBatch", path: str) -> None:
    """Other weights change the samples; the checkpoint's own weights restore them, also across offload."""
    import torch

    state = model_state(path)
    g = torch.Generator().manual_seed(0)
    noisy = {k: v + 0.5 * torch.randn(v.shape, generator=g) if v.is_floating_point() else v for k, v in state.items()}
    engine.update_weights(noisy)
    changed = engine.generate(request)
    rep.check(
        not torch.equal(changed.response_ids.values, out.response_ids.values)
        or not torch.allclose(changed.response_logprobs.values, out.response_logprobs.values, atol=1e-4),
        "update_weights with different weights did not change the samples or their log-probs",
    )
    engine.update_weights(state)
    rep.check(_same(out, engine.generate(request)), "update_weights with the checkpoint's own weights did not restore its samples")
    _check_sampling_override(rep, engine, request)
    engine.offload()  # as the flow does around training: release, get the trained weights, onload
    engine.update_weights(state)
    engine.onload()
    rep.check(_same(out, engine.generate(request)), "offload, update_weights, onload did not restore the samples")


def _check_sampling_override(rep: Report, engine: Any, request: "RolloutRequest") -> None:
    """``request.sampling`` (evaluation's settings) overrides the config: temperature 0 is greedy."""
    import torch

    from rlinf_core.data import SamplingParams

    greedy = SamplingParams(temperature=0.0, max_new_tokens=3)
    one = engine.generate(dataclasses.replace(request, sampling=greedy, seed=1))
    two = engine.generate(dataclasses.replace(request, sampling=greedy, seed=2))
    rep.check(
        all(n <= 3 for n in one.response_ids.lengths.tolist()),
        f"request.sampling.max_new_tokens=3 was not honoured (lengths {one.response_ids.lengths.tolist()})",
    )
    rep.check(
        torch.equal(one.response_ids.values, two.response_ids.values)
        and torch.equal(one.response_ids.offsets, two.response_ids.offsets),
        "request.sampling.temperature=0 must be greedy: two seeds gave different responses",
    )


def check_rollout_backend(
    backend: PluginRef,
    config: Any = None,
    *,
    model_path: Optional[str] = None,
    max_new_tokens: int = 8,
    modules: Sequence[str] = (),
    registry: Optional["Registry"] = None,
    fresh_process: bool = True,
) -> Optional["TrajectoryBatch"]:
    """Check a rollout backend; with ``model_path`` (a tiny checkpoint) also generate with it.

    Returns the generated batch (2 prompts x group of 2), or None for an interface-only check.
    """
    from rlinf_core.data import TrajectoryBatch

    name, cls, registry = resolve("rollout_backends", backend, modules, registry)
    rep = report_for("rollout_backends", name, cls)
    if config is None:
        overrides: Dict[str, Any] = {"model": {"model_path": str(model_path)}} if model_path is not None else {}
        config = {**overrides, "max_new_tokens": max_new_tokens}
    cfg = backend_config(rep, "rollout_backends", name, cls, registry, config, model_path, fresh_process)
    if cfg is None:
        return None
    engine = cls(cfg, rank=0, world_size=1)
    engine.load()
    prompts, request = _request(cfg.model.model_path)
    out = engine.generate(request)
    if not rep.check(isinstance(out, TrajectoryBatch), f"generate returned {type(out).__name__}, not a TrajectoryBatch"):
        rep.stop_if_any()
    rep.check(len(out) == 4, f"generate returned {len(out)} responses for 2 prompts x group_size 2")
    rep.stop_if_any()
    _check_bookkeeping(rep, out, prompts)
    _check_responses(rep, out, cfg.max_new_tokens)
    rep.check(_same(out, engine.generate(request)), "the same request (same seed) gave different samples")
    _check_weight_updates(rep, engine, request, out, cfg.model.model_path)
    check_by_name(rep, "rollout_backends", name, cls, registry, fresh_process)
    rep.stop_if_any()
    return out
