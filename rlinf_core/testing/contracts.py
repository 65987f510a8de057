"""The contract suite: what every plugin of a kind promises, checked on the real thing.

Call one check per plugin from your tests, by registered name (preferred: that is how
workers find it) or by class::

    from rlinf_core.testing import check_reward

    def test_my_reward_honours_the_contract():
        check_reward("my-reward")

Each check builds the plugin exactly as the runner does (its ``config_class`` filled from
defaults or from ``config``, round-tripped through a plain dict as when it crosses to a Ray
worker), exercises every interface method on small inputs, and raises
:class:`ContractViolation` listing every broken promise at once. Exceptions raised by the
plugin itself propagate unchanged, with their traceback.

What is checked (see each function for details):

- every kind: a subclass of the interface; ``config_class`` a dataclass subclassing the
  section it configures, every field documented (``rlinf_core.config.doc``) and surviving
  the dict round trip; resolvable **by name** from a freshly built registry, in a fresh
  process too (``fresh_process=True``): workers look plugins up by name and never unpickle
  plugin classes;
- reward: a finite score per response, deterministic, independent of how the batch is split
  (the runner splits batches across reward ranks), empty batches, results that pickle
  without referring to plugin code, ``close()`` idempotent;
- task: valid examples (unique uids, token ids in the vocabulary, prompts within
  ``data.max_prompt_length``, non-empty answers), deterministic loading, full batches in a
  (seed, epoch)-determined order, a missing file is a user error naming it, its
  ``default_reward`` registered;
- algorithm: one finite advantage per trajectory, a finite differentiable scalar loss whose
  micro-batch parts add up to the minibatch loss (normalised by ``num_tokens``/``num_seqs``);
  the optional hooks typed right (``max_generation_batches``, ``keep_group``) and, when
  ``needs_token_advantages``, one finite ``token_advantages`` value per response token;
- rollout / train backend: the interface is complete; with ``model_path`` (a tiny
  checkpoint) a real round: generation shapes, log-probs, seeded reproducibility,
  ``request.sampling`` honoured, ``update_weights`` taking effect; log-probs equal to an
  independent Hugging Face forward, an update that changes the weights, weights out with
  Hugging Face names, a checkpoint that loads back, and exact resumption through
  ``save_state``/``load_state``.

Follows hatch's and pytest's practice of testing every plugin against its interface, and
datasette's rule that hooks are documented and tested.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import math
import numbers
import os
import pickle
import subprocess
import sys
import tempfile
import uuid
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from rlinf_core.errors import RlinfUserError
from rlinf_core.interfaces import (
    INTERFACES,
    Algorithm,
    Example,
    LossInputs,
    LossOutput,
    Reward,
    RewardResult,
    TrainBackend,
)

if TYPE_CHECKING:
    import torch

    from rlinf_core.data import TrajectoryBatch
    from rlinf_core.plugins import Registry

PluginRef = Union[str, type]

# The config section each plugin kind configures (see rlinf_core.config.schema.PLUGGABLE_SECTIONS).
SECTIONS = {
    "rewards": "reward",
    "tasks": "data",
    "algorithms": "algorithm",
    "rollout_backends": "rollout",
    "train_backends": "actor",
}

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

CONTRACT_CORPUS: List[str] = [
    f"What is {a} + {b}? The answer is \\boxed{{{a + b}}}." for a in range(0, 100, 9) for b in range(0, 100, 13)
] + ["<think>\nstep by step.\n</think>", "Reverse the letters: stone -> enots"]


class ContractViolation(AssertionError):
    """A plugin breaks its interface's contract; the message lists every problem found."""


class _Report:
    def __init__(self, what: str):
        self.what = what
        self.problems: List[str] = []

    def check(self, ok: Any, problem: str) -> bool:
        if not ok:
            self.problems.append(problem)
        return bool(ok)

    def stop_if_any(self) -> None:
        if self.problems:
            raise ContractViolation(
                f"{self.what} breaks the rlinf contract:\n" + "\n".join(f"  - {p}" for p in self.problems)
            )


# -- shared helpers ------------------------------------------------------------------------
def _qual(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _resolve(kind: str, plugin: PluginRef, modules: Sequence[str], registry: Optional["Registry"]):
    from rlinf_core.plugins import get_registry

    registry = registry if registry is not None else get_registry(tuple(modules))
    interface = INTERFACES[kind]
    if isinstance(plugin, str):
        return plugin, registry.get(kind, plugin), registry
    if not (inspect.isclass(plugin) and issubclass(plugin, interface)):
        raise ContractViolation(
            f"{plugin!r} is not a subclass of rlinf_core.{interface.__name__}: pass the registered name or the class."
        )
    name = next((n for n in registry.names(kind) if registry.get(kind, n) is plugin), None)
    return name, plugin, registry


def _config(rep: _Report, kind: str, cls: type, config: Any) -> Any:
    """The plugin's config as the runner builds it, checked to survive the trip to a worker."""
    from omegaconf import OmegaConf

    from rlinf_core.config.fields import check_constraints, iter_fields
    from rlinf_core.config.schema import RlinfConfig

    section = SECTIONS[kind]
    base = type(getattr(RlinfConfig(), section))
    config_cls = getattr(cls, "config_class", base)
    if not (inspect.isclass(config_cls) and issubclass(config_cls, base) and dataclasses.is_dataclass(config_cls)):
        rep.check(False, f"config_class {config_cls!r} must be a dataclass subclassing rlinf_core.config.{base.__name__}")
        rep.stop_if_any()
    undocumented = [n for n, f in iter_fields(config_cls) if not f.metadata.get("help")]
    rep.check(
        not undocumented,
        f"config fields without help text: {', '.join(undocumented)}; declare them with "
        f"rlinf_core.config.doc(default, 'help') so `rlinf config show --fields` documents them",
    )
    root = OmegaConf.structured(RlinfConfig)
    if config is None:
        node = OmegaConf.structured(config_cls)
    elif isinstance(config, Mapping):
        node = OmegaConf.merge(OmegaConf.structured(config_cls), dict(config))
    elif isinstance(config, config_cls):
        node = OmegaConf.structured(config)
    else:
        raise TypeError(f"config must be None, a mapping or a {config_cls.__name__}, not {type(config).__name__}")
    root[section] = node
    OmegaConf.resolve(root)
    check_constraints(root[section], section)
    cfg = OmegaConf.to_object(root[section])
    container = OmegaConf.to_container(root[section], resolve=True)
    try:
        back = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(config_cls), container))
    except Exception as exc:  # what a worker does with the dict it receives
        back = exc
    rep.check(
        back == cfg,
        f"config {config_cls.__name__} does not survive the dict round trip to a worker "
        f"({back!r} != {cfg!r}); use plain typed fields (str, int, float, bool, lists, dicts, nested dataclasses)",
    )
    return cfg


def _fresh_process_lookup(kind: str, name: str, modules: Sequence[str]) -> Tuple[str, str]:
    code = (
        "import json, sys\n"
        "from rlinf_core.plugins import load_plugins\n"
        "cls = load_plugins(modules=json.loads(sys.argv[1])).get(sys.argv[2], sys.argv[3])\n"
        "print('RLINF-CONTRACT ' + json.dumps([cls.__module__, cls.__qualname__]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(list(modules)), kind, name],
        capture_output=True, text=True, timeout=300,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RLINF-CONTRACT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ContractViolation(
            f"{kind[:-1]} '{name}' cannot be resolved by name in a fresh Python process (as a Ray worker does): "
            + " | ".join(tail)
        )
    module, qualname = json.loads(lines[-1][len("RLINF-CONTRACT ") :])
    return module, qualname


def _check_by_name(
    rep: _Report, kind: str, name: Optional[str], cls: type, registry: "Registry", fresh_process: bool
) -> None:
    """Workers rebuild the registry and look the plugin up by name; nothing is unpickled."""
    from rlinf_core.plugins import load_plugins

    hook = f"register_{kind}"
    local = "<locals>" in cls.__qualname__
    if not rep.check(not local, f"{_qual(cls)} is defined inside a function; workers cannot import it"):
        return
    if not rep.check(
        name is not None,
        f"{_qual(cls)} is not registered: implement @hookimpl {hook}(register) and register it, "
        f"so workers can resolve it by name",
    ):
        return
    modules = [p.package for p in registry.plugins if p.source == "module" and p.package]
    fresh = load_plugins(modules=modules).get(kind, name)  # type: ignore[arg-type]
    rep.check(
        _qual(fresh) == _qual(cls),
        f"a freshly built registry resolves '{name}' to {_qual(fresh)}, not {_qual(cls)}",
    )
    if fresh_process:
        module, qualname = _fresh_process_lookup(kind, name, modules)  # type: ignore[arg-type]
        rep.check(
            (module, qualname) == (cls.__module__, cls.__qualname__),
            f"a fresh process resolves '{name}' to {module}.{qualname}, not {_qual(cls)}",
        )


def _is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _finite(x: Any) -> bool:
    return _is_real(x) and math.isfinite(float(x))


def _default_tokenizer() -> Any:
    from rlinf_core.tiny import build_tokenizer

    return build_tokenizer(CONTRACT_CORPUS, vocab_size=320)


# -- rewards -------------------------------------------------------------------------------
def _check_reward_result(rep: _Report, result: Any, n: int, call: str) -> bool:
    if not rep.check(isinstance(result, RewardResult), f"{call} returned {type(result).__name__}, not a RewardResult"):
        return False
    scores = list(result.scores) if isinstance(result.scores, (list, tuple)) else None
    ok = rep.check(
        scores is not None and len(scores) == n,
        f"{call} returned {len(result.scores) if hasattr(result.scores, '__len__') else '?'} scores for {n} responses "
        "(one score per response, as a list)",
    )
    bad = [i for i, s in enumerate(scores or []) if not _finite(s)]
    ok &= rep.check(not bad, f"{call}: scores {[scores[i] for i in bad[:5]]} at {bad[:5]} are not finite numbers")
    ok &= rep.check(isinstance(result.components, dict), f"{call}: components must be a dict of name -> list")
    for key, values in dict(result.components).items():
        ok &= rep.check(
            isinstance(key, str) and isinstance(values, (list, tuple)) and len(values) == n,
            f"{call}: component {key!r} must be a list with one value per response ({n})",
        )
        ok &= rep.check(all(_finite(v) for v in values), f"{call}: component {key!r} holds non-finite values")
    ok &= rep.check(isinstance(result.metrics, dict), f"{call}: metrics must be a dict of name -> count")
    for key, value in dict(result.metrics).items():
        ok &= rep.check(
            isinstance(key, str) and _finite(value) and float(value) >= 0,
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
    name, cls, registry = _resolve("rewards", reward, modules, registry)
    rep = _Report(f"reward '{name or cls.__qualname__}' ({_qual(cls)})")
    cfg = _config(rep, "rewards", cls, config)
    rep.stop_if_any()
    pairs = list(DEFAULT_REWARD_SAMPLES if samples is None else samples)
    if not pairs or not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in pairs):
        raise TypeError("samples must be a non-empty sequence of (response, [reference answers]) pairs")
    responses = [str(r) for r, _ in pairs]
    answers = [list(a) for _, a in pairs]
    n = len(pairs)

    instance: Reward = cls(cfg)
    try:
        result = instance.score(list(responses), [list(a) for a in answers])
        if not _check_reward_result(rep, result, n, "score(samples)"):
            rep.stop_if_any()
        again = instance.score(list(responses), [list(a) for a in answers])
        rep.check(
            _same_result(result, again),
            "scoring the same samples twice gave different scores: a reward must be deterministic",
        )
        k = n // 2
        first = instance.score(responses[:k], answers[:k])
        second = instance.score(responses[k:], answers[k:])
        halves_ok = _check_reward_result(rep, first, k, "score(first half)")
        halves_ok &= _check_reward_result(rep, second, n - k, "score(second half)")
        if halves_ok:
            joined = RewardResult(
                scores=list(first.scores) + list(second.scores),
                components={
                    key: list(first.components.get(key, [])) + list(second.components.get(key, []))
                    for key in result.components
                },
            )
            rep.check(
                _same_result(result, joined),
                "scores depend on the batch a response is scored in; the runner splits batches across reward ranks, "
                "so score each response on its own merits",
            )
        empty = instance.score([], [])
        _check_reward_result(rep, empty, 0, "score([], [])")
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
    _check_by_name(rep, "rewards", name, cls, registry, fresh_process)
    rep.stop_if_any()
    return result


# -- tasks ---------------------------------------------------------------------------------
def _example_key(e: Example) -> Tuple[str, Tuple[int, ...], Tuple[str, ...]]:
    return e.uid, tuple(int(t) for t in e.prompt_ids), tuple(e.answers)


def check_task(
    task: PluginRef,
    config: Any = None,
    *,
    paths: Sequence[Union[str, "os.PathLike[str]"]],
    tokenizer: Any = None,
    batch_size: int = 2,
    modules: Sequence[str] = (),
    registry: Optional["Registry"] = None,
    fresh_process: bool = True,
) -> List[Example]:
    """Check a task (registered name or class) loading ``paths`` with ``tokenizer``.

    ``tokenizer`` defaults to a tiny ChatML BPE tokenizer. ``data.train_data_paths`` is set
    to ``paths`` unless ``config`` sets it. Returns the loaded examples.
    """
    name, cls, registry = _resolve("tasks", task, modules, registry)
    rep = _Report(f"task '{name or cls.__qualname__}' ({_qual(cls)})")
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise TypeError("check_task needs paths: the data files (or path specs) the task loads")
    cfg = _config(rep, "tasks", cls, config)
    if not cfg.train_data_paths:
        cfg = dataclasses.replace(cfg, train_data_paths=list(paths))
    rep.stop_if_any()
    tokenizer = tokenizer if tokenizer is not None else _default_tokenizer()
    vocab = len(tokenizer)

    instance = cls(cfg, tokenizer)
    examples = instance.load(list(paths))
    if not rep.check(isinstance(examples, list) and examples, f"load({paths}) must return a non-empty list of Example"):
        rep.stop_if_any()
    problems: Dict[str, List[str]] = {}

    def note(kind: str, text: str) -> None:
        problems.setdefault(kind, []).append(text)

    for i, ex in enumerate(examples):
        if not isinstance(ex, Example):
            note("type", f"#{i} is {type(ex).__name__}")
            continue
        if not (isinstance(ex.uid, str) and ex.uid):
            note("uid", f"#{i} uid={ex.uid!r}")
        ids = list(ex.prompt_ids) if isinstance(ex.prompt_ids, (list, tuple)) else None
        if not ids or not all(isinstance(t, numbers.Integral) and 0 <= int(t) < vocab for t in ids):
            note("prompt_ids", f"#{i} ({ex.uid})")
        elif len(ids) > cfg.max_prompt_length:
            note("too long", f"#{i} ({ex.uid}) has {len(ids)} tokens")
        if not (isinstance(ex.answers, list) and ex.answers and all(isinstance(a, str) and a.strip() for a in ex.answers)):
            note("answers", f"#{i} ({ex.uid}) answers={ex.answers!r}")
    what = {
        "type": "items that are not rlinf_core.Example",
        "uid": "examples without a non-empty string uid",
        "prompt_ids": f"examples whose prompt_ids are not a non-empty list of token ids in [0, {vocab})",
        "too long": f"prompts longer than data.max_prompt_length={cfg.max_prompt_length} (drop and count them in stats)",
        "answers": "examples whose answers are not a non-empty list of non-empty strings",
    }
    for kind, items in problems.items():
        rep.check(False, f"{what[kind]}: {', '.join(items[:5])}" + (f" and {len(items) - 5} more" if len(items) > 5 else ""))
    rep.stop_if_any()
    uids = [e.uid for e in examples]
    dupes = sorted({u for u in uids if uids.count(u) > 1}) if len(set(uids)) != len(uids) else []
    rep.check(not dupes, f"uids must be unique; repeated: {dupes[:5]}")
    rep.check(tokenizer.decode(examples[0].prompt_ids).strip(), "the first prompt decodes to empty text")
    rep.check(
        isinstance(instance.stats, dict)
        and all(isinstance(k, str) and isinstance(v, numbers.Integral) for k, v in instance.stats.items()),
        f"stats must be a dict of name -> int counter (logged as data/<name>), got {instance.stats!r}",
    )
    again = cls(cfg, tokenizer).load(list(paths))
    rep.check(
        [_example_key(e) for e in again] == [_example_key(e) for e in examples],
        "loading the same files twice gave different examples",
    )

    if rep.check(len(examples) >= batch_size, f"{len(examples)} examples are fewer than batch_size={batch_size}"):
        batches = list(instance.batches(examples, batch_size, 0, 0))
        ids = {id(e) for e in examples}
        rep.check(
            len(batches) == len(examples) // batch_size,
            f"batches() gave {len(batches)} batches of one epoch; expected len(examples) // batch_size = "
            f"{len(examples) // batch_size} (full batches only, the last partial one dropped)",
        )
        sizes = sorted({len(b) for b in batches})
        rep.check(sizes in ([], [batch_size]), f"batches() gave batches of sizes {sizes}, not all {batch_size}")
        seen = [id(e) for b in batches for e in b]
        rep.check(all(i in ids for i in seen), "batches() yields objects that are not among the given examples")
        rep.check(len(seen) == len(set(seen)), "batches() repeats an example within one epoch")
        order = [e.uid for b in batches for e in b]
        rep.check(
            order == [e.uid for b in instance.batches(examples, batch_size, 0, 0) for e in b]
            and order == [e.uid for b in cls(cfg, tokenizer).batches(examples, batch_size, 0, 0) for e in b],
            "batches() order is not fixed by (seed, epoch)",
        )

    missing = os.path.join(tempfile.gettempdir(), f"rlinf-contract-missing-{uuid.uuid4().hex[:8]}.jsonl")
    try:
        cls(dataclasses.replace(cfg, train_data_paths=[missing]), tokenizer).load([missing])
        rep.check(False, f"load() of a missing file ({missing}) returned instead of raising a ConfigError naming it")
    except RlinfUserError as exc:
        rep.check(os.path.basename(missing) in str(exc), f"the error for a missing file does not name it: {exc}")
    except Exception as exc:
        rep.check(
            False,
            f"load() of a missing file raised {type(exc).__name__}: {exc}; raise rlinf_core.ConfigError naming the file "
            "(the CLI prints user errors as one paragraph)",
        )
    if cls.default_reward:
        rep.check(
            cls.default_reward in registry.names("rewards"),
            f"default_reward '{cls.default_reward}' is not a registered reward ({', '.join(registry.names('rewards'))})",
        )
    _check_by_name(rep, "tasks", name, cls, registry, fresh_process)
    rep.stop_if_any()
    return examples


# -- algorithms ----------------------------------------------------------------------------
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


def _check_optional_hooks(rep: _Report, algo: Algorithm, batch: "TrajectoryBatch", advantages: "torch.Tensor") -> None:
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
    import torch

    name, cls, registry = _resolve("algorithms", algorithm, modules, registry)
    rep = _Report(f"algorithm '{name or cls.__qualname__}' ({_qual(cls)})")
    cfg = _config(rep, "algorithms", cls, config if config is not None else {"group_size": group_size})
    rep.stop_if_any()
    algo: Algorithm = cls(cfg)
    batch = _synthetic_batch(num_groups, group_size, seed)
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

    lengths = [1 + (i * 7) % 5 for i in range(n)]
    _check_optional_hooks(rep, algo, batch, adv)
    rep.stop_if_any()
    inputs = _loss_inputs(lengths, seed, algo.needs_ref_logprobs, algo.needs_entropy_grad)
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
        isinstance(out.metrics, dict) and all(isinstance(k, str) and _finite(v) for k, v in out.metrics.items()),
        f"LossOutput.metrics must map names to finite floats, got {out.metrics!r}",
    )
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
    skip = algo.skip_update(out.metrics)
    rep.check(isinstance(skip, bool), f"skip_update must return a bool, got {skip!r}")
    _check_by_name(rep, "algorithms", name, cls, registry, fresh_process)
    rep.stop_if_any()
    return out


# -- backends ------------------------------------------------------------------------------
def _check_complete(rep: _Report, cls: type) -> None:
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    rep.check(not missing, f"abstract methods left unimplemented: {', '.join(missing)}")
    params = list(inspect.signature(cls.__init__).parameters)
    rep.check(
        params[:2] == ["self", "config"] and {"rank", "world_size"} <= set(params),
        f"__init__ must accept (config, rank=0, world_size=1) as the workers call it, has {params[1:]}",
    )


def _model_state(path: str) -> Dict[str, "torch.Tensor"]:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path).state_dict()


def _backend_config(
    rep: "_Report", kind: str, name: Optional[str], cls: type, registry: Any, config: Any,
    model_path: Optional[str], fresh_process: bool,
) -> Any:
    """The backend's config with ``model_path`` applied, after the interface checks; None when
    there is no model to run (an interface-only check, finished with the by-name check)."""
    cfg = _config(rep, kind, cls, config)
    if model_path is not None:
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, model_path=str(model_path)))
    _check_complete(rep, cls)
    rep.stop_if_any()
    if not cfg.model.model_path:
        _check_by_name(rep, kind, name, cls, registry, fresh_process)
        rep.stop_if_any()
        return None
    return cfg


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
    import torch

    from rlinf_core.data import Ragged, RolloutRequest, TrajectoryBatch
    from rlinf_core.models import load_tokenizer

    name, cls, registry = _resolve("rollout_backends", backend, modules, registry)
    rep = _Report(f"rollout backend '{name or cls.__qualname__}' ({_qual(cls)})")
    overrides: Dict[str, Any] = {}
    if model_path is not None:
        overrides = {"model": {"model_path": str(model_path)}}
    if config is None:
        config = {**overrides, "max_new_tokens": max_new_tokens}
    cfg = _backend_config(rep, "rollout_backends", name, cls, registry, config, model_path, fresh_process)
    if cfg is None:
        return None
    path = cfg.model.model_path

    engine = cls(cfg, rank=0, world_size=1)
    engine.load()
    tok = load_tokenizer(path)
    prompts = [tok(text, add_special_tokens=False)["input_ids"] for text in ("What is 2 + 3?", "Reverse the letters: stone")]
    request = RolloutRequest(
        prompt_ids=Ragged.from_list(prompts), prompt_uids=["p0", "p1"], answers=[["5"], ["enots"]], group_size=2, seed=123
    )
    out = engine.generate(request)
    if not rep.check(isinstance(out, TrajectoryBatch), f"generate returned {type(out).__name__}, not a TrajectoryBatch"):
        rep.stop_if_any()
    rep.check(len(out) == 4, f"generate returned {len(out)} responses for 2 prompts x group_size 2")
    rep.stop_if_any()
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
    lengths = out.response_ids.lengths.tolist()
    limit = cfg.max_new_tokens
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

    def same(a: TrajectoryBatch, b: TrajectoryBatch) -> bool:
        return torch.equal(a.response_ids.values, b.response_ids.values) and torch.equal(
            a.response_ids.offsets, b.response_ids.offsets
        ) and torch.allclose(a.response_logprobs.values, b.response_logprobs.values, atol=1e-5)

    rep.check(same(out, engine.generate(request)), "the same request (same seed) gave different samples")
    state = _model_state(path)
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
    rep.check(
        same(out, engine.generate(request)), "update_weights with the checkpoint's own weights did not restore its samples"
    )
    _check_sampling_override(rep, engine, request)
    engine.offload()  # as the flow does around training: release, get the trained weights, onload
    engine.update_weights(state)
    engine.onload()
    rep.check(same(out, engine.generate(request)), "offload, update_weights, onload did not restore the samples")
    _check_by_name(rep, "rollout_backends", name, cls, registry, fresh_process)
    rep.stop_if_any()
    return out


def _check_sampling_override(rep: _Report, engine: Any, request: Any) -> None:
    """``request.sampling`` (evaluation's settings) overrides the config: temperature 0 is greedy."""
    import torch

    from rlinf_core import data

    if "sampling" not in {f.name for f in dataclasses.fields(data.RolloutRequest)}:
        return
    greedy = data.SamplingParams(temperature=0.0, max_new_tokens=3)
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


class _ProbeAlgorithm(Algorithm):
    """REINFORCE with a group-mean baseline and importance ratio; drives the train-backend check."""

    def __init__(self) -> None:
        from rlinf_core.config.schema import AlgorithmConfig

        super().__init__(AlgorithmConfig(name="contract-probe"))

    @property
    def advantages_per_group(self) -> bool:
        return True

    @property
    def loss_divides_by_num_tokens(self) -> Optional[bool]:
        return True

    def compute_advantages(self, batch: "TrajectoryBatch") -> "torch.Tensor":
        import torch

        adv = torch.zeros(len(batch))
        for g in torch.unique(batch.group_ids):
            idx = batch.group_ids == g
            adv[idx] = batch.rewards[idx] - batch.rewards[idx].mean()
        return adv

    def compute_loss(self, inputs: LossInputs) -> LossOutput:
        import torch

        ratio = torch.exp(inputs.logprobs - inputs.old_logprobs)
        loss = -(inputs.advantages * ratio).sum() / inputs.num_tokens
        return LossOutput(loss=loss, metrics={"train/ratio": float(ratio.detach().mean())})


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

    from rlinf_core.data import Ragged, TrajectoryBatch
    from rlinf_core.interfaces.train import TrainSetup
    from rlinf_core.models import load_tokenizer

    name, cls, registry = _resolve("train_backends", backend, modules, registry)
    rep = _Report(f"train backend '{name or cls.__qualname__}' ({_qual(cls)})")
    if config is None and model_path is not None:
        config = {
            "model": {"model_path": str(model_path)},
            "global_batch_size": 4,
            "micro_batch_size": 2,
            "optim": {"lr": 1e-3, "weight_decay": 0.0, "lr_warmup_steps": 0},
        }
    cfg = _backend_config(rep, "train_backends", name, cls, registry, config, model_path, fresh_process)
    if cfg is None:
        return None
    path = cfg.model.model_path

    engine = cls(cfg, rank=0, world_size=1)
    engine.load(TrainSetup(seed=0, temperature=temperature, total_optimizer_steps=4))
    tok = load_tokenizer(path, "actor.model.model_path")
    g = torch.Generator().manual_seed(0)
    prompts = [torch.tensor(tok(t, add_special_tokens=False)["input_ids"]) for t in ("What is 2 + 3?", "Reverse: stone")]
    prompts = [prompts[0], prompts[0], prompts[1], prompts[1]]
    responses = [torch.randint(4, len(tok), (n,), generator=g) for n in (3, 5, 1, 4)]
    batch = TrajectoryBatch(
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

    metrics = engine.train_step(batch, _ProbeAlgorithm(), 1, True)
    rep.check(
        isinstance(metrics, dict) and all(isinstance(k, str) and _finite(v) for k, v in metrics.items()),
        f"train_step must return a dict of name -> finite float, got {metrics!r}",
    )
    after = engine.compute_logprobs(batch)[0]
    rep.check(not torch.allclose(after.values, lp.values, atol=1e-7), "train_step did not change the weights")

    state = engine.state_dict_for_rollout()
    hf_state = _model_state(path)
    is_state = isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
    if rep.check(is_state, "state_dict_for_rollout must return a dict of tensors"):
        unknown = sorted(set(state) - set(hf_state))
        rep.check(not unknown, f"state_dict_for_rollout has names the Hugging Face model does not: {unknown[:5]}")
        missing = sorted(k for k in set(hf_state) - set(state) if k != "lm_head.weight")
        rep.check(not missing, f"state_dict_for_rollout lacks weights: {missing[:5]}")
        wrong = sorted(k for k in set(state) & set(hf_state) if tuple(state[k].shape) != tuple(hf_state[k].shape))
        rep.check(not wrong, f"state_dict_for_rollout has wrongly shaped weights: {wrong[:5]}")
        if not (unknown or missing or wrong):
            synced = torch.cat(_reference_logprobs(path, batch, temperature, {k: v.detach().cpu() for k, v in state.items()}))
            rep.check(
                float((synced - after.values).abs().max()) < 1e-3,
                "the weights out of state_dict_for_rollout are not the trained weights",
            )
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        target = os.path.join(tmp, "ckpt")
        engine.save_checkpoint(target)
        rep.check(os.path.exists(os.path.join(target, "config.json")), "save_checkpoint wrote no config.json")
        try:
            load_tokenizer(target, "checkpoint")
            saved = torch.cat(_reference_logprobs(target, batch, temperature))
            rep.check(
                float((saved - after.values).abs().max()) < 1e-3, "the saved checkpoint does not hold the trained weights"
            )
        except Exception as exc:
            rep.check(False, f"the saved checkpoint does not load with transformers: {type(exc).__name__}: {exc}")
        else:
            if "save_state" in getattr(TrainBackend, "__abstractmethods__", ()):
                _check_resume(rep, cls, cfg, engine, batch, target, os.path.join(tmp, "state"), temperature)
    _check_by_name(rep, "train_backends", name, cls, registry, fresh_process)
    rep.stop_if_any()
    return metrics


def _check_resume(
    rep: _Report, cls: type, cfg: Any, engine: Any, batch: Any, checkpoint: str, state: str, temperature: float
) -> None:
    """A backend rebuilt from the checkpoint plus ``save_state`` continues exactly like the original."""
    from rlinf_core.interfaces.train import TrainSetup

    engine.save_state(state)
    resumed = cls(dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, model_path=checkpoint)), rank=0, world_size=1)
    resumed.load(TrainSetup(seed=0, temperature=temperature, total_optimizer_steps=4))
    resumed.load_state(state)
    for backend in (engine, resumed):
        backend.train_step(batch, _ProbeAlgorithm(), 1, True)
    gap = float((engine.compute_logprobs(batch)[0].values - resumed.compute_logprobs(batch)[0].values).abs().max())
    rep.check(
        gap < 1e-5,
        f"a backend resumed from save_checkpoint + save_state/load_state drifts from the original after one more step "
        f"(log-prob gap {gap:.2e}): save the optimizer, scheduler and RNG states",
    )

