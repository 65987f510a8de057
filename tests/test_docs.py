"""Every hook is documented and exercised; every config field has help text."""

import dataclasses
import inspect
from pathlib import Path

from rlinf_core import hookspecs
from rlinf_core.config import schema
from rlinf_core.config.fields import iter_fields
from rlinf_core.plugins import HOOK_NAMES

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
TESTS = Path(__file__).resolve().parent
PLUGINS = TESTS.parent / "rlinf_plugins"


def test_every_hook_has_a_docstring_and_a_section_in_the_plugin_guide():
    guide = DOCS.read_text()
    for name in HOOK_NAMES:
        assert inspect.getdoc(getattr(hookspecs, name)), name
        assert f"### {name}" in guide, f"docs/plugins.md has no section for {name}"


def test_every_hook_is_implemented_by_a_test_plugin_or_a_shipped_plugin():
    files = [p for p in TESTS.rglob("*.py") if p.name != "test_docs.py"] + list(PLUGINS.rglob("plugin.py"))
    text = "".join(p.read_text() for p in files)
    for name in HOOK_NAMES:
        assert f"def {name}(" in text, f"no plugin implements {name}"


def test_every_config_field_has_help():
    for cls in [obj for _, obj in inspect.getmembers(schema, dataclasses.is_dataclass)]:
        for name, f in iter_fields(cls):
            assert f.metadata.get("help"), f"{cls.__name__}.{name} has no help text"
