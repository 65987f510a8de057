"""Checkpoints, exact resume and failure handling, through the real CLI with the tiny model."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlinf_core.testing.cli import run_cli, start_cli, wait_for_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    with open(path, "w") as fh:
        for i in range(24):
            a, b = 10 + i, 30 + i
            fh.write(json.dumps({"prompt": f"What is {a} + {b}?", "solutions": [f"\\boxed{{{a + b}}}"]}) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory, dataset, tiny_checkpoint):
    path = tmp_path_factory.mktemp("recipe") / "recipe.yaml"
    path.write_text(
        f"""
cluster:
  num_cpus_per_node: 2
  devices_per_rank: {{actor: 2, rollout: 2, reward: 2}}
runner:
  max_steps: 4
  save_interval: 2
  val_interval: 2
  seed: 3
data:
  train_data_paths: [{dataset}]
  val_data_paths: [{dataset}]
  rollout_batch_size: 4
rollout:
  model: {{model_path: {tiny_checkpoint}}}
  max_new_tokens: 8
actor:
  global_batch_size: 8
  micro_batch_size: 8
  optim: {{lr: 1.0e-3}}
algorithm:
  group_size: 4
tracking:
  backends: [mlflow, jsonl]
"""
    )
    return str(path)


def cli(*args, background=False, extra_env=None, **popen):
    if background:
        return start_cli(*args, extra_env=extra_env, **popen)
    return run_cli(*args, extra_env=extra_env)


def series(out, keys=("rollout/rewards", "train/policy_loss", "train/entropy_loss", "rollout/response_length",
                      "train/loss", "train/grad_norm", "val/train/avg@1")):
    rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    return {r["step"]: tuple(r.get(k) for k in keys) for r in rows}




# With max_staleness 1, step 2 is sampled while step 1 trains and step 4 while step 3 trains; the
# pipeline drains at each checkpoint, so a run continued from one equals the uninterrupted run.
STALE = "runner.max_staleness=1"


@pytest.fixture(scope="module")
def uninterrupted(recipe, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("runs") / "straight")
    proc = cli("run", recipe, f"runner.output_dir={out}", STALE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    Path(out + ".stdout").write_text(proc.stdout)
    Path(out + ".stderr").write_text(proc.stderr)
    return out


def test_checkpoints_are_complete_and_pruned(uninterrupted):
    from rlinf_core.checkpoint import verify

    root = Path(uninterrupted) / "checkpoints"
    assert sorted(p.name for p in root.iterdir()) == ["best", "step_000002", "step_000004"]
    for ckpt in root.iterdir():
        assert verify(str(ckpt)) == (True, "ok")
        assert (ckpt / "actor" / "model.safetensors").exists() and (ckpt / "actor" / "tokenizer_config.json").exists()
        assert (ckpt / "actor_state" / "rank0.pt").exists() and (ckpt / "driver_rng.pt").exists()
        state = json.loads((ckpt / "runner.json").read_text())
        assert state["tracker_run_id"]
        if ckpt.name != "best":
            assert state["data"]["index"] == int(ckpt.name[-1])
    best = json.loads((root / "best" / "best.json").read_text())
    validations = {s: v[-1] for s, v in series(uninterrupted).items() if v[-1] is not None}
    assert sorted(validations) == [0, 2, 4]
    assert best["value"] == max(validations.values()) and validations[best["step"]] == best["value"]
    stale = series(uninterrupted, keys=("rollout/staleness_max",))
    assert [stale[s][0] for s in (1, 2, 3, 4)] == [0.0, 1.0, 0.0, 1.0]


METRICS = [
    "rollout/rewards", "rollout/accuracy", "rollout/response_length", "rollout/response_length_max",
    "rollout/truncated_fraction", "train/entropy_loss", "train/policy_loss", "train/ratio", "train/ratio_max",
    "train/clip_fraction", "train/early_stopped_minibatches", "train/grad_norm", "train/lr", "time/rollout",
    "time/reward", "time/train", "time/sync", "time/step", "throughput/tokens_per_s",
]


def test_a_run_reports_to_mlflow_the_console_and_its_folder(uninterrupted):
    """What one `rlinf run` leaves: the MLflow run, the report printed at the end, metrics,
    curves and the timeline of every component's calls."""
    from mlflow.tracking import MlflowClient

    from rlinf_core.trackers.mlflow_tracker import default_tracking_uri

    stdout, stderr = Path(uninterrupted + ".stdout").read_text(), Path(uninterrupted + ".stderr").read_text()
    assert "step 2: reward" in stderr and "validation at step 2:" in stderr  # progress lines off a terminal
    client = MlflowClient(tracking_uri=default_tracking_uri(uninterrupted))
    run = client.search_runs([client.get_experiment_by_name("rlinf").experiment_id])[0]
    assert run.info.status == "FINISHED"
    for name in METRICS:
        assert [m.step for m in client.get_metric_history(run.info.run_id, name)] == [1, 2, 3, 4], name
    val = {}
    for name in ["val/train/avg_at_1", "val/train/pass_at_1"]:  # MLflow spells '@' as '_at_'
        history = client.get_metric_history(run.info.run_id, name)
        assert sorted(m.step for m in history) == [0, 2, 4], name  # step 0: before any update
        val[name] = {m.step: m.value for m in history}
    avg = val["val/train/avg_at_1"]
    best_step = max(sorted(avg), key=lambda s: (avg[s], -s))  # the first step reaching the maximum
    assert "final validation: val/train/avg@1" in stdout
    assert f"val/train/avg@1: start {avg[0]:.4f} (step 0) -> best {avg[best_step]:.4f} (step {best_step})" in stdout
    for name in ("mlflow ui", "metrics", "curves", "timeline", "best checkpoint", "final checkpoint"):
        assert f"\n{name} " in stdout, name
    assert os.path.getsize(os.path.join(uninterrupted, "curves.png")) > 10_000
    rows = [json.loads(line) for line in open(os.path.join(uninterrupted, "metrics.jsonl"))]
    assert [r["step"] for r in rows] == [0, 1, 2, 3, 4]
    spans = [json.loads(line) for line in open(os.path.join(uninterrupted, "timeline.jsonl"))]
    for step in (1, 2, 3, 4):  # pipelined, a step's sampling is timed in the step it overlaps
        assert ("actor", "train_on") in {(s["component"], s["what"]) for s in spans if s["step"] == step}
    for component, call in (("rollout", "generate_part"), ("reward", "score_part")):
        assert len([s for s in spans if (s["component"], s["what"]) == (component, call)]) >= 4, call
    assert all(s["start"] <= s["end"] for s in spans)
    for r in rows[1:]:
        for component in ("rollout", "reward", "actor"):
            assert 0.0 < r[f"timeline/busy_{component}"] <= 1.0, (component, r)
    assert os.path.getsize(os.path.join(uninterrupted, "timeline.png")) > 10_000


def test_sigkill_mid_run_then_resume_is_exact(recipe, uninterrupted, tmp_path, cpu_hog):
    """Same seed, same run, on a loaded machine, pipelined (staleness 1): the killed run's steps
    1-2 and the resumed steps 3-4 equal the uninterrupted run's (which ran without the load), bit
    for bit. Before resuming, the folder also holds a newer checkpoint with a corrupt file and a
    save that never finished: the resume skips both, naming why, and continues from step 2."""
    out = str(tmp_path / "killed")
    proc = cli("run", recipe, f"runner.output_dir={out}", STALE, background=True, start_new_session=True)
    wait_for_path(os.path.join(out, "checkpoints", "step_000002", "manifest.json"), proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray processes it started: a lost node
    proc.wait()
    root = Path(out) / "checkpoints"
    shutil.rmtree(root / "step_000004", ignore_errors=True)
    shutil.copytree(Path(uninterrupted) / "checkpoints" / "step_000004", root / "step_000004")
    with open(root / "step_000004" / "runner.json", "a") as fh:
        fh.write(" ")  # one byte more than the manifest says
    (root / "step_000005").mkdir()  # a save that never finished
    resumed = cli("run", recipe, f"runner.output_dir={out}", STALE)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "step_000005: no manifest" in resumed.stderr and "step_000004: file runner.json has" in resumed.stderr
    assert "resumed from" in resumed.stderr and "step_000002" in resumed.stderr
    straight, again = series(uninterrupted), series(out)
    assert sorted(again) == [0, 1, 2, 3, 4]  # step 0: the validation before any update
    assert again == straight  # bit-identical, before and after resuming
    run_ids = {json.loads((root / d / "runner.json").read_text())["tracker_run_id"] for d in ("step_000002", "step_000004")}
    assert len(run_ids) == 1  # the same MLflow run continued


def test_finished_run_is_not_redone(recipe, uninterrupted):
    again = cli("run", recipe, f"runner.output_dir={uninterrupted}", STALE)
    assert again.returncode == 0 and "already holds a finished run (step 4/4)" in again.stdout


def test_sigint_and_sigterm_both_ask_for_a_stop_and_a_second_sigint_aborts():
    """The one handler both signals reach (in this process; the CLI case below sends SIGTERM)."""
    import signal as sg

    from rlinf_core.flow.loop import StopFlag

    for sig in (sg.SIGINT, sg.SIGTERM):
        before = sg.getsignal(sig)
        with StopFlag() as flag:
            os.kill(os.getpid(), sig)
            assert flag.signal_name == sig.name
            if sig == sg.SIGINT:
                with pytest.raises(KeyboardInterrupt):
                    os.kill(os.getpid(), sig)
        assert sg.getsignal(sig) == before  # the previous handler is back


@pytest.mark.parametrize("sig", [signal.SIGTERM])
def test_signal_stops_at_a_safe_point_with_a_checkpoint(recipe, tmp_path, sig):
    out = str(tmp_path / "term")
    proc = cli("run", recipe, f"runner.output_dir={out}", "runner.max_steps=50", "runner.save_interval=0", background=True)
    wait_for_path(os.path.join(out, "metrics.jsonl"), proc)
    deadline = time.time() + 120
    while not series(out) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)  # the file can exist before its first step is written: signal after a real step
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr[-3000:]
    last_step = max(series(out))
    assert last_step < 50
    assert f"Stopped on {sig.name} at step {last_step}. Resume with the same command" in stdout
    from rlinf_core.checkpoint import latest_valid

    assert latest_valid(os.path.join(out, "checkpoints")).endswith(f"step_{last_step:06d}")


def write_module(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(body)
    return str(path)


def test_worker_death_stops_the_run_naming_component_and_rank(recipe, tmp_path):
    module = write_module(tmp_path, "dying_reward.py", """
import os
from rlinf_core import Reward, RewardResult, hookimpl

class DyingReward(Reward):
    calls = 0
    def score(self, responses, answers):
        DyingReward.calls += 1
        if DyingReward.calls == 2:
            os._exit(3)  # as an OOM kill would
        return RewardResult(scores=[0.0] * len(responses))

@hookimpl
def register_rewards(register):
    register("dying", DyingReward)
""")
    out = str(tmp_path / "dies")
    start = time.time()
    proc = cli("run", recipe, f"runner.output_dir={out}", "runner.save_interval=1", "reward.name=dying",
               "data.val_data_paths=[]", f"plugins.modules=[{module}]")  # this reward cannot grade validation
    assert time.time() - start < 120
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "worker group 'reward' rank 0 failed in score_part()" in proc.stderr and "died" in proc.stderr
    assert "Traceback (most recent call last)" not in proc.stderr.split("Error:")[-1][:200]
    from rlinf_core.checkpoint import verify

    root = Path(out) / "checkpoints"
    assert [p.name for p in root.iterdir()] == ["step_000001"]  # intact, nothing partial
    assert verify(str(root / "step_000001"))[0]


def test_non_finite_updates_are_skipped_then_stop_the_run(recipe, tmp_path):
    module = write_module(tmp_path, "nan_algo.py", """
import torch
from rlinf_core import Algorithm, LossOutput, hookimpl

class NaNLoss(Algorithm):
    def compute_advantages(self, batch):
        return torch.zeros(len(batch))
    def compute_loss(self, inputs):
        return LossOutput(loss=inputs.logprobs.sum() * float("nan"))

@hookimpl
def register_algorithms(register):
    register("nan-loss", NaNLoss)
""")
    out = str(tmp_path / "nan")
    proc = cli("run", recipe, f"runner.output_dir={out}", "algorithm.name=nan-loss", "runner.max_consecutive_bad_steps=2",
               f"plugins.modules=[{module}]")
    assert proc.returncode == 1
    assert "2 consecutive steps had no finite update" in proc.stderr
    rows = series(out, keys=("train/skipped_updates", "train/optimizer_steps"))
    assert rows == {0: (None, None), 1: (2.0, 0.0), 2: (2.0, 0.0)}  # step 0 validates; both minibatches skipped


def no_chat_template_checkpoint(tiny_checkpoint, tmp_path):
    path = tmp_path / "no-template"
    shutil.copytree(tiny_checkpoint, path)
    (path / "chat_template.jinja").unlink(missing_ok=True)
    cfg = json.loads((path / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (path / "tokenizer_config.json").write_text(json.dumps(cfg))
    return str(path)


@pytest.mark.parametrize(
    "case, expected",
    [
        ("invalid_config", "Invalid value for `runner.max_steps`: 0"),
        ("missing_model", "`rollout.model.model_path`='/nonexistent/model' is not a folder"),
        ("missing_data", "does not exist"),
        ("malformed_data", "line 2"),
        ("no_chat_template", "chat template"),
        ("unwritable_output", "is not writable"),
        ("too_many_cpus", "this machine (an embedded Ray gets all of it) has"),
        ("missing_plan_profile", "`runner.plan_profiles`: "),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(recipe, tiny_checkpoint, dataset, tmp_path, case, expected):
    out = tmp_path / "out"
    args = [f"runner.output_dir={out}"]
    if case == "invalid_config":
        args.append("runner.max_steps=0")
    elif case == "missing_model":
        args.append("rollout.model.model_path=/nonexistent/model")
    elif case == "missing_data":
        args.append(f"data.train_data_paths=[{tmp_path / 'nope.jsonl'}]")
    elif case == "malformed_data":
        bad = tmp_path / "bad.jsonl"
        bad.write_text(open(dataset).readline() + "{not json\n")
        args.append(f"data.train_data_paths=[{bad}]")
    elif case == "no_chat_template":
        args += [f"rollout.model.model_path={no_chat_template_checkpoint(tiny_checkpoint, tmp_path)}",
                 "data.apply_chat_template=true"]
        chat = tmp_path / "chat.jsonl"
        chat.write_text(json.dumps({"prompt": [{"role": "user", "content": "hi"}], "solutions": ["1"]}) + "\n")
        args.append(f"data.train_data_paths=[{chat}]")
    elif case == "unwritable_output":
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        out = blocker / "out"
        args = [f"runner.output_dir={out}"]
    elif case == "too_many_cpus":
        args.append(f"cluster.num_cpus_per_node={os.cpu_count() + 62}")
    elif case == "missing_plan_profile":
        args += ["cluster.component_placement=auto", f"runner.plan_profiles=[{tmp_path / 'nope'}]"]
    proc = cli("run", recipe, *args)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert expected in proc.stderr, proc.stderr[-3000:]
    assert proc.stderr.count("Error:") == 1 and "Traceback" not in proc.stderr
    assert not out.exists()


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))


@pytest.mark.parametrize(
    "command, override, field",
    [
        ("run", "data.train_data_paths=[data/my.jsonl]", "data.train_data_paths"),  # issue 14's report
        ("run", "data.val_data_paths=[data/held-out.jsonl]", "data.val_data_paths"),
        ("run", "rollout.model.model_path=models/sft", "rollout.model.model_path"),
        ("prepare", "data.train_data_paths=[data/my.jsonl]", "data.train_data_paths"),
        ("prepare", "rollout.model.model_path=models/sft", "rollout.model.model_path"),
        ("prepare", "runner.prepare=tiny-model rollout.model.model_path=models/tiny", "rollout.model.model_path"),
    ],
)
def test_a_missing_given_path_is_never_prepared_exits_2_and_writes_nothing(tmp_path, command, override, field):
    """Preparers write only under runner.cache_dir: a path the user gave that does not exist is an error."""
    work, cache = tmp_path / "work", tmp_path / "cache"
    work.mkdir()
    cache.mkdir()
    before = _tree(tmp_path)
    recipe = Path(__file__).resolve().parent.parent / "cookbook" / "math-tiny" / "grpo.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "rlinf_core.cli", command, str(recipe), *override.split()],
        cwd=work, env={**os.environ, "RLINF_CACHE": str(cache), "RAY_AUTH_MODE": "disabled"},
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    path = override.split()[-1].split("=", 1)[1].strip("[]")
    assert f"`{field}`={path!r} does not exist" in proc.stderr and "runner.cache_dir" in proc.stderr
    assert proc.stderr.count("Error:") == 1 and "Traceback" not in proc.stderr
    assert _tree(tmp_path) == before  # no output dir, no data, no cache files


DISAGGREGATED = ("cluster.component_placement='rollout,reward: 0, actor: 1'",
                 "cluster.devices_per_rank={actor: 1, rollout: 1, reward: 1}")

FAILING_COMPONENTS = {
    # A rollout rank killed with SIGKILL in the middle of its 2nd step.
    "rollout": ("killed_rollout.py", """
import os, signal, time
from rlinf_core import hookimpl
from rlinf_hf.rollout import HFRollout

class KilledRollout(HFRollout):
    calls = 0
    def generate(self, request):
        KilledRollout.calls += 1
        if KilledRollout.calls == int(os.environ.get("RLINF_TEST_FAIL_CALL", "2")):
            open(os.environ["RLINF_TEST_FAILED_AT"], "w").write(str(time.time()))
            os.kill(os.getpid(), signal.SIGKILL)
        return super().generate(request)

@hookimpl
def register_rollout_backends(register):
    register("killed", KilledRollout)
""", ("rollout.backend=killed",), "worker group 'rollout' rank 0 failed in generate_part(): the worker process died"),
}


# Streamed steps: 4 parts a step (one prompt group each); the 6th rollout call is step 2's second part.
STREAMED = ("runner.groups_per_part=1", "actor.global_batch_size=16")


# A reward that raises and a rank that dies reach the driver as the same WorkerError
# (tests/test_workers.py); end to end, CI's time goes to the harder case: a rollout rank killed
# in a streamed step, while the actor may be training the step's first part.
@pytest.mark.parametrize("component, streamed", [("rollout", True)])
def test_a_failure_in_disaggregated_mode_stops_within_30s_and_resumes(recipe, tmp_path, component, streamed):
    """Rollout and actor on their own cores: a rollout rank killed with SIGKILL between two parts
    of its 2nd step stops the run within 30 s naming component, rank and method, leaves only
    complete checkpoints, and the same command without the fault resumes from the last one."""
    name, body, args, message = FAILING_COMPONENTS[component]
    module = write_module(tmp_path, name, body)
    out = str(tmp_path / "run")
    failed_at = tmp_path / "failed_at"
    common = ("run", recipe, f"runner.output_dir={out}", "runner.save_interval=1", "data.val_data_paths=[]",
              *DISAGGREGATED, *(STREAMED if streamed else ()))
    env = {"RLINF_TEST_FAILED_AT": str(failed_at), "RLINF_TEST_FAIL_CALL": "6" if streamed else "2"}
    proc = cli(*common, *args, f"plugins.modules=[{module}]", extra_env=env)
    stopped = time.time()
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert message in proc.stderr, proc.stderr[-3000:]
    assert stopped - float(failed_at.read_text()) < 30
    root = Path(out) / "checkpoints"
    assert [p.name for p in root.iterdir()] == ["step_000001"]  # intact, nothing partial
    resumed = cli(*common)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed from {root / 'step_000001'} at step 1" in resumed.stderr
    assert sorted(series(out, keys=("rollout/rewards",))) == [1, 2, 3, 4]


def synthetic_profile(path):
    """A profile whose costs are made up: 2-thread ranks nearly free, 1-thread ranks cheap. It makes
    the collocated start the predicted best, off by far from what the run measures, so the re-plan
    runs; with the run's own (real) 2-thread costs averaged in, a 1-thread placement becomes the best."""
    from dataclasses import asdict

    from rlinf_core.plan.profile import ComponentProfile, Profile

    def comp(threads, per_unit, units, unit):
        return ComponentProfile(ranks=1, threads=threads, devices=list(range(threads)), unit=unit, per_unit_s=per_unit,
                                units_per_step=units, seconds_per_step=per_unit * units)

    profiles = []
    for threads, cost in ((2, 1e-9), (1, 1e-5)):
        profiles.append(asdict(Profile(
            cpu="made up", placement=f"{threads} threads", max_staleness=0, steps=3, step_s=0.0, sync_s=0.0,
            offload_s=0.0, driver_s=0.0, reward_tail_s=0.0, response_length_mean=8.0, response_length_max=8.0,
            components={"rollout": comp(threads, cost, 1000.0, "generated token"),
                        "reward": comp(threads, 1e-6, 16.0, "response"),
                        "actor": comp(threads, cost, 500.0, "trained token")})))
    paths = []
    for i, p in enumerate(profiles):
        paths.append(str(path / f"profile{i}.json"))
        Path(paths[-1]).write_text(json.dumps(p))
    return paths


def test_auto_placement_replans_and_continues_through_a_checkpoint(recipe, tmp_path):
    out = str(tmp_path / "auto")
    profiles = synthetic_profile(tmp_path)
    auto = ("cluster.component_placement=auto", f"runner.plan_profiles=[{','.join(profiles)}]", "runner.replan_after=2")
    proc = cli("run", recipe, f"runner.output_dir={out}", *auto)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "placement auto: collocated (the fastest of" in proc.stderr
    assert "placement auto at step 2: switching to" in proc.stdout + proc.stderr
    choice = json.load(open(os.path.join(out, "placement_auto.json")))
    assert choice["replanned"] and choice["label"] != "collocated"
    assert sorted(series(out)) == [0, 1, 2, 3, 4]  # every step once, across the switch
    assert os.path.isdir(os.path.join(out, "checkpoints", "step_000002"))  # the switch went through a checkpoint
    config = open(os.path.join(out, "config.yaml")).read()
    assert "auto" not in config.split("component_placement:")[1].splitlines()[0]  # the resolved start is recorded
    # Resumed, the run keeps the placement it switched to.
    more = cli("run", recipe, f"runner.output_dir={out}", *auto, "runner.max_steps=5")
    assert more.returncode == 0, more.stderr[-3000:]
    assert f"placement auto: {choice['label']} (as recorded in" in more.stderr
    assert sorted(series(out)) == [0, 1, 2, 3, 4, 5]
