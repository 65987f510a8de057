"""The contract suite of rlinf_core.testing: the built-in plugins pass it, broken plugins fail
it with a message naming the broken promise, and every hook is exercised through a real
registry (`test_hook_<name>`, which tests/test_docs.py requires for every hook)."""

from __future__ import annotations

import json
import random
import textwrap
from dataclasses import dataclass

import pytest
import torch
from click.testing import CliRunner

from rlinf_core import Algorithm, Example, LossOutput, Reward, RewardResult, Task, TrainBackend
from rlinf_core.config import RewardConfig
from rlinf_core.plugins import load_plugins
from rlinf_core.testing import (
    ContractViolation,
    check_algorithm,
    check_reward,
    check_rollout_backend,
    check_task,
    check_train_backend,
)


@pytest.fixture(scope="module")
def math_rows(tmp_path_factory):
    """A small AReaL-boba file: chat-message prompts and boxed solutions."""
    path = tmp_path_factory.mktemp("contract-data") / "train.jsonl"
    with open(path, "w") as fh:
        for i in range(10):
            fh.write(json.dumps({"prompt": [{"role": "user", "content": f"What is {i} + {i}?"}], "query_id": f"q{i}",
                                 "solutions": [f"\\boxed{{{2 * i}}}"]}) + "\n")
    return str(path)


# -- every hook, through a real registry, with the built-in plugins -----------------------
def test_hook_register_rewards(plugin_site):
    result = check_reward("math")  # in a fresh process too: resolvable by name, as in a worker
    assert result.scores[0] == 5.0 and result.components["correct"][0] == 1.0
    check_reward("math", config={"correct_score": 1.0, "incorrect_score": 0.0, "num_workers": 1}, fresh_process=False)
    check_reward("exact", fresh_process=False)  # rlinf-testplugin, installed by pip


def test_hook_register_tasks(math_rows, tiny_checkpoint):
    from rlinf_core.models import load_tokenizer

    examples = check_task("math", paths=[math_rows], config={"apply_chat_template": True})
    assert len(examples) == 10 and examples[0].answers == ["\\boxed{0}"]
    tok = load_tokenizer(tiny_checkpoint)
    check_task("math", paths=[math_rows], config={"apply_chat_template": True}, tokenizer=tok, batch_size=3, fresh_process=False)


def test_hook_register_algorithms(plugin_site):
    check_algorithm("grpo")
    check_algorithm("grpo", config={"kl_beta": 0.1, "loss_agg": "seq-mean", "dual_clip": 3.0, "group_size": 4}, fresh_process=False)
    check_algorithm("sft", fresh_process=False)  # rlinf-math-tiny's warm start
    check_algorithm("mean-baseline", fresh_process=False)  # rlinf-testplugin


def test_hook_register_rollout_backends(tiny_checkpoint):
    batch = check_rollout_backend("hf", model_path=tiny_checkpoint)
    assert len(batch) == 4
    check_rollout_backend("hf", fresh_process=False)  # interface only, no model


def test_hook_register_train_backends(tiny_checkpoint, tmp_path):
    metrics = check_train_backend("torch", model_path=tiny_checkpoint, workdir=str(tmp_path))
    assert metrics["train/optimizer_steps"] == 1.0


def test_hook_register_trackers(tmp_path):
    plugin = tmp_path / "my_tracker.py"
    plugin.write_text(textwrap.dedent("""
        from rlinf_core import Tracker, hookimpl

        class Nowhere(Tracker):
            def start(self, run_name, params, config_yaml, resume=None):
                pass

            def log_metrics(self, metrics, step):
                pass

            def finish(self, status="FINISHED"):
                pass

        @hookimpl
        def register_trackers(register):
            register("nowhere", Nowhere)
    """))
    registry = load_plugins(modules=[str(plugin)], env={})
    builtin = {p.name: p for p in registry.plugins}["rlinf_core.trackers.builtin"]
    assert builtin.hooks == ["register_trackers"] and builtin.source == "builtin"
    assert {"mlflow", "tensorboard", "jsonl", "console", "nowhere"} <= set(registry.names("trackers"))
    assert registry.entry("trackers", "nowhere").plugin.startswith("rlinf_user_plugin_my_tracker")


def test_hook_register_preparers():
    registry = load_plugins(env={})
    core = {p.name: p for p in registry.plugins}["rlinf_core.builtin_preparers"]
    assert (core.source, core.package, core.registered) == ("builtin", "rlinf-core", {"preparers": ["tiny-model"]})
    assert registry.entry("preparers", "math-tiny").plugin == "math-tiny"
    # What tiny-model builds is checked in tests/test_new_task.py.


def test_hook_register_flows(tmp_path):
    """A recipe's top-level `flow` picks a plugin's flow: `rlinf run` validates it against the
    flow's own schema (exit 2 naming a bad field or flow) and runs it."""
    from rlinf_core.testing.cli import run_cli

    plugin = tmp_path / "my_flow.py"
    plugin.write_text(textwrap.dedent("""
        import json
        import os
        from dataclasses import dataclass

        from rlinf_core import Flow, hookimpl
        from rlinf_core.config import doc
        from rlinf_core.config.schema import PluginsConfig

        @dataclass
        class CountConfig:
            flow: str = doc("count", "The flow.")
            steps: int = doc(3, "How far to count.", ge=1)
            out: str = doc("", "Where to write the numbers.")
            plugins: PluginsConfig = doc(PluginsConfig(), "Extra plugin modules.")

        class Count(Flow):
            config_class = CountConfig
            edges = [("counter", "file", "numbers")]

            def run(self):
                with open(self.config.out, "w") as fh:
                    json.dump(list(range(self.config.steps)), fh)
                return {"output_dir": os.path.dirname(self.config.out)}

        @hookimpl
        def register_flows(register):
            register("count", Count)
    """))
    out = tmp_path / "numbers.json"
    recipe = tmp_path / "count.yaml"
    recipe.write_text(f"flow: count\nplugins:\n  modules: [{plugin}]\nout: {out}\n")
    assert run_cli("run", recipe, "steps=4", cwd=tmp_path).returncode == 0
    assert json.loads(out.read_text()) == [0, 1, 2, 3]
    shown = run_cli("config", "show", recipe, cwd=tmp_path)
    assert shown.returncode == 0 and "# flow: count" in shown.stdout and "counter -> file: numbers" in shown.stdout
    for override, message in (("stepz=4", "`stepz`"), ("steps=0", "`steps`"), ("flow=nope", "nope")):
        bad = run_cli("run", recipe, override, cwd=tmp_path)
        assert bad.returncode == 2 and message in bad.stderr, (override, bad.stderr[-1500:])


def test_the_flow_contract_names_what_a_flow_breaks():
    from rlinf_core import Flow
    from rlinf_core.testing import ContractViolation, check_flow

    @dataclass
    class NoFlowField:
        steps: int = 3  # no `flow` field, no help text

    class Broken(Flow):
        config_class = NoFlowField
        edges = [("a", "b")]

        def run(self):
            return {}

    with pytest.raises(ContractViolation) as err:
        check_flow(Broken, fresh_process=False)
    assert "no `flow` field" in str(err.value) and "steps" in str(err.value)


def test_hook_register_commands(tmp_path):
    from rlinf_core.cli import cli

    plugin = tmp_path / "my_command.py"
    plugin.write_text(textwrap.dedent("""
        import click
        from rlinf_core import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command(name="zz-greet")
            @click.argument("who")
            def greet(who):
                click.echo(f"hello {who}")
    """))
    registry = load_plugins(modules=[str(plugin)], env={})
    registry.add_commands(cli)
    try:
        out = CliRunner().invoke(cli, ["zz-greet", "ann"])
        assert out.exit_code == 0 and out.output == "hello ann\n"
    finally:
        cli.commands.pop("zz-greet", None)


# -- broken plugins fail with a message naming the promise ---------------------------------
def violation(check, *args, **kwargs) -> str:
    with pytest.raises(ContractViolation) as err:
        check(*args, fresh_process=False, **kwargs)
    return str(err.value)


class NaNReward(Reward):
    def score(self, responses, answers):
        return RewardResult(scores=[float("nan")] * len(responses))


class ShortReward(Reward):
    def score(self, responses, answers):
        return RewardResult(scores=[0.0] * (len(responses) - 1))


class RandomReward(Reward):
    def score(self, responses, answers):
        return RewardResult(scores=[random.random() for _ in responses])


class BatchMeanReward(Reward):
    def score(self, responses, answers):
        return RewardResult(scores=[float(len(responses))] * len(responses))


class NegativeCountReward(Reward):
    def score(self, responses, answers):
        return RewardResult(scores=[0.0] * len(responses), metrics={"reward/x": -1.0})


@dataclass
class UndocumentedConfig(RewardConfig):
    weight: float = 1.0


class UndocumentedReward(Reward):
    config_class = UndocumentedConfig

    def score(self, responses, answers):
        return RewardResult(scores=[self.config.weight] * len(responses))


@pytest.mark.parametrize(
    "cls, message",
    [
        (NaNReward, "are not finite numbers"),
        (ShortReward, "returned 11 scores for 12 responses"),
        (RandomReward, "must be deterministic"),
        (BatchMeanReward, "depend on the batch"),
        (NegativeCountReward, "must be a non-negative count"),
        (UndocumentedReward, "config fields without help text: weight"),
    ],
)
def test_broken_rewards_are_caught(cls, message):
    assert message in violation(check_reward, cls)


def test_an_unregistered_or_local_class_cannot_be_resolved_by_name():
    class Local(Reward):
        def score(self, responses, answers):
            return RewardResult(scores=[0.0] * len(responses))

    assert "is defined inside a function" in violation(check_reward, Local)

    class_text = violation(check_algorithm, SeqMeanOfMicroBatch)
    assert "is not registered: implement @hookimpl register_algorithms" in class_text


class SeqMeanOfMicroBatch(Algorithm):
    """Normalises by the micro-batch's own token count: gradient accumulation would be wrong."""

    def compute_advantages(self, batch):
        return batch.rewards - batch.rewards.mean()

    def compute_loss(self, inputs):
        return LossOutput(loss=-(inputs.advantages * inputs.logprobs).mean())


class OnePerGroup(Algorithm):
    def compute_advantages(self, batch):
        return torch.zeros(int(batch.group_ids.max()) + 1)

    def compute_loss(self, inputs):
        return LossOutput(loss=-(inputs.advantages * inputs.logprobs).sum() / inputs.num_tokens)


def test_broken_algorithms_are_caught():
    assert "do not add up to the minibatch loss" in violation(check_algorithm, SeqMeanOfMicroBatch)
    assert "one per trajectory" in violation(check_algorithm, OnePerGroup)


class SloppyTask(Task):
    """Ids outside the vocabulary, a FileNotFoundError for missing files, a partial last batch."""

    def load(self, paths):
        with open(paths[0]) as fh:
            rows = [json.loads(line) for line in fh]
        return [Example(uid=str(i), prompt_ids=[10**6], answers=[r["a"]]) for i, r in enumerate(rows)]

    def batches(self, examples, batch_size, seed, epoch):
        for start in range(0, len(examples), batch_size):
            yield examples[start : start + batch_size]


def test_broken_tasks_are_caught(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"a": str(i)}) + "\n" for i in range(5)))
    text = violation(check_task, SloppyTask, paths=[path], batch_size=2)
    assert "prompt_ids are not a non-empty list of token ids in [0, " in text


def test_broken_task_batches_and_missing_files_are_caught(tmp_path):
    class Fixed(SloppyTask):
        def load(self, paths):
            return [Example(uid=str(i), prompt_ids=[5], answers=["x"]) for i in range(5)] if "rows" in paths[0] else open(paths[0])

    text = violation(check_task, Fixed, paths=[str(tmp_path / "rows.jsonl")], batch_size=2)
    assert "expected len(examples) // batch_size = 2" in text
    assert "raised FileNotFoundError" in text and "raise rlinf_core.ConfigError naming the file" in text


class HalfBackend(TrainBackend):
    def load(self, setup):
        pass


def test_an_incomplete_backend_is_caught():
    text = violation(check_train_backend, HalfBackend)
    assert "abstract methods left unimplemented: compute_logprobs" in text


def test_a_train_backend_that_cannot_resume_exactly_is_caught(tiny_checkpoint, tmp_path):
    torch_backend = load_plugins(env={}).get("train_backends", "torch")

    class ForgetsItsOptimizer(torch_backend):
        def load_state(self, path):
            pass

    text = violation(check_train_backend, ForgetsItsOptimizer, model_path=tiny_checkpoint, workdir=str(tmp_path))
    assert "drifts from the original after one more step" in text


def test_pytest_fixtures_for_plugin_authors(tmp_path):
    """rlinf_core.testing.fixtures, loaded the way a plugin project's conftest.py loads it."""
    import subprocess
    import sys

    (tmp_path / "conftest.py").write_text('pytest_plugins = ["rlinf_core.testing.fixtures"]\n')
    (tmp_path / "test_uses_fixtures.py").write_text(textwrap.dedent("""
        import os

        from rlinf_core.models import load_tokenizer


        def test_fixtures(tiny_tokenizer, tiny_checkpoint, rlinf_registry, rlinf_cache):
            assert tiny_tokenizer.chat_template and tiny_tokenizer.eos_token == "<|im_end|>"
            assert len(load_tokenizer(tiny_checkpoint)) == len(tiny_tokenizer)
            assert os.path.exists(os.path.join(tiny_checkpoint, "config.json"))
            assert "grpo" in rlinf_registry.names("algorithms")
            assert os.environ["RLINF_CACHE"] == str(rlinf_cache) and rlinf_cache.is_dir()
    """))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
