"""The README's two commands stay true: CI runs the same install and test command."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    test_cmd = "python3 -m venv .venv && . .venv/bin/activate && bash scripts/install.sh && python -m pytest -q"
    assert test_cmd in readme
    for part in ("bash scripts/install.sh", "python -m pytest -q"):
        assert part in ci


def test_readme_main_command_runs_the_math_tiny_recipe():
    readme = (REPO / "README.md").read_text()
    assert "bash scripts/install.sh && rlinf run cookbook/math-tiny/grpo.yaml" in readme
    assert (REPO / "cookbook" / "math-tiny" / "grpo.yaml").exists()
