"""``rlinf new-task``: render ``templates/<kind>/`` into a pip-installable plugin package.

One name, e.g. ``countdown``, gives every other name (:func:`derive_names`): the package
``rlinf-countdown``, the module ``rlinf_countdown``, the entry point and registered plugin
name ``countdown`` and the class prefix ``Countdown``. Three kinds of package can be written:

- ``task``: a Task subclass with a small dataset bundled as package data, and an
  exact-match Reward (the task's ``default_reward``);
- ``reward``: a Reward (boxed exact match with a format bonus) trained with the ``math`` task;
- ``algorithm``: an Algorithm (REINFORCE with a leave-one-out/group-mean baseline).

Each comes with a recipe that trains it on a tiny local model (``runner.prepare:
tiny-model``), a README, tests that use :mod:`rlinf_core.testing` and a ``.gitignore``.

Follows cookiecutter-pytest-plugin and simonw's llm-plugin template: the template is a
folder of ordinary files with ``{{placeholder}}`` names in their text and paths, and it is
tested by rendering it, installing the result and running the rendered project's own
tests (``tests/test_new_task.py``). No template engine: only the placeholders of
:class:`TaskNames` are replaced, so YAML ``${...}`` and Python braces pass through untouched.

Rendering never overwrites: when any target file exists the error names it and nothing
is written.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from rlinf_core.errors import ConfigError

KINDS = ("task", "reward", "algorithm")

# The plugin kinds (registry names) each template registers under the task name.
REGISTERS: Dict[str, tuple] = {
    "task": ("tasks", "rewards"),
    "reward": ("rewards",),
    "algorithm": ("algorithms",),
}

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*$")
_PLACEHOLDER_RE = re.compile(r"\{\{(name|package|module|class_name|kind|core_version)\}\}")
# Template files whose rendered name differs (a real .gitignore would act on templates/ itself).
_RENAMES = {"gitignore": ".gitignore"}
_SKIP_DIRS = {"__pycache__", ".pytest_cache"}
_SKIP_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class TaskNames:
    """Every name derived from the one the user gives."""

    name: str  # registered plugin name and entry point name: "my-task"
    package: str  # distribution name: "rlinf-my-task"
    module: str  # import name: "rlinf_my_task"
    class_name: str  # class prefix: "MyTask"
    kind: str = "task"
    core_version: str = ""

    def placeholders(self) -> Dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


@dataclass
class Rendered:
    """What :func:`render` wrote."""

    names: TaskNames
    root: Path  # the package folder, <output_dir>/rlinf-NAME
    files: List[Path] = field(default_factory=list)  # relative to root, in writing order


def _suggest(raw: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", raw).strip("-").lower()
    slug = re.sub(r"^[^A-Za-z]+", "", slug)
    return slug


def derive_names(raw: str, kind: str = "task") -> TaskNames:
    """Validate ``raw`` and derive the package, module and class names from it.

    ``raw`` holds letters, digits and single hyphens and starts with a letter; it is
    lower-cased, and a leading ``rlinf-`` is dropped (``rlinf-countdown`` and ``countdown``
    give the same package). Raises :class:`ConfigError` (exit 2 in the CLI) otherwise.
    """
    from rlinf_core import __version__

    if kind not in KINDS:
        raise ConfigError(f"Unknown kind {kind!r} for `rlinf new-task --kind`. Kinds: {', '.join(KINDS)}.")
    text = raw.strip()
    if not _NAME_RE.match(text):
        suggestion = _suggest(text)
        hint = f" For example: `rlinf new-task {suggestion}`." if suggestion and _NAME_RE.match(suggestion) else ""
        raise ConfigError(
            f"Invalid name {raw!r}: a name holds letters, digits and single hyphens and starts with a letter "
            f"(no spaces, underscores or dots).{hint} It becomes the package rlinf-NAME, the module rlinf_NAME "
            f"and the plugin name NAME."
        )
    name = text.lower()
    if name.startswith("rlinf-"):
        name = name[len("rlinf-") :]
    if not name or name == "rlinf" or not name[0].isalpha():
        raise ConfigError(f"Invalid name {raw!r}: give the name of your {kind} itself, e.g. `rlinf new-task countdown`.")
    parts = name.split("-")
    return TaskNames(
        name=name,
        package=f"rlinf-{name}",
        module="rlinf_" + "_".join(parts),
        class_name="".join(p[:1].upper() + p[1:] for p in parts),
        kind=kind,
        core_version=__version__,
    )


def templates_dir() -> Path:
    """The folder holding one template folder per kind.

    ``RLINF_TEMPLATES_DIR`` overrides it; otherwise ``rlinf_core/templates`` (if packaged)
    or the source checkout's ``templates/`` next to ``rlinf_core/``.
    """
    env = os.environ.get("RLINF_TEMPLATES_DIR")
    here = Path(__file__).resolve().parent
    candidates = [Path(env)] if env else [here / "templates", here.parent / "templates"]
    for path in candidates:
        if all((path / kind).is_dir() for kind in KINDS):
            return path
    raise ConfigError(
        f"The rlinf templates were not found (looked in {', '.join(str(c) for c in candidates)}). Install rlinf-core "
        f"from a source checkout (`pip install -e .`), or point RLINF_TEMPLATES_DIR at its templates/ folder."
    )


def _template_files(folder: Path) -> List[Path]:
    out: List[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        for fname in sorted(filenames):
            if not fname.endswith(_SKIP_SUFFIXES):
                out.append(Path(dirpath, fname).relative_to(folder))
    return out


def substitute(text: str, names: TaskNames) -> str:
    """Replace the ``{{placeholder}}`` fields of :class:`TaskNames`; other braces are left alone."""
    values = names.placeholders()
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], text)


def _target(rel: Path, names: TaskNames) -> Path:
    parts = [_RENAMES.get(p, p) for p in (substitute(part, names) for part in rel.parts)]
    return Path(*parts)


def check_name_is_free(names: TaskNames, registry: Optional[object] = None) -> None:
    """Refuse a name an installed plugin already registers, or an installed package's name.

    Installing the rendered package would then break every run (two plugins registering
    one name) or replace the installed package.
    """
    import importlib.metadata as md

    try:
        installed = md.version(names.package)
    except md.PackageNotFoundError:
        installed = None
    if installed is not None:
        raise ConfigError(
            f"A package named {names.package} ({installed}) is already installed; installing the new one would "
            f"replace it. Choose another name for `rlinf new-task`, or `pip uninstall {names.package}` first."
        )
    if registry is None:
        from rlinf_core.errors import PluginError
        from rlinf_core.plugins import get_registry

        try:
            registry = get_registry()
        except PluginError:
            return  # a broken plugin is reported by `rlinf plugins`; it does not block rendering
    for kind in REGISTERS[names.kind]:
        if names.name not in registry.names(kind):  # type: ignore[attr-defined]
            continue
        entry = registry.entry(kind, names.name)  # type: ignore[attr-defined]
        owner = next((p for p in registry.plugins if p.name == entry.plugin), None)  # type: ignore[attr-defined]
        where = f"plugin '{entry.plugin}'" + (f" (package {owner.package})" if owner and owner.package else "")
        raise ConfigError(
            f"The {kind[:-1]} name '{names.name}' is already registered by {where}; two plugins cannot register "
            f"the same name. Choose another name for `rlinf new-task`."
        )


def render(
    name: str, kind: str = "task", output_dir: "str | os.PathLike[str]" = ".", check_registry: bool = True
) -> Rendered:
    """Write ``<output_dir>/rlinf-NAME/`` from ``templates/<kind>/``; never overwrite a file.

    Every target is checked before anything is written: an existing file raises
    :class:`ConfigError` naming it, and the disk is left as it was.
    """
    names = derive_names(name, kind)
    if check_registry:
        check_name_is_free(names)
    source = templates_dir() / kind
    root = Path(output_dir).expanduser().resolve() / names.package
    plan = [(rel, _target(rel, names)) for rel in _template_files(source)]
    existing = [dst for _, dst in plan if (root / dst).exists() or (root / dst).is_symlink()]
    if existing:
        shown = ", ".join(str(root / p) for p in existing[:3]) + (f" and {len(existing) - 3} more" if len(existing) > 3 else "")
        raise ConfigError(
            f"Not writing {names.package}: {len(existing)} file(s) already exist ({shown}). rlinf new-task never "
            f"overwrites; choose another --output-dir or name, or remove them."
        )
    if root.exists() and not root.is_dir():
        raise ConfigError(f"Not writing {names.package}: {root} exists and is not a folder.")
    result = Rendered(names=names, root=root)
    created_dirs: List[Path] = []
    try:
        for rel, dst in plan:
            target = root / dst
            for parent in reversed(target.parents):
                if not parent.exists():
                    parent.mkdir()
                    created_dirs.append(parent)
            raw = (source / rel).read_bytes()
            try:
                data = substitute(raw.decode("utf-8"), names).encode("utf-8")
            except UnicodeDecodeError:
                data = raw  # binary files are copied as they are
            with open(target, "xb") as fh:  # "x": fail rather than overwrite, even in a race
                fh.write(data)
            os.chmod(target, (source / rel).stat().st_mode & 0o777)
            result.files.append(dst)
    except BaseException:
        for dst in result.files:
            (root / dst).unlink(missing_ok=True)
        for folder in reversed(created_dirs):
            try:
                folder.rmdir()
            except OSError:
                pass
        raise
    return result


def next_steps(rendered: Rendered, cwd: Optional[Path] = None) -> str:
    """What to type next, printed by the CLI."""
    n = rendered.names
    try:
        shown = os.path.relpath(rendered.root, cwd or Path.cwd())
    except ValueError:
        shown = str(rendered.root)
    registers = " and ".join(f"{k[:-1].replace('_', ' ')} '{n.name}'" for k in REGISTERS[n.kind])
    lines = [f"Created {n.package} ({n.kind}: registers {registers}) in {shown}/:"]
    lines += [f"  {p}" for p in rendered.files]
    lines += [
        "",
        "Next:",
        f"  cd {shown}",
        "  pip install -e .                  # the entry point makes `rlinf plugins` list it",
        "  python -m pytest -q               # its own tests, including the rlinf contract suite",
        "  rlinf run recipe.yaml runner.max_steps=2",
    ]
    return "\n".join(lines)
