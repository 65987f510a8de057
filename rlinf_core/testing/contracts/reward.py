"""The reward contract: a finite score per response, deterministic, independent of how the batch
is split across reward ranks, empty batches handled, results that pickle without plugin code,
``close()`` idempotent."""

from __future__ import annotations

import io
import pickle
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from rlinf_core.interfaces import Reward, RewardResult
from rlinf_core.testing.contracts.common import PluginRef, Report, check_by_name, finite, plugin_config, report_for, resolve

if TYPE_CHECKING:
    from rlinf_core.plugins import Registry

# (response, reference answers): ordinary, empty, huge, unicode, malformed and multi-answer cases.
DEFAULT_REWARD_SAMPLES: List[Tuple[str, List[str]]] = [
    ("\\boxed{4}", ["\\boxed{4}"]),
    ("The answer is 4.", ["4"]),
    ("enots", ["enots"]),
    ("", ["\\boxed{1}"]),
    ("   \n", ["x"]),
    ("\\boxed{", ["\\boxed{2}"]),
    ("\\boxed{\\frac{1}{2}}", ["\\boxed{0.5}"]),
    ("<think>\nhmm\n</think> \\boxed{7}", ["\\boxed{7}", "7"]),
    ("ünïcødé ✓ 🤖", ["ünïcødé"]),
    ("9" * 3000, ["9"]),
    ("None", ["None"]),
    ("a\nb\nc", ["a", "c"]),
]


def _check_result(rep: Report, result: Any, n: int, call: str) -> bool:
    """One finite score per response, components one value per response, metrics non-negative counts."""
    if not rep.check(isinstance(result, RewardResult), f"{call} returned {type(result).__name__}, not a RewardResult"):
        return False
    scores = list(result.scores) if isinstance(result.scores, (list, tuple)) else None
    ok = rep.check(
        scores is not None and len(scores) == n,
        f"{call} returned {len(result.scores) if hasattr(result.scores, '__len__') else '?'} scores for {n} responses "
        "(one score per response, as a list)",
    )
    bad = [i for i, s in enumerate(scores or []) if not finite(s)]
    ok &= rep.check(not bad, f"{call}: scores {[scores[i] for i in bad[:5]]} at {bad[:5]} are not finite numbers")
    ok &= rep.check(isinstance(result.components, dict), f"{call}: components must be a dict of name -> list")
    for key, values in dict(result.components).items():
        ok &= rep.check(
            isinstance(key, str) and isinstance(values, (list, tuple)) and len(values) == n,
            f"{call}: component {key!r} must be a list with one value per response ({n})",
        )
        ok &= rep.check(all(finite(v) for v in values), f"{call}: component {key!r} holds non-finite values")
    ok &= rep.check(isinstance(result.metrics, dict), f"{call}: metrics must be a dict of name -> count")
    for key, value in dict(result.metrics).items():
        ok &= rep.check(
            isinstance(key, str) and finite(value) and float(value) >= 0,
            f"{call}: metric {key!r}={value!r} must be a non-negative count (the runner sums metrics over reward ranks)",
        )
    return ok


def _same_result(a: RewardResult, b: RewardResult) -> bool:
    def norm(r: RewardResult) -> Tuple[List[float], Dict[str, List[float]]]:
        return [float(s) for s in r.scores], {k: [float(v) for v in vs] for k, vs in r.components.items()}

    return norm(a) == norm(b)


def _pickled_modules(obj: Any) -> List[str]:
    seen: List[str] = []

    class _Recorder(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            seen.append(module)
            return super().find_class(module, name)

    _Recorder(io.BytesIO(pickle.dumps(obj))).load()
    return seen


def _check_split_batches(rep: Report, instance: Reward, responses: List[str], answers: List[List[str]], result: RewardResult) -> None:
    """Scoring the two halves separately gives the whole batch's scores (reward ranks split batches)."""
    n, k = len(responses), len(responses) // 2
    first = instance.score(responses[:k], answers[:k])
    second = instance.score(responses[k:], answers[k:])
    halves_ok = _check_result(rep, first, k, "score(first half)")
    halves_ok &= _check_result(rep, second, n - k, "score(second half)")
    if halves_ok:
        joined = RewardResult(
            scores=list(first.scores) + list(second.scores),
            components={
                key: list(first.components.get(key, [])) + list(second.components.get(key, [])) for key in result.components
            },
        )
        rep.check(
            _same_result(result, joined),
            "scores depend on the batch a response is scored in; the runner splits batches across reward ranks, "
            "so score each response on its own merits",
        )


def _check_pickles(rep: Report, cls: type, result: RewardResult) -> None:
    """The result crosses Ray: it must pickle, unchanged, without referring to the plugin's code."""
    try:
        roundtrip = pickle.loads(pickle.dumps(result))
        rep.check(_same_result(result, roundtrip), "the RewardResult changes when pickled (it crosses Ray)")
        root = cls.__module__.split(".")[0]
        if root != "rlinf_core":
            leaked = sorted({m for m in _pickled_modules(result) if m == root or m.startswith(root + ".")})
            rep.check(
                not leaked,
                f"the RewardResult refers to plugin code ({', '.join(leaked)}); return plain floats, lists and dicts",
            )
    except Exception as exc:
        rep.check(False, f"the RewardResult cannot be pickled to cross Ray: {type(exc).__name__}: {exc}")


def _score_and_check(rep: Report, cls: type, instance: Reward, responses: List[str], answers: List[List[str]]) -> RewardResult:
    """The per-instance promises: valid, deterministic, split-independent results; empty batches."""
    result = instance.score(list(responses), [list(a) for a in answers])
    if not _check_result(rep, result, len(responses), "score(samples)"):
        rep.stop_if_any()
    again = instance.score(list(responses), [list(a) for a in answers])
    rep.check(
        _same_result(result, again), "scoring the same samples twice gave different scores: a reward must be deterministic"
    )
    _check_split_batches(rep, instance, responses, answers, result)
    _check_result(rep, instance.score([], []), 0, "score([], [])")
    _check_pickles(rep, cls, result)
    return result


def check_reward(
    reward: PluginRef,
    config: Any = None,
    samples: Optional[Sequence[Tuple[str, Sequence[str]]]] = None,
    *,
    modules: Sequence[str] = (),
    registry: Optional["Registry"] = None,
    fresh_process: bool = True,
) -> RewardResult:
    """Check a reward (registered name or class) on ``samples`` of (response, answers).

    ``config`` is None (the ``config_class`` defaults), a mapping of field overrides, or a
    ``config_class`` instance. ``modules`` are plugin modules to load as ``plugins.modules``
    does. Returns the result of scoring ``samples`` (default :data:`DEFAULT_REWARD_SAMPLES`).
    """
    name, cls, registry = resolve("rewards", reward, modules, registry)
    rep = report_for("rewards", name, cls)
    cfg = plugin_config(rep, "rewards", cls, config)
    rep.stop_if_any()
    pairs = list(DEFAULT_REWARD_SAMPLES if samples is None else samples)
    if not pairs or not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in pairs):
        raise TypeError("samples must be a non-empty sequence of (response, [reference answers]) pairs")
    responses = [str(r) for r, _ in pairs]
    answers = [list(a) for _, a in pairs]

    instance: Reward = cls(cfg)
    try:
        result = _score_and_check(rep, cls, instance, responses, answers)
    finally:
        instance.close()
    try:
        instance.close()
    except Exception as exc:
        rep.check(False, f"close() must be safe to call twice: {type(exc).__name__}: {exc}")
    other: Reward = cls(cfg)
    try:
        rep.check(
            _same_result(result, other.score(list(responses), [list(a) for a in answers])),
            "a second instance with the same config scores differently: a reward must be deterministic",
        )
    finally:
        other.close()
    check_by_name(rep, "rewards", name, cls, registry, fresh_process)
    rep.stop_if_any()
    return result
