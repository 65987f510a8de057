"""What every contract check shares: the report of broken promises, resolving a plugin by
name or class, building its config as the runner does, and the by-name lookup workers use."""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import numbers
import subprocess
import sys
from typing import TYPE_CHECKING, Any, List, Mapping, Optional, Sequence, Tuple, Union

from rlinf_core.kinds import KINDS_BY_NAME

if TYPE_CHECKING:
    from rlinf_core.plugins import Registry

PluginRef = Union[str, type]

CONTRACT_CORPUS: List[str] = [
    f"What is {a} + {b}? The answer is \\boxed{{{a + b}}}." for a in range(0, 100, 9) for b in range(0, 100, 13)
] + ["<think>\nstep by step.\n</think>", "Reverse the letters: stone -> enots"]


class ContractViolation(AssertionError):
    """A plugin breaks its interface's contract; the message lists every problem found."""


class Report:
    """Collects broken promises so a check reports all of them at once."""

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


def qual(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def resolve(kind: str, plugin: PluginRef, modules: Sequence[str], registry: Optional["Registry"]):
    """(registered name or None, class, registry) for a plugin given by name or by class."""
    from rlinf_core.plugins import get_registry

    registry = registry if registry is not None else get_registry(tuple(modules))
    interface = KINDS_BY_NAME[kind].interface
    if isinstance(plugin, str):
        return plugin, registry.get(kind, plugin), registry
    if not (inspect.isclass(plugin) and issubclass(plugin, interface)):
        raise ContractViolation(
            f"{plugin!r} is not a subclass of rlinf_core.{interface.__name__}: pass the registered name or the class."
        )
    name = next((n for n in registry.names(kind) if registry.get(kind, n) is plugin), None)
    return name, plugin, registry


def report_for(kind: str, name: Optional[str], cls: type) -> Report:
    return Report(f"{KINDS_BY_NAME[kind].label} '{name or cls.__qualname__}' ({qual(cls)})")


def _config_class(rep: Report, kind: str, cls: type) -> type:
    """The plugin's ``config_class``: a documented dataclass extending its section's."""
    from rlinf_core.config.fields import iter_fields
    from rlinf_core.config.schema import RlinfConfig

    base = type(getattr(RlinfConfig(), KINDS_BY_NAME[kind].section))
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
    return config_cls


def plugin_config(rep: Report, kind: str, cls: type, config: Any) -> Any:
    """The plugin's config as the runner builds it, checked to survive the trip to a worker."""
    from omegaconf import OmegaConf

    from rlinf_core.config.fields import check_constraints
    from rlinf_core.config.schema import RlinfConfig

    section = KINDS_BY_NAME[kind].section
    config_cls = _config_class(rep, kind, cls)
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
            f"{KINDS_BY_NAME[kind].label} '{name}' cannot be resolved by name in a fresh Python process "
            "(as a Ray worker does): " + " | ".join(tail)
        )
    module, qualname = json.loads(lines[-1][len("RLINF-CONTRACT ") :])
    return module, qualname


def check_by_name(
    rep: Report, kind: str, name: Optional[str], cls: type, registry: "Registry", fresh_process: bool
) -> None:
    """Workers rebuild the registry and look the plugin up by name; nothing is unpickled."""
    from rlinf_core.plugins import load_plugins

    hook = KINDS_BY_NAME[kind].hook
    local = "<locals>" in cls.__qualname__
    if not rep.check(not local, f"{qual(cls)} is defined inside a function; workers cannot import it"):
        return
    if not rep.check(
        name is not None,
        f"{qual(cls)} is not registered: implement @hookimpl {hook}(register) and register it, "
        f"so workers can resolve it by name",
    ):
        return
    modules = [p.package for p in registry.plugins if p.source == "module" and p.package]
    fresh = load_plugins(modules=modules).get(kind, name)  # type: ignore[arg-type]
    rep.check(
        qual(fresh) == qual(cls),
        f"a freshly built registry resolves '{name}' to {qual(fresh)}, not {qual(cls)}",
    )
    if fresh_process:
        module, qualname = _fresh_process_lookup(kind, name, modules)  # type: ignore[arg-type]
        rep.check(
            (module, qualname) == (cls.__module__, cls.__qualname__),
            f"a fresh process resolves '{name}' to {module}.{qualname}, not {qual(cls)}",
        )


def is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def finite(x: Any) -> bool:
    return is_real(x) and math.isfinite(float(x))


def default_tokenizer() -> Any:
    from rlinf_core.tiny import build_tokenizer

    return build_tokenizer(CONTRACT_CORPUS, vocab_size=320)
