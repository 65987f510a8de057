"""Every field of a resolved config, documented: what ``rlinf config show --fields`` prints.

Section by section (plugin-extended sections with the plugin's own fields), each field with
its type, its default, its value in this recipe when that differs, and its help text. The
walk follows the resolved config rather than the bare schema, so a section swapped for a
plugin's subclass (``algorithm.name: grpo`` -> ``GRPOConfig``) lists the plugin's fields.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Iterator, List

from omegaconf import DictConfig, ListConfig, OmegaConf

from rlinf_core.config.fields import _default_instance


@dataclasses.dataclass
class FieldDoc:
    name: str  # dotted, e.g. runner.max_steps
    type: str
    default: Any
    value: Any
    help: str


@dataclasses.dataclass
class SectionDoc:
    name: str  # dotted, e.g. rollout.model
    cls: str
    help: str
    fields: List[FieldDoc]


def _defaults_of(cls: type, given: Any) -> Any:
    """A default instance of ``cls``: the parent's declared default if it is one, else ``cls()``."""
    if isinstance(given, cls):
        return given
    try:
        return cls()
    except TypeError:  # a plugin section with a required field: fall back to per-field defaults
        return None


def _class_doc(cls: type) -> str:
    """The first real docstring along ``cls``'s MRO (a plugin subclass often has none, and
    ``dataclass`` then makes up one that is only the signature)."""
    for klass in cls.__mro__:
        text = (klass.__dict__.get("__doc__") or "").strip()
        if text and not text.startswith(f"{klass.__name__}("):
            return text.splitlines()[0]
    return ""


def _plain(value: Any) -> Any:
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def iter_sections(node: DictConfig, name: str, help_text: str, given_default: Any = None) -> Iterator[SectionDoc]:
    """The section at ``node`` then its nested sections, depth first."""
    cls = OmegaConf.get_type(node)
    defaults = _defaults_of(cls, given_default)
    fields, nested = [], []
    for f in dataclasses.fields(cls):
        default = getattr(defaults, f.name) if defaults is not None else _default_instance(f)
        child = node._get_node(f.name)
        if isinstance(child, DictConfig) and dataclasses.is_dataclass(OmegaConf.get_type(child)):
            nested.append((child, f"{name}.{f.name}", f.metadata.get("help", ""), default))
            continue
        value = _plain(node[f.name])  # resolved, so ${runner.cache_dir}/... shows the real path
        ftype = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        fields.append(FieldDoc(f"{name}.{f.name}", ftype, default, value, f.metadata.get("help", "")))
    yield SectionDoc(name, cls.__name__, help_text or _class_doc(cls), fields)
    for args in nested:
        yield from iter_sections(*args)


def describe_fields(cfg: DictConfig) -> List[SectionDoc]:
    """Every section of ``cfg`` (a loaded config) with its documented fields."""
    root = OmegaConf.get_type(cfg)
    sections: List[SectionDoc] = []
    for f in dataclasses.fields(root):
        node = cfg._get_node(f.name)
        cls = OmegaConf.get_type(node)
        # The section class's docstring says more than the one-word field help of RlinfConfig.
        help_text = _class_doc(cls) or f.metadata.get("help", "")
        sections.extend(iter_sections(node, f.name, help_text, _default_instance(f)))
    return sections


def _show(value: Any) -> str:
    return json.dumps(value, default=str)


def format_fields(cfg: DictConfig) -> str:
    """The text of ``rlinf config show --fields``: a block per section, two lines per field."""
    lines: List[str] = []
    for sec in describe_fields(cfg):
        lines += [f"# {sec.name} ({sec.cls}): {sec.help}"]
        for fd in sec.fields:
            entry = f"{fd.name}: {fd.type} = {_show(fd.default)}"
            if _plain(fd.default) != fd.value:
                entry += f"  (this recipe: {_show(fd.value)})"
            lines += [entry, f"    {fd.help}"]
        lines.append("")
    return "\n".join(lines).rstrip()
