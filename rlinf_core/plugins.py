"""Plugin discovery and the registry of named components.

Plugins come from three places, in this order:
1. the core's built-ins (its trackers and the `tiny-model` preparer), registered through the
   same hooks as any plugin;
2. installed packages with an entry point in group ``rlinf`` (filtered by the env vars
   ``RLINF_PLUGINS=a,b``, which loads only those, and ``RLINF_DISABLE_PLUGINS=x``);
3. user plugin modules: config ``plugins.modules`` and env ``RLINF_PLUGIN_MODULES``
   (comma-separated), each a ``.py`` file path or an importable module name.

The registry maps (kind, name) to a class, or to a ``"module:Class"`` reference imported on
first use: a plugin whose classes pull in torch or an engine registers references, so that
commands which never touch them (``rlinf --help``, ``rlinf cluster``) and workers which use
other plugins do not pay for the imports. Every process builds its own registry (the driver
and each Ray worker), so plugin classes are resolved by name where they run and are never
pickled across Ray. Errors name the plugins at fault and how to fix them.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import pluggy

from rlinf_core import hookspecs
from rlinf_core.errors import PluginError, UnknownPluginError, closest, did_you_mean
from rlinf_core.kinds import KINDS, KINDS_BY_NAME

ENTRY_POINT_GROUP = "rlinf"
BUILTIN_MODULES = ("rlinf_core.trackers.builtin", "rlinf_core.builtin_preparers")

# kind -> hook name
KIND_HOOKS: Dict[str, str] = {kind.name: kind.hook for kind in KINDS}
HOOK_NAMES = tuple(sorted([*KIND_HOOKS.values(), "register_commands"]))


@dataclass
class PluginInfo:
    """One loaded plugin: where it came from and what it registered."""

    name: str
    source: str  # "builtin", "entry point", "module"
    version: Optional[str] = None
    package: Optional[str] = None
    hooks: List[str] = field(default_factory=list)
    registered: Dict[str, List[str]] = field(default_factory=dict)


@dataclass
class Entry:
    name: str
    obj: Optional[type]  # None until a reference is imported
    plugin: str
    ref: Optional[str] = None  # "module:Class", for a class registered by reference


class Registry:
    """Registered classes by kind and name, and the plugins that provided them."""

    def __init__(self, pm: pluggy.PluginManager, plugins: List[PluginInfo]):
        self.pm = pm
        self.plugins = plugins
        self._entries: Dict[str, Dict[str, Entry]] = {kind: {} for kind in KIND_HOOKS}

    def add(self, kind: str, name: str, obj: Any, plugin: PluginInfo) -> None:
        spec = KINDS_BY_NAME[kind]
        if not isinstance(name, str) or not name:
            raise PluginError(f"Plugin '{plugin.name}' registered a {spec.label} with an invalid name {name!r}.")
        ref = obj if isinstance(obj, str) else None
        if ref is not None and not re.fullmatch(r"[\w.]+:[\w.]+", ref):
            raise PluginError(
                f"Plugin '{plugin.name}' registered {spec.label} '{name}' as {ref!r}: a reference is "
                f"'module:Class' (e.g. 'my_plugin.reward:MyReward'), or register the class itself."
            )
        if ref is None:
            self._check_class(spec, name, obj, plugin.name)
        existing = self._entries[kind].get(name)
        if existing is not None:
            raise PluginError(
                f"Two plugins register the {spec.label} '{name}': '{existing.plugin}' and "
                f"'{plugin.name}'. Uninstall one, or skip one with RLINF_DISABLE_PLUGINS={plugin.name}."
            )
        self._entries[kind][name] = Entry(name, None if ref else obj, plugin.name, ref)
        plugin.registered.setdefault(kind, []).append(name)

    @staticmethod
    def _check_class(spec: Any, name: str, obj: Any, plugin: str) -> None:
        interface = spec.interface
        if not (inspect.isclass(obj) and issubclass(obj, interface)):
            raise PluginError(
                f"Plugin '{plugin}' registered {spec.label} '{name}' as {obj!r}, which is not a "
                f"subclass of {interface.__module__}.{interface.__name__}. Register the class itself (see {spec.docs})."
            )

    def _load(self, kind: str, entry: Entry) -> type:
        """Import a class registered by reference, checked as a registered class is."""
        module_name, _, attr = str(entry.ref).partition(":")
        spec = KINDS_BY_NAME[kind]
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except Exception as exc:
            raise PluginError(
                f"Plugin '{entry.plugin}' registered {spec.label} '{entry.name}' as '{entry.ref}', which cannot be "
                f"imported: {type(exc).__name__}: {exc}. Reinstall the plugin, or skip it with "
                f"RLINF_DISABLE_PLUGINS={entry.plugin}."
            ) from exc
        self._check_class(spec, entry.name, obj, entry.plugin)
        return obj

    def names(self, kind: str) -> List[str]:
        return sorted(self._entries[kind])

    def get(self, kind: str, name: str, field_name: Optional[str] = None) -> type:
        """The class registered as ``name``; an unknown name lists what is available."""
        if kind not in self._entries:
            raise KeyError(f"unknown plugin kind {kind!r}; kinds are {sorted(self._entries)}")
        entry = self._entries[kind].get(name)
        if entry is None:
            available = self.names(kind)
            where = f" (config field `{field_name}`)" if field_name else ""
            listing = ", ".join(available) if available else "none installed"
            raise UnknownPluginError(
                f"Unknown {KINDS_BY_NAME[kind].label} '{name}'{where}. Available: {listing}."
                f"{did_you_mean(name, available)} Install the plugin package that provides it, "
                f"or list yours with `rlinf plugins`."
            )
        if entry.obj is None:
            entry.obj = self._load(kind, entry)
        return entry.obj

    def entry(self, kind: str, name: str) -> Entry:
        self.get(kind, name)
        return self._entries[kind][name]

    def add_commands(self, cli: Any) -> None:
        """Let every plugin add its CLI commands to the click group ``cli``."""
        self.pm.hook.register_commands(cli=cli)


def _split_env(value: Optional[str]) -> List[str]:
    return [p.strip() for p in (value or "").replace(os.pathsep, ",").split(",") if p.strip()]


def _check_module_hooks(module: Any, plugin_name: str) -> None:
    """Catch hook functions pluggy would silently ignore: misspelled or not decorated."""
    for attr, value in vars(module).items():
        if not (attr.startswith("register") and callable(value)):
            continue
        if getattr(value, "__module__", None) != getattr(module, "__name__", None):
            continue  # imported names such as `Register` or a helper from elsewhere
        if attr not in HOOK_NAMES:
            if inspect.isclass(value):
                continue
            suggestion = closest(attr, HOOK_NAMES)
            hint = f" Did you mean '{suggestion}'?" if suggestion else f" Hooks are: {', '.join(HOOK_NAMES)}."
            raise PluginError(f"Plugin '{plugin_name}' defines '{attr}', which is not an rlinf hook.{hint}")
        if not hasattr(value, "rlinf_impl"):
            raise PluginError(
                f"Plugin '{plugin_name}' defines '{attr}' without the @hookimpl decorator, so it would "
                f"never be called. Decorate it: `from rlinf_core import hookimpl`."
            )


def _import_module_or_file(spec: str) -> Any:
    if spec.endswith(".py") or os.sep in spec or "/" in spec:
        path = os.path.abspath(os.path.expanduser(spec))
        if not os.path.isfile(path):
            raise PluginError(
                f"Plugin module file '{spec}' (from plugins.modules or RLINF_PLUGIN_MODULES) does not exist."
            )
        mod_name = "rlinf_user_plugin_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
        if mod_name in sys.modules and getattr(sys.modules[mod_name], "__file__", None) == path:
            return sys.modules[mod_name]
        file_spec = importlib.util.spec_from_file_location(mod_name, path)
        assert file_spec is not None and file_spec.loader is not None
        module = importlib.util.module_from_spec(file_spec)
        sys.modules[mod_name] = module
        try:
            file_spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[mod_name]
            raise PluginError(f"Plugin module '{path}' failed to import: {type(exc).__name__}: {exc}") from exc
        return module
    try:
        return importlib.import_module(spec)
    except Exception as exc:
        raise PluginError(
            f"Plugin module '{spec}' (from plugins.modules or RLINF_PLUGIN_MODULES) failed to import: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _installed_entry_points() -> List[importlib.metadata.EntryPoint]:
    eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    seen: Dict[str, importlib.metadata.EntryPoint] = {}
    for ep in eps:
        seen.setdefault(ep.name, ep)  # the same dist can appear twice on sys.path
    return sorted(seen.values(), key=lambda ep: ep.name)


def _select_entry_points(
    eps: List[importlib.metadata.EntryPoint], only: List[str], disabled: List[str]
) -> List[importlib.metadata.EntryPoint]:
    def names(ep: importlib.metadata.EntryPoint) -> Tuple[str, ...]:
        dist = ep.dist.name if ep.dist is not None else ""
        return (ep.name, dist)

    known = {n for ep in eps for n in names(ep) if n}
    for wanted, var in [(only, "RLINF_PLUGINS"), (disabled, "RLINF_DISABLE_PLUGINS")]:
        for name in wanted:
            if name not in known:
                raise PluginError(
                    f"{var} names '{name}', which is not an installed rlinf plugin. Installed: "
                    f"{', '.join(sorted(known)) or 'none'}.{did_you_mean(name, known)}"
                )
    selected = [ep for ep in eps if not only or set(names(ep)) & set(only)]
    return [ep for ep in selected if not set(names(ep)) & set(disabled)]


def _register(pm: pluggy.PluginManager, module: Any, info: PluginInfo) -> None:
    _check_module_hooks(module, info.name)
    if pm.is_registered(module):
        return
    try:
        pm.register(module, name=info.name)
    except ValueError as exc:  # same name registered twice
        raise PluginError(f"Plugin name '{info.name}' is used twice: {exc}") from exc
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"Plugin '{info.name}' has an invalid hook implementation: {exc}") from exc
    info.hooks = sorted(impl.name for impl in pm.get_hookcallers(module) or [])


def load_plugins(modules: Sequence[str] = (), env: Optional[Dict[str, str]] = None) -> Registry:
    """Discover plugins and build a fresh registry (see the module docstring for the order)."""
    env = dict(os.environ) if env is None else env
    pm = pluggy.PluginManager("rlinf")
    pm.add_hookspecs(hookspecs)
    infos: List[PluginInfo] = []

    for mod_name in BUILTIN_MODULES:
        info = PluginInfo(name=mod_name, source="builtin", version=_core_version(), package="rlinf-core")
        _register(pm, importlib.import_module(mod_name), info)
        infos.append(info)

    only = _split_env(env.get("RLINF_PLUGINS"))
    disabled = _split_env(env.get("RLINF_DISABLE_PLUGINS"))
    for ep in _select_entry_points(_installed_entry_points(), only, disabled):
        dist = ep.dist
        info = PluginInfo(
            name=ep.name,
            source="entry point",
            version=dist.version if dist is not None else None,
            package=dist.name if dist is not None else None,
        )
        try:
            module = ep.load()
        except Exception as exc:
            raise PluginError(
                f"Plugin '{ep.name}' (package {info.package}) failed to import {ep.value}: "
                f"{type(exc).__name__}: {exc}. Reinstall it, or skip it with RLINF_DISABLE_PLUGINS={ep.name}."
            ) from exc
        _register(pm, module, info)
        infos.append(info)

    for spec in list(modules) + _split_env(env.get("RLINF_PLUGIN_MODULES")):
        module = _import_module_or_file(spec)
        info = PluginInfo(name=getattr(module, "__name__", spec), source="module", package=spec)
        if pm.is_registered(module):
            continue
        _register(pm, module, info)
        infos.append(info)

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"{exc}. Hooks are: {', '.join(HOOK_NAMES)}.") from exc

    registry = Registry(pm, infos)
    by_name = {info.name: info for info in infos}
    for kind, hook_name in KIND_HOOKS.items():
        caller = getattr(pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            info = by_name[impl.plugin_name]

            def register(name: str, obj: Any, _kind: str = kind, _info: PluginInfo = info) -> None:
                registry.add(_kind, name, obj, _info)

            impl.function(**{arg: register for arg in impl.argnames})
    return registry


def _core_version() -> str:
    from rlinf_core import __version__

    return __version__


_CACHE: Dict[Tuple[Any, ...], Registry] = {}


def get_registry(modules: Iterable[str] = ()) -> Registry:
    """The registry for this process, built once per (modules, plugin env vars)."""
    key = (
        tuple(modules),
        os.environ.get("RLINF_PLUGINS", ""),
        os.environ.get("RLINF_DISABLE_PLUGINS", ""),
        os.environ.get("RLINF_PLUGIN_MODULES", ""),
    )
    if key not in _CACHE:
        _CACHE[key] = load_plugins(modules=key[0])
    return _CACHE[key]
