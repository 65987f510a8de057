"""The task contract: valid examples (unique uids, token ids in the vocabulary, prompts within
``data.max_prompt_length``, non-empty answers), deterministic loading, full batches in a
(seed, epoch)-determined order, a missing file is a user error naming it, its
``default_reward`` registered."""

from __future__ import annotations

import dataclasses
import numbers
import os
import tempfile
import uuid
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union

from rlinf_core.errors import RlinfUserError
from rlinf_core.interfaces import Example
from rlinf_core.testing.contracts.common import (
    PluginRef,
    Report,
    check_by_name,
    default_tokenizer,
    plugin_config,
    report_for,
    resolve,
)

if TYPE_CHECKING:
    from rlinf_core.plugins import Registry


def _example_key(e: Example) -> Tuple[str, Tuple[int, ...], Tuple[str, ...]]:
    return e.uid, tuple(int(t) for t in e.prompt_ids), tuple(e.answers)


def _example_problems(examples: List[Any], vocab: int, max_prompt_length: int) -> Dict[str, List[str]]:
    """Kind of problem -> the examples that have it."""
    problems: Dict[str, List[str]] = {}
    for i, ex in enumerate(examples):
        if not isinstance(ex, Example):
            problems.setdefault("type", []).append(f"#{i} is {type(ex).__name__}")
            continue
        if not (isinstance(ex.uid, str) and ex.uid):
            problems.setdefault("uid", []).append(f"#{i} uid={ex.uid!r}")
        ids = list(ex.prompt_ids) if isinstance(ex.prompt_ids, (list, tuple)) else None
        if not ids or not all(isinstance(t, numbers.Integral) and 0 <= int(t) < vocab for t in ids):
            problems.setdefault("prompt_ids", []).append(f"#{i} ({ex.uid})")
        elif len(ids) > max_prompt_length:
            problems.setdefault("too long", []).append(f"#{i} ({ex.uid}) has {len(ids)} tokens")
        if not (isinstance(ex.answers, list) and ex.answers and all(isinstance(a, str) and a.strip() for a in ex.answers)):
            problems.setdefault("answers", []).append(f"#{i} ({ex.uid}) answers={ex.answers!r}")
    return problems


def _check_examples(rep: Report, examples: List[Any], vocab: int, max_prompt_length: int) -> None:
    what = {
        "type": "items that are not rlinf_core.Example",
        "uid": "examples without a non-empty string uid",
        "prompt_ids": f"examples whose prompt_ids are not a non-empty list of token ids in [0, {vocab})",
        "too long": f"prompts longer than data.max_prompt_length={max_prompt_length} (drop and count them in stats)",
        "answers": "examples whose answers are not a non-empty list of non-empty strings",
    }
    for kind, items in _example_problems(examples, vocab, max_prompt_length).items():
        more = f" and {len(items) - 5} more" if len(items) > 5 else ""
        rep.check(False, f"{what[kind]}: {', '.join(items[:5])}{more}")
    rep.stop_if_any()
    uids = [e.uid for e in examples]
    dupes = sorted({u for u in uids if uids.count(u) > 1}) if len(set(uids)) != len(uids) else []
    rep.check(not dupes, f"uids must be unique; repeated: {dupes[:5]}")


def _check_batches(
    rep: Report, cls: type, cfg: Any, tokenizer: Any, instance: Any, examples: List[Example], batch_size: int
) -> None:
    """One epoch of full batches, no repeats, in an order fixed by (seed, epoch)."""
    if not rep.check(len(examples) >= batch_size, f"{len(examples)} examples are fewer than batch_size={batch_size}"):
        return
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


def _check_missing_file(rep: Report, cls: type, cfg: Any, tokenizer: Any) -> None:
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


def _check_loads_alike(
    rep: Report, cls: type, cfg: Any, tokenizer: Any, paths: List[str], instance: Any, examples: List[Example]
) -> None:
    """Readable first prompt, integer stats, and the same examples on a second load."""
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
    name, cls, registry = resolve("tasks", task, modules, registry)
    rep = report_for("tasks", name, cls)
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise TypeError("check_task needs paths: the data files (or path specs) the task loads")
    cfg = plugin_config(rep, "tasks", cls, config)
    if not cfg.train_data_paths:
        cfg = dataclasses.replace(cfg, train_data_paths=list(paths))
    rep.stop_if_any()
    tokenizer = tokenizer if tokenizer is not None else default_tokenizer()

    instance = cls(cfg, tokenizer)
    examples = instance.load(list(paths))
    if not rep.check(isinstance(examples, list) and examples, f"load({paths}) must return a non-empty list of Example"):
        rep.stop_if_any()
    _check_examples(rep, examples, len(tokenizer), cfg.max_prompt_length)
    _check_loads_alike(rep, cls, cfg, tokenizer, paths, instance, examples)
    _check_batches(rep, cls, cfg, tokenizer, instance, examples, batch_size)
    _check_missing_file(rep, cls, cfg, tokenizer)
    if cls.default_reward:
        rep.check(
            cls.default_reward in registry.names("rewards"),
            f"default_reward '{cls.default_reward}' is not a registered reward ({', '.join(registry.names('rewards'))})",
        )
    check_by_name(rep, "tasks", name, cls, registry, fresh_process)
    rep.stop_if_any()
    return examples
