"""The flow contract: a root schema a recipe can be validated against and that survives the trip
to a worker, edges that describe the graph, and the flow resolvable by name.

A flow's :meth:`~rlinf_core.Flow.run` is a whole run (workers, simulators, trackers); the
check does not start it. Run a short one through ``rlinf run`` in the plugin's own tests.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from rlinf_core.testing.contracts.common import PluginRef, Report, check_by_name, report_for, resolve

if TYPE_CHECKING:
    from rlinf_core.plugins import Registry


def _schema(rep: Report, cls: type, name: Optional[str]) -> Optional[type]:
    """The root schema: a dataclass with a documented ``flow`` field defaulting to the flow's name."""
    from rlinf_core.config.fields import iter_fields

    schema = getattr(cls, "config_class", None)
    if not rep.check(schema is not None and dataclasses.is_dataclass(schema),
                     f"config_class {schema!r} must be a dataclass: the recipe's root schema"):
        return None
    fields = {f.name: f for f in dataclasses.fields(schema)}
    flow = fields.get("flow")
    rep.check(flow is not None, "config_class has no `flow` field: recipes select the flow with it")
    if flow is not None and name is not None:
        rep.check(flow.default == name, f"config_class's `flow` defaults to {flow.default!r}, not the registered {name!r}")
    undocumented = [n for n, f in iter_fields(schema) if not f.metadata.get("help")]
    rep.check(not undocumented, f"config fields without help text: {', '.join(undocumented)}; declare them with "
              "rlinf_core.config.doc(default, 'help')")
    return schema


def _round_trip(rep: Report, schema: type, config: Optional[Mapping[str, Any]]) -> None:
    """The recipe validates as `rlinf run` validates it, and survives the dict sent to workers."""
    from omegaconf import OmegaConf

    from rlinf_core.config.loader import build_flow_config

    cfg = build_flow_config(OmegaConf.create(dict(config or {})), schema)
    typed = OmegaConf.to_object(cfg)
    container = OmegaConf.to_container(cfg, resolve=True)
    try:
        back = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), container))
    except Exception as exc:
        back = exc
    rep.check(back == typed, f"config {schema.__name__} does not survive the dict round trip to a worker ({back!r})")


def check_flow(
    flow: PluginRef,
    config: Optional[Mapping[str, Any]] = None,
    *,
    modules: Sequence[str] = (),
    registry: Optional["Registry"] = None,
    fresh_process: bool = True,
) -> None:
    """Check a flow (registered name or class); ``config`` is a recipe mapping (None: the defaults)."""
    name, cls, registry = resolve("flows", flow, modules, registry)
    rep = report_for("flows", name, cls)
    schema = _schema(rep, cls, name)
    rep.stop_if_any()
    _round_trip(rep, schema, config)
    edges = list(getattr(cls, "edges", []))
    rep.check(all(isinstance(e, tuple) and len(e) == 3 and all(isinstance(x, str) for x in e) for e in edges),
              f"edges {edges!r} must be (source, target, what) string triples")
    check_by_name(rep, "flows", name, cls, registry, fresh_process)
    rep.stop_if_any()
