"""`rlinf new-task`, the `tiny-model` preparer and custom rewards without a package.

The slow test follows cookiecutter-pytest-plugin and simonw's llm-plugin template: the
template is tested by rendering it. Each kind is rendered, pip-installed (editable) into a
throw-away venv, and then exactly what a plugin author does next is checked: the rendered
project's own tests pass, `rlinf plugins` lists it, and `rlinf run` trains its recipe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rlinf_core.cli import cli
from rlinf_core.errors import ConfigError
from rlinf_core.scaffold import KINDS, REGISTERS, check_name_is_free, derive_names, render, templates_dir

REPO = Path(__file__).resolve().parent.parent


def rlinf(*args: str, cwd=None, python: str = sys.executable, env_extra=None, timeout: int = 300):
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", **(env_extra or {})}
    return subprocess.run(
        [python, "-m", "rlinf_core.cli", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout
    )


# -- names -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, name, package, module, class_name",
    [
        ("countdown", "countdown", "rlinf-countdown", "rlinf_countdown", "Countdown"),
        ("My-Task2", "my-task2", "rlinf-my-task2", "rlinf_my_task2", "MyTask2"),
        ("rlinf-sudoku", "sudoku", "rlinf-sudoku", "rlinf_sudoku", "Sudoku"),
    ],
)
def test_names_are_derived_from_one(raw, name, package, module, class_name):
    names = derive_names(raw)
    assert (names.name, names.package, names.module, names.class_name) == (name, package, module, class_name)


@pytest.mark.parametrize("raw", ["My Task", "my_task", "2048", "-x", "a--b", "x-", "é", "", "rlinf", "a.b"])
def test_invalid_names_are_refused_with_the_rule(raw):
    with pytest.raises(ConfigError, match="letters, digits and single hyphens and starts with a letter|give the name"):
        derive_names(raw)


def test_cli_refuses_a_bad_name_with_exit_2_and_a_suggestion(tmp_path):
    out = rlinf("new-task", "My Task", "--output-dir", str(tmp_path))
    assert out.returncode == 2
    assert "Invalid name 'My Task'" in out.stderr and "rlinf new-task my-task" in out.stderr
    assert "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == []


# -- rendering -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_render_fills_every_template_file(kind, tmp_path):
    result = render("zz-demo", kind, tmp_path, check_registry=False)
    root = tmp_path / "rlinf-zz-demo"
    assert result.root == root
    written = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert written == sorted(map(str, result.files))
    source_count = sum(1 for p in (templates_dir() / kind).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert len(written) == source_count
    for must in ("pyproject.toml", "README.md", "recipe.yaml", ".gitignore", "conftest.py",
                 "tests/test_rlinf_zz_demo.py", "rlinf_zz_demo/plugin.py", "rlinf_zz_demo/__init__.py"):
        assert must in written, must
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "{{" not in text or path.suffix == ".jsonl", f"unfilled placeholder in {path}"
            if path.suffix == ".py":
                compile(text, str(path), "exec")
            if path.suffix == ".yaml":
                yaml.safe_load(text)
    assert yaml.safe_load((root / "recipe.yaml").read_text())["runner"]["prepare"] == "tiny-model"
    readme = (root / "README.md").read_text()
    for section in ("## Install", "## Use", "## Config", "## Metrics"):
        assert section in readme
    if kind == "task":
        assert (root / "rlinf_zz_demo" / "data" / "train.jsonl").exists()
    else:
        assert (root / "data" / "train.jsonl").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_rendered_pyproject_declares_the_package_and_its_entry_point(kind, tmp_path):
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    render("zz-demo", kind, tmp_path, check_registry=False)
    project = tomllib.loads((tmp_path / "rlinf-zz-demo" / "pyproject.toml").read_text())
    assert project["project"]["name"] == "rlinf-zz-demo"
    assert project["project"]["dependencies"][0].startswith("rlinf-core>=")
    assert project["project"]["entry-points"]["rlinf"] == {"zz-demo": "rlinf_zz_demo.plugin"}
    if kind == "task":  # the dataset ships inside the package
        assert project["tool"]["setuptools"]["package-data"] == {"rlinf_zz_demo": ["data/*.jsonl"]}


def test_every_pyproject_gives_its_license_as_an_spdx_string(tmp_path):
    """A `license = {text = ...}` table makes setuptools>=77 warn on every install; a string
    needs setuptools>=77 to build, so whoever uses one must require it."""
    tomllib = pytest.importorskip("tomllib")
    for kind in KINDS:
        render("zz-demo", kind, tmp_path / kind, check_registry=False)
    files = [REPO / "pyproject.toml", *(REPO / "rlinf_plugins").glob("*/pyproject.toml"), *tmp_path.glob("*/*/pyproject.toml")]
    assert len(files) >= 1 + 5 + len(KINDS)
    for path in files:
        data = tomllib.loads(path.read_text())
        license = data["project"].get("license")
        if license is None:
            continue
        assert isinstance(license, str), f"{path}: `project.license` should be an SPDX string, e.g. \"Apache-2.0\""
        assert "setuptools>=77" in data["build-system"]["requires"], f"{path}: an SPDX license needs setuptools>=77"
    assert '"setuptools>=77"' in (REPO / "scripts" / "install.sh").read_text()


def test_never_overwrites_and_writes_nothing_when_a_file_exists(tmp_path):
    render("zz-demo", "task", tmp_path, check_registry=False)
    recipe = tmp_path / "rlinf-zz-demo" / "recipe.yaml"
    recipe.write_text("# mine\n")
    with pytest.raises(ConfigError, match=r"already exist.*recipe.yaml|recipe.yaml.*already exist|never overwrites"):
        render("zz-demo", "reward", tmp_path, check_registry=False)
    assert recipe.read_text() == "# mine\n"

    other = tmp_path / "other" / "rlinf-zz-demo"
    other.mkdir(parents=True)
    (other / "README.md").write_text("mine")
    runner = CliRunner()
    out = runner.invoke(cli, ["new-task", "zz-demo", "--output-dir", str(tmp_path / "other")])
    assert out.exit_code == 2
    assert str(other / "README.md") in out.output and "never overwrites" in out.output
    assert sorted(p.name for p in other.iterdir()) == ["README.md"]  # nothing else written
    assert (other / "README.md").read_text() == "mine"


def test_cli_renders_and_prints_the_next_steps(tmp_path):
    out = CliRunner().invoke(cli, ["new-task", "zz-cli", "--kind", "algorithm", "-o", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "registers algorithm 'zz-cli'" in out.output
    assert "pip install -e ." in out.output and "rlinf run recipe.yaml" in out.output
    assert (tmp_path / "rlinf-zz-cli" / "rlinf_zz_cli" / "algorithm.py").exists()
    bad = CliRunner().invoke(cli, ["new-task", "zz-cli", "--kind", "tracker", "-o", str(tmp_path)])
    assert bad.exit_code == 2


def test_a_name_an_installed_plugin_registers_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="rlinf-math .* is already installed"):
        render("math", "task", tmp_path)
    plugin = tmp_path / "taken.py"
    plugin.write_text(textwrap.dedent("""
        from rlinf_core import Reward, RewardResult, hookimpl

        class Taken(Reward):
            def score(self, responses, answers):
                return RewardResult(scores=[0.0] * len(responses))

        @hookimpl
        def register_rewards(register):
            register("zz-taken", Taken)
    """))
    from rlinf_core.plugins import load_plugins

    registry = load_plugins(modules=[str(plugin)], env={})
    with pytest.raises(ConfigError, match="reward name 'zz-taken' is already registered by plugin"):
        check_name_is_free(derive_names("zz-taken", "reward"), registry)
    check_name_is_free(derive_names("zz-taken", "algorithm"), registry)  # another kind: no clash
    assert REGISTERS["task"] == ("tasks", "rewards")


# -- the tiny-model preparer -----------------------------------------------------------------
def _arithmetic_rows(path: Path, n: int = 12) -> None:
    with open(path, "w") as fh:
        for i in range(n):
            fh.write(json.dumps({"prompt": [{"role": "user", "content": f"What is {i} + 3?"}],
                                 "solutions": [f"\\boxed{{{i + 3}}}"]}) + "\n")


def test_tiny_model_preparer_builds_a_checkpoint_from_the_recipe_data(tmp_path):
    from transformers import AutoModelForCausalLM

    from rlinf_core.config import load_config
    from rlinf_core.models import load_tokenizer
    from rlinf_core.runner import prepare_assets

    data = tmp_path / "train.jsonl"
    _arithmetic_rows(data)
    model = tmp_path / "cache" / "tiny"
    overrides = [
        "runner.prepare=tiny-model", f"data.train_data_paths=[{data}]", "data.apply_chat_template=true",
        f"rollout.model.model_path={model}", "data.max_prompt_length=600", f"runner.cache_dir={tmp_path / 'cache'}",
    ]
    cfg = load_config(None, overrides)
    assert prepare_assets(cfg) is True
    marker = json.loads((model / "prepared.json").read_text())
    assert marker["preparer"] == "tiny-model" and marker["corpus_texts"] == 24  # 12 prompts + 12 answers
    assert marker["spec"]["max_positions"] >= 600 + cfg.rollout.max_new_tokens
    tok = load_tokenizer(str(model))
    prompt = tok.apply_chat_template([{"role": "user", "content": "What is 4 + 3?"}], add_generation_prompt=True, tokenize=False)
    assert len(tok(prompt, add_special_tokens=False)["input_ids"]) < len(prompt.encode()) // 2  # merges from the data
    assert AutoModelForCausalLM.from_pretrained(str(model)).config.model_type == "qwen2"
    assert prepare_assets(cfg) is False  # idempotent
    assert not (tmp_path / "cache" / "tiny.preparing").exists()


def test_tiny_model_preparer_never_touches_an_existing_folder(tmp_path):
    from rlinf_core.config import load_config
    from rlinf_core.runner import prepare_assets

    data = tmp_path / "train.jsonl"
    _arithmetic_rows(data)
    real = tmp_path / "real-model"
    real.mkdir()
    (real / "config.json").write_text("{}")
    cache = tmp_path / "cache"
    base = ["runner.prepare=tiny-model", f"data.train_data_paths=[{data}]", f"runner.cache_dir={cache}"]
    assert prepare_assets(load_config(None, base + [f"rollout.model.model_path={real}"])) is False  # a checkpoint
    for junk in (cache / "junk", tmp_path / "junk"):
        junk.mkdir(parents=True)
        (junk / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="exists and is not empty"):
        prepare_assets(load_config(None, base + [f"rollout.model.model_path={cache / 'junk'}"]))
    # Outside runner.cache_dir a folder is the user's: used as it is (the run then says it is no model).
    assert prepare_assets(load_config(None, base + [f"rollout.model.model_path={tmp_path / 'junk'}"])) is False
    for junk in (cache / "junk", tmp_path / "junk"):
        assert sorted(p.name for p in junk.iterdir()) == ["notes.txt"]
    with pytest.raises(ConfigError, match="`rollout.model.model_path`, which is empty"):
        prepare_assets(load_config(None, base))


def test_tiny_model_preparer_builds_only_under_the_cache(tmp_path):
    from rlinf_core.config import load_config
    from rlinf_core.runner import prepare_assets

    data = tmp_path / "train.jsonl"
    _arithmetic_rows(data)
    overrides = ["runner.prepare=tiny-model", f"data.train_data_paths=[{data}]", f"runner.cache_dir={tmp_path / 'cache'}",
                 f"rollout.model.model_path={tmp_path / 'models' / 'tiny'}"]
    with pytest.raises(ConfigError, match=r"`rollout.model.model_path`='.*models/tiny' does not exist.*runner.cache_dir"):
        prepare_assets(load_config(None, overrides))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.jsonl"]


# -- custom rewards without a package --------------------------------------------------------
USER_REWARD = '''
"""A reward in a plain file of the user's project, loaded through plugins.modules."""
import os
from dataclasses import dataclass

from rlinf_core import Reward, RewardResult, hookimpl
from rlinf_core.config import RewardConfig, doc


@dataclass
class ShortConfig(RewardConfig):
    limit: int = doc(5, "Responses up to this many characters score 1.", ge=0)


class ShortReward(Reward):
    config_class = ShortConfig

    def score(self, responses, answers):
        return RewardResult(
            scores=[1.0 if len(r) <= self.config.limit else 0.0 for r in responses],
            metrics={"reward/pid": float(os.getpid())},
        )


@hookimpl
def register_rewards(register):
    register("zz-short", ShortReward)
'''


def test_user_module_reward_is_resolved_by_name_inside_ray_workers(ray_cluster, tmp_path):
    from rlinf_core import WorkerGroup
    from rlinf_core.config import load_config, to_container
    from rlinf_core.flow.components import RewardWorker
    from rlinf_core.testing import check_reward

    project = tmp_path / "project"
    project.mkdir()
    (project / "my_reward.py").write_text(USER_REWARD)
    recipe = project / "recipe.yaml"
    recipe.write_text("plugins:\n  modules: [my_reward.py]\nreward:\n  name: zz-short\n  limit: 3\n")
    cfg = load_config(str(recipe))
    assert cfg.plugins.modules == [str(project / "my_reward.py")]  # relative to the recipe, made absolute
    group = WorkerGroup.launch(RewardWorker, "reward", args=(to_container(cfg),), num_ranks=1, num_cpus_per_rank=0.5)
    try:
        result = group.execute("score", ["abc", "abcd"], [["x"], ["y"]])[0]
    finally:
        group.shutdown()
    assert result.scores == [1.0, 0.0]  # limit 3 from the recipe reached the worker's config
    assert result.metrics["reward/pid"] != float(os.getpid())  # scored in the worker process
    check_reward("zz-short", modules=cfg.plugins.modules)  # and it keeps the contract, by name, in a fresh process


# -- rendered, installed, tested, listed, trained ---------------------------------------------
@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Each kind rendered and pip-installed (editable) into one throw-away venv.

    The venv sees this environment's packages through a .pth that adds its site-packages
    (``--system-site-packages`` would expose the base interpreter's, not this venv's).
    """
    base = tmp_path_factory.mktemp("new-task")
    roots = {kind: render(f"zz-{kind}", kind, base, check_registry=False).root for kind in KINDS}
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    venv_site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    here_site = sysconfig.get_paths()["purelib"]
    Path(venv_site, "_rlinf_parent_env.pth").write_text(f"import site; site.addsitedir({here_site!r})\n")
    editable = [arg for root in roots.values() for arg in ("-e", str(root))]
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", *editable],
        check=True, capture_output=True, text=True,
    )
    return {"python": python, "roots": roots, "base": base}


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_rendered_package_passes_its_own_tests(installed, kind):
    proc = subprocess.run(
        [installed["python"], "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=installed["roots"][kind], capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


@pytest.mark.slow
def test_rlinf_plugins_lists_the_rendered_packages(installed):
    out = rlinf("plugins", "--json", python=installed["python"])
    assert out.returncode == 0, out.stderr
    rows = {row["name"]: row for row in json.loads(out.stdout)}
    for kind in KINDS:
        row = rows[f"zz-{kind}"]
        assert (row["package"], row["version"], row["source"]) == (f"rlinf-zz-{kind}", "0.1.0", "entry point")
        assert row["registered"] == {k: [f"zz-{kind}"] for k in REGISTERS[kind]}


@pytest.mark.slow
def test_rendered_task_recipe_trains_with_rlinf_run(installed, tmp_path):
    recipe = installed["roots"]["task"] / "recipe.yaml"
    out_dir = tmp_path / "run"
    proc = rlinf(
        "run", str(recipe), "runner.max_steps=2", f"runner.output_dir={out_dir}", "tracking.backends=[jsonl]",
        cwd=tmp_path,  # not the package folder: the bundled data is found from anywhere
        python=installed["python"], env_extra={"RLINF_CACHE": str(tmp_path / "cache")}, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "[tiny-model] building a random Qwen2" in proc.stderr
    assert "step 2:" in proc.stderr
    rows = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    assert all("rollout/rewards" in r and "rollout/accuracy" in r and "reward/empty_responses" in r for r in rows)
    assert list((out_dir / "checkpoints" / "step_000002").rglob("config.json"))  # the final Hugging Face checkpoint
    assert (tmp_path / "cache" / "tiny-models" / "rlinf-zz-task" / "prepared.json").exists()
