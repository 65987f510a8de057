"""Load a recipe: YAML files plus ``key=value`` overrides into the typed config.

Pluggable sections take their schema from the plugin they name: ``algorithm.name: grpo``
makes the ``algorithm`` section a ``GRPOConfig``, so a plugin's own fields are typed,
documented and validated like the core's. Errors name the dotted field, the bad value and
what is allowed; an unknown key suggests the closest one.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Dict, Optional, Sequence

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf import errors as oc_errors

from rlinf_core.config.fields import check_constraints, iter_fields
from rlinf_core.config.schema import RlinfConfig
from rlinf_core.errors import ConfigError, PluginError, closest, did_you_mean


def read_recipe(path: str) -> DictConfig:
    """Parse one YAML recipe; a missing file or bad YAML names the file and line. An RLinf
    config is translated (:mod:`rlinf_core.config.rlinf_compat`)."""
    from rlinf_core.config.rlinf_compat import looks_like_rlinf, translate_or_raise

    data = read_yaml_mapping(path)
    if looks_like_rlinf(data):  # RLinf's own schema: taken through the same translation as `rlinf config import`
        data = translate_or_raise(data, path).recipe
    return OmegaConf.create(data)


def read_yaml_mapping(path: str) -> Dict[str, Any]:
    """A YAML file's top-level mapping; a missing file or bad YAML names the file and line."""
    if not os.path.isfile(path):
        raise ConfigError(f"Recipe file '{path}' does not exist.")
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"Recipe file '{path}' is not valid YAML{where}: {problem}.") from exc
    except OSError as exc:
        raise ConfigError(f"Recipe file '{path}' cannot be read: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"Recipe file '{path}' must hold a mapping of sections, not {type(data).__name__}.")
    return data


def parse_overrides(overrides: Sequence[str]) -> DictConfig:
    """``["runner.max_steps=5", "data.train_data_paths=[a.jsonl]"]`` as a config tree."""
    for item in overrides:
        key, sep, _ = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"Override '{item}' is not of the form key=value (e.g. runner.max_steps=10)."
            )
    try:
        return OmegaConf.from_dotlist(list(overrides))
    except Exception as exc:
        raise ConfigError(f"Cannot parse overrides {list(overrides)}: {exc}") from exc


def _section_classes(raw: DictConfig, registry: Any) -> Dict[str, type]:
    """The dataclass for each pluggable section, taken from the plugin it names."""
    from rlinf_core.kinds import PLUGGABLE_SECTIONS  # here: the kinds' interfaces import this package

    root_fields = {f.name: f for f in dataclasses.fields(RlinfConfig)}
    classes: Dict[str, type] = {}
    for section, (kind, selector) in PLUGGABLE_SECTIONS.items():
        base = type(root_fields[section].default_factory())  # type: ignore[misc]
        node = raw.get(section) if isinstance(raw, DictConfig) else None
        name = node.get(selector) if isinstance(node, DictConfig) else None
        if name is None:
            name = getattr(base(), selector)
        if not isinstance(name, str):
            raise ConfigError(f"Invalid value for `{section}.{selector}`: {name!r}. It must be a plugin name (string).")
        if registry is None:
            classes[section] = base
            continue
        cls = registry.get(kind, name, field_name=f"{section}.{selector}")
        config_cls = getattr(cls, "config_class", base)
        if not (isinstance(config_cls, type) and issubclass(config_cls, base)):
            raise PluginError(
                f"Plugin class {cls.__name__} ('{name}') declares config_class {config_cls!r}, which must "
                f"subclass {base.__name__} (the `{section}` section)."
            )
        classes[section] = config_cls
    return classes


def _explain(exc: Exception, schema: DictConfig) -> ConfigError:
    key = getattr(exc, "full_key", None) or getattr(exc, "key", None) or "?"
    if isinstance(exc, oc_errors.ConfigKeyError):
        parent, _, leaf = str(key).rpartition(".")
        try:
            node = OmegaConf.select(schema, parent) if parent else schema
        except Exception:
            node = None
        known = list(node.keys()) if isinstance(node, DictConfig) else []
        where = f"`{parent}`" if parent else "the top level"
        match = closest(leaf, [str(k) for k in known])
        hint = f" Did you mean `{parent + '.' if parent else ''}{match}`?" if match else ""
        return ConfigError(
            f"Unknown config field `{key}`.{hint} Fields of {where}: {', '.join(map(str, known))}."
        )
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    value = getattr(exc, "value", None)
    shown = f" {value!r}" if value is not None else ""
    return ConfigError(f"Invalid value for `{key}`:{shown}. {msg}.")


def build_config(raw: DictConfig, registry: Any = None) -> DictConfig:
    """Validate a raw config tree against the schema (plugin sections from ``registry``)."""
    root_names = [f.name for f in dataclasses.fields(RlinfConfig)]
    for key in raw.keys():
        if key not in root_names:
            raise ConfigError(
                f"Unknown config section `{key}`.{did_you_mean(str(key), root_names)} "
                f"Sections are: {', '.join(root_names)}."
            )
    schema = OmegaConf.structured(RlinfConfig)
    for section, cls in _section_classes(raw, registry).items():
        if cls is not OmegaConf.get_type(schema[section]):
            schema[section] = OmegaConf.structured(cls)
    return _merged(schema, raw)


def build_flow_config(raw: DictConfig, schema_cls: type) -> DictConfig:
    """Validate a recipe that names a plugin flow (``flow: <name>``) against the flow's own root
    schema (:attr:`rlinf_core.Flow.config_class`)."""
    return _merged(OmegaConf.structured(schema_cls), raw)


def _merged(schema: DictConfig, raw: DictConfig) -> DictConfig:
    """``raw`` over ``schema``, resolved and checked; any mismatch is a ConfigError naming the field."""
    try:
        cfg = OmegaConf.merge(schema, raw)
        OmegaConf.resolve(cfg)
    except (oc_errors.ConfigKeyError, oc_errors.ValidationError) as exc:
        raise _explain(exc, schema) from None
    except oc_errors.InterpolationResolutionError as exc:
        raise ConfigError(f"Config interpolation failed: {exc}") from None
    except oc_errors.OmegaConfBaseException as exc:
        raise _explain(exc, schema) from None
    check_constraints(cfg, "")
    return cfg


def load_config(
    recipe: Optional[str] = None, overrides: Sequence[str] = (), registry: Any = None, with_plugins: bool = True
) -> DictConfig:
    """Recipe file + overrides -> validated, interpolation-resolved config.

    With ``with_plugins`` (the default) the plugin registry is loaded (``plugins.modules``
    included) and each pluggable section takes its plugin's schema; a recipe with a top-level
    ``flow`` is validated against that flow's own schema instead.
    """
    raw = read_recipe(recipe) if recipe else OmegaConf.create({})
    raw = OmegaConf.merge(raw, parse_overrides(overrides))
    if with_plugins and registry is None:
        from rlinf_core.plugins import get_registry

        modules = OmegaConf.select(raw, "plugins.modules", default=None) or []
        if isinstance(modules, str):
            modules = [modules]
        base = os.path.dirname(os.path.abspath(recipe)) if recipe else os.getcwd()
        modules = [_resolve_module_path(str(m), base) for m in modules]
        OmegaConf.update(raw, "plugins.modules", modules, merge=False)
        registry = get_registry(modules)
    flow = OmegaConf.select(raw, "flow", default=None)
    if flow is not None and registry is not None:
        return build_flow_config(raw, registry.get("flows", str(flow), field_name="flow").config_class)
    return build_config(raw, registry)


def _resolve_module_path(spec: str, base: str) -> str:
    """A ``.py`` path relative to the recipe's folder becomes absolute (workers run elsewhere)."""
    if spec.endswith(".py") and not os.path.isabs(spec):
        candidate = os.path.join(base, spec)
        return candidate if os.path.exists(candidate) else os.path.abspath(spec)
    return spec


def to_container(cfg: DictConfig) -> Dict[str, Any]:
    """Plain dict (for sending to workers, logging params, writing YAML)."""
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def section(cfg: DictConfig, name: str) -> Any:
    """A section as its dataclass instance (e.g. the plugin's GRPOConfig)."""
    return OmegaConf.to_object(cfg[name])


def field_docs(registry: Any = None, cfg: Optional[DictConfig] = None) -> Dict[str, str]:
    """Dotted field name -> help text for every field of the (plugin-extended) schema."""
    from rlinf_core.kinds import PLUGGABLE_SECTIONS
    docs: Dict[str, str] = {}
    for name, f in iter_fields(RlinfConfig):
        docs[name] = f.metadata.get("help", "")
    if cfg is not None:
        for section_name in PLUGGABLE_SECTIONS:
            cls = OmegaConf.get_type(cfg[section_name])
            if cls is not None and dataclasses.is_dataclass(cls):
                for name, f in iter_fields(cls, prefix=f"{section_name}."):
                    docs[name] = f.metadata.get("help", "")
    return docs
