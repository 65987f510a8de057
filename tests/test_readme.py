"""The README stays true: CI runs its test command, its main command's recipe is a valid config,
every `rlinf ...` command it names exists, and every repository path it names is there."""

import glob
import re
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    test_cmd = "python3 -m venv .venv && . .venv/bin/activate && bash scripts/install.sh && python -m pytest -q"
    assert test_cmd in README
    for part in ("bash scripts/install.sh", "python -m pytest -q"):
        assert part in ci


def test_readme_main_command_runs_a_valid_recipe():
    from rlinf_core.config import load_config

    assert "bash scripts/install.sh && rlinf run cookbook/math-tiny/grpo.yaml" in README
    cfg = load_config(str(REPO / "cookbook" / "math-tiny" / "grpo.yaml"), [])  # the installed plugins accept it
    assert cfg.data.task == "math" and cfg.runner.max_steps > 0


def test_every_rlinf_command_the_readme_names_exists():
    from rlinf_core.cli import cli
    from rlinf_core.plugins import get_registry

    group = click.Group(commands=dict(cli.commands))
    get_registry().add_commands(group)
    named = set(re.findall(r"`rlinf ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", README))
    assert named
    for command, sub in named:
        assert command in group.commands, f"README names `rlinf {command}`, which does not exist"
        found = group.commands[command]
        if sub and isinstance(found, click.Group):
            assert sub in found.commands, f"README names `rlinf {command} {sub}`, which does not exist"


def test_every_repository_path_the_readme_names_exists():
    roots = "rlinf_core|rlinf_plugins|docs|cookbook|tests|benchmarks|scripts|templates"
    paths = set(re.findall(rf"`((?:{roots})/[^`\s]*)`", README))
    assert paths
    missing = [p for p in paths if not glob.glob(str(REPO / p.rstrip("/")))]
    assert not missing, f"README names paths that do not exist: {missing}"
