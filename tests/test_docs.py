"""Every hook is documented (exact signature, a working example) and tested; every config
field has help text. After datasette's tests that fail when a hook is undocumented or untested."""

import ast
import dataclasses
import inspect
import re
from pathlib import Path

import click
import pytest

from rlinf_core import hookspecs
from rlinf_core.config import schema
from rlinf_core.config.fields import iter_fields
from rlinf_core.kinds import KINDS_BY_NAME
from rlinf_core.plugins import HOOK_NAMES, KIND_HOOKS, load_plugins

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
TESTS = Path(__file__).resolve().parent
PLUGINS = TESTS.parent / "rlinf_plugins"
ENV_SWITCHES = ("RLINF_PLUGINS", "RLINF_DISABLE_PLUGINS", "RLINF_PLUGIN_MODULES")


def hook_sections() -> dict:
    """``### register_x`` heading -> the text up to the next heading."""
    text = DOCS.read_text()
    parts = re.split(r"^(#{2,3} .+)$", text, flags=re.M)
    return {head[4:].strip(): body for head, body in zip(parts[1::2], parts[2::2]) if head.startswith("### ")}


def declared_signature(name: str) -> str:
    """``register_x(register: Register) -> None``: from the kind's row, or as written in hookspecs.py."""
    kind = next((k for k in KINDS_BY_NAME.values() if k.hook == name), None)
    if kind is not None:
        return kind.signature
    tree = ast.parse(inspect.getsource(getattr(hookspecs, name)))
    fn = tree.body[0]
    args = ", ".join(f"{a.arg}: {ast.unparse(a.annotation)}" for a in fn.args.args)
    return f"{name}({args}) -> {ast.unparse(fn.returns)}"


def example_of(section: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the section has no ```python example"
    return blocks[0]


def test_every_hook_has_a_docstring_and_a_section_in_the_plugin_guide():
    sections = hook_sections()
    for name in HOOK_NAMES:
        assert inspect.getdoc(getattr(hookspecs, name)), name
        assert name in sections, f"docs/plugins.md has no section for {name}"


def test_every_hook_section_gives_the_exact_signature():
    sections = hook_sections()
    for name in HOOK_NAMES:
        signature = declared_signature(name)
        assert f"`{signature}`" in sections[name], f"docs/plugins.md: {name} should show `{signature}`"


def test_every_hook_section_names_each_method_of_its_interface():
    sections = hook_sections()
    for kind, hook in KIND_HOOKS.items():
        interface = KINDS_BY_NAME[kind].interface
        for method in sorted(getattr(interface, "__abstractmethods__", ())):
            assert f"`{method}" in sections[hook], f"docs/plugins.md: {hook} does not mention `{method}`"


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    """Every hook's example loaded as a plugin module, all together (so names must not clash)."""
    folder = tmp_path_factory.mktemp("doc-examples")
    sections = hook_sections()
    paths = {}
    for name in HOOK_NAMES:
        path = folder / f"doc_example_{name}.py"
        path.write_text(example_of(sections[name]))
        paths[name] = str(path)
    registry = load_plugins(modules=list(paths.values()), env={})
    return registry, paths


def test_every_hook_example_is_a_working_plugin(examples):
    registry, paths = examples
    infos = {info.package: info for info in registry.plugins if info.source == "module"}
    for name, path in paths.items():
        info = infos[path]
        assert info.hooks == [name], f"the {name} example implements {info.hooks}"
        kind = name[len("register_") :]
        if kind in KIND_HOOKS:
            assert info.registered.get(kind), f"the {name} example registers nothing"
    group = click.Group()
    registry.add_commands(group)
    assert "count-rows" in group.commands


def test_the_reward_task_and_algorithm_examples_keep_the_contract(examples, tmp_path):
    from rlinf_core.testing import check_algorithm, check_reward, check_task

    registry, _ = examples
    check_reward("length-penalty", registry=registry, fresh_process=False)
    check_algorithm("sign-reinforce", registry=registry, fresh_process=False)
    data = tmp_path / "qa.jsonl"
    data.write_text("".join(f'{{"question": "What is {i} + 1?", "answer": "{i + 1}"}}\n' for i in range(5)))
    check_task("qa-example", paths=[data], registry=registry, fresh_process=False)


def test_the_env_switches_and_discovery_are_documented():
    guide = DOCS.read_text()
    for var in ENV_SWITCHES:
        assert f"`{var}" in guide, var
    for topic in ("## Where plugins come from", "[project.entry-points.rlinf]", "plugins.modules", "rlinf new-task"):
        assert topic in guide, topic


def test_every_hook_is_implemented_by_a_test_plugin_or_a_shipped_plugin():
    files = [p for p in TESTS.rglob("*.py") if p.name != "test_docs.py"] + list(PLUGINS.rglob("plugin.py"))
    text = "".join(p.read_text() for p in files)
    for name in HOOK_NAMES:
        assert f"def {name}(" in text, f"no plugin implements {name}"


def test_every_hook_has_a_test():
    """A test named test_hook_<name> exercises each hook through a real registry (datasette's rule)."""
    names = set()
    for path in TESTS.rglob("test_*.py"):
        names |= set(re.findall(r"^def (test_hook_\w+)\(", path.read_text(), flags=re.M))
    for hook in HOOK_NAMES:
        assert f"test_hook_{hook}" in names, f"no test_hook_{hook} in tests/"


def test_every_config_field_has_help():
    for cls in [obj for _, obj in inspect.getmembers(schema, dataclasses.is_dataclass)]:
        for name, f in iter_fields(cls):
            assert f.metadata.get("help"), f"{cls.__name__}.{name} has no help text"


def test_every_kind_is_declared_once_and_completely():
    """A row of rlinf_core.kinds.KINDS is the whole declaration: hook, docs section, section, contract check."""
    import rlinf_core.testing as testing
    from rlinf_core.config.schema import RlinfConfig
    from rlinf_core.kinds import KINDS

    sections = hook_sections()
    for kind in KINDS:
        assert getattr(hookspecs, kind.hook).__doc__ == kind.summary
        assert kind.hook in sections, f"docs/plugins.md has no section for {kind.hook} ({kind.docs})"
        if kind.section is None:
            continue
        section_cls = type(getattr(RlinfConfig(), kind.section))
        assert kind.interface.config_class is section_cls, f"{kind.name}: the interface configures `{kind.section}`"
        assert kind.selector in {f.name for f in dataclasses.fields(section_cls)}, kind
        assert callable(getattr(testing, kind.contract)), f"rlinf_core.testing has no {kind.contract}"
