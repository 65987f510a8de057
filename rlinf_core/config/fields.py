"""Documented config fields: every field carries its help text and its allowed values.

``doc(default, "help", ge=0, choices=[...])`` is a ``dataclasses.field`` whose metadata
holds the help text (shown by ``rlinf config show --fields`` and checked by a test so
no field goes undocumented) and the constraints that :func:`check_constraints` enforces
after OmegaConf has done the type checking.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator, Sequence

from omegaconf import DictConfig, OmegaConf

from rlinf_core.errors import ConfigError

_MISSING = dataclasses.MISSING


def doc(
    default: Any = _MISSING,
    help: str = "",
    *,
    factory: Any = _MISSING,
    choices: Sequence[Any] | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
) -> Any:
    """A dataclass field with help text and optional constraints (``choices``, ``ge``, ``gt``, ``le``)."""
    if not help:
        raise ValueError("every config field needs help text")
    metadata = {"help": help, "choices": choices, "ge": ge, "gt": gt, "le": le}
    if factory is not _MISSING:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    if isinstance(default, (list, dict)) or dataclasses.is_dataclass(default):
        value = default
        return dataclasses.field(default_factory=lambda: _copy(value), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


def iter_fields(cls: type, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field]]:
    """Every (dotted name, field) of a config dataclass, nested sections included."""
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name}"
        yield name, f
        ftype = f.type if isinstance(f.type, type) else None
        default_obj = _default_instance(f)
        sub = type(default_obj) if dataclasses.is_dataclass(default_obj) else ftype
        if sub is not None and dataclasses.is_dataclass(sub):
            yield from iter_fields(sub, prefix=f"{name}.")


def _default_instance(f: dataclasses.Field) -> Any:
    if f.default is not _MISSING:
        return f.default
    if f.default_factory is not _MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def check_constraints(node: DictConfig, prefix: str) -> None:
    """Enforce each field's ``choices``/``ge``/``gt``/``le``; the error names the dotted field."""
    cls = OmegaConf.get_type(node)
    if cls is None or not dataclasses.is_dataclass(cls):
        return
    for f in dataclasses.fields(cls):
        value = node[f.name]
        name = f"{prefix}.{f.name}" if prefix else f.name
        if isinstance(value, DictConfig) and dataclasses.is_dataclass(OmegaConf.get_type(value)):
            check_constraints(value, name)
            continue
        meta = f.metadata
        if value is None:
            continue
        choices = meta.get("choices")
        if choices is not None and value not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise ConfigError(f"Invalid value for `{name}`: {value!r}. Allowed: {allowed}.")
        for key, ok, word in (
            ("ge", lambda v, b: v >= b, ">="),
            ("gt", lambda v, b: v > b, ">"),
            ("le", lambda v, b: v <= b, "<="),
        ):
            bound = meta.get(key)
            if bound is not None and isinstance(value, (int, float)) and not ok(value, bound):
                raise ConfigError(f"Invalid value for `{name}`: {value!r}. It must be {word} {bound}.")
