"""The env and policy components through real Ray: one episode per environment with and without
pipeline stages gives the same trajectories; and a short run through the CLI."""

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from rlinf_core.cluster.ray_cluster import placement_for_cluster
from rlinf_core.config import load_config
from rlinf_core.config.loader import to_container
from rlinf_core.testing.cli import run_cli
from rlinf_embodied.collect import collect
from rlinf_embodied.flow import launch, shutdown

RECIPE = Path(__file__).resolve().parents[3] / "cookbook" / "embodied-fetch-reach" / "ppo.yaml"


def episode(stages: int, deterministic: bool = False):
    cfg = load_config(str(RECIPE), ["env.envs_per_worker=4", f"env.pipeline_stage_num={stages}", "env.horizon=6"])
    groups, pg = launch(to_container(cfg), placement_for_cluster(cfg.cluster))
    try:
        collect(OmegaConf.to_object(cfg), groups, iteration=3, deterministic=deterministic, record=False)
        return groups["policy"].execute("trajectories", ranks=[0])[0]
    finally:
        shutdown(groups, pg)


def test_pipelined_and_unpipelined_episodes_are_the_same(ray_cluster):
    one, two = episode(1), episode(2)
    assert one["obs"].shape == (6, 4, 16) and one["values"].shape == (7, 4)  # the bootstrap value last
    for field in ("obs", "actions", "logprobs", "rewards", "success"):
        assert (one[field] - two[field]).abs().max() < 1e-5, field
    assert not (one["actions"][:, 0] == one["actions"][:, 1]).all()  # each env its own start and noise


@pytest.mark.slow
def test_a_short_ppo_run_through_the_cli(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("run", str(RECIPE), "runner.max_steps=2", "runner.val_interval=1", "runner.val_episodes=4",
                   "env.envs_per_worker=4", "env.horizon=10", "env.pipeline_stage_num=2", "algorithm.epochs=2",
                   f"runner.output_dir={out}", "tracking.backends=[jsonl]", cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2]
    for r in rows[1:]:
        assert r["env/steps_per_s"] > 0 and r["critic/value_loss"] > 0 and "critic/explained_variance" in r
        assert 0 <= r["val/success_rate"] <= 1 and r["env/episode_length"] == 10
    assert (out / "gifs" / "eval_step00002.gif").stat().st_size > 0 and (out / "policy.pt").exists()
    assert "validation success" in proc.stdout and (out / "curves.png").exists()

    # The saved policy, evaluated alone on the same validation starts, scores what the run's last validation did.
    again = tmp_path / "eval"
    proc = run_cli("run", str(RECIPE), "runner.max_steps=0", f"policy.checkpoint={out / 'policy.pt'}",
                   "runner.val_episodes=4", "env.envs_per_worker=4", "env.horizon=10", "runner.gif=false",
                   f"runner.output_dir={again}", "tracking.backends=[jsonl]", cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    evaluated = [json.loads(line) for line in (again / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in evaluated] == [0] and "evaluation only" in proc.stdout
    assert not (again / "policy.pt").exists()  # nothing learned, nothing saved
    for key in ("val/success_rate", "val/episode_return"):
        assert evaluated[0][key] == pytest.approx(rows[-1][key], abs=1e-5), key

    # A policy whose spaces do not fit the environment (FetchPush: 25 state + 3 + 3 goal numbers, not 16).
    proc = run_cli("run", str(RECIPE), "env.id=FetchPushDense-v4", f"policy.checkpoint={out / 'policy.pt'}",
                   f"runner.output_dir={tmp_path / 'push'}", cwd=tmp_path, timeout=300)
    expected = "`policy.checkpoint`", "16 observations and 4 actions, but `env.id` gives 31"
    assert proc.returncode == 2 and all(e in proc.stderr for e in expected), proc.stderr[-2000:]
    assert not (tmp_path / "push").exists()


def test_bad_input_exits_2_naming_the_field(tmp_path):
    for override, field in (("env.id=FetchReachh-v4", "env.id"), ("env.pipeline_stage_num=99", "pipeline_stage_num"),
                            ("env.num_workers=2", "env.num_workers"), ("algorithm.name=a2c", "algorithm.name"),
                            ("policy.checkpoint=missing.pt", "policy.checkpoint")):
        proc = run_cli("run", str(RECIPE), override, f"runner.output_dir={tmp_path / 'out'}", cwd=tmp_path, timeout=300)
        assert proc.returncode == 2 and field in proc.stderr, (override, proc.stderr[-2000:])
        assert not (tmp_path / "out").exists()  # nothing written


def test_config_show_and_plugins_know_the_flow(tmp_path):
    shown = run_cli("config", "show", str(RECIPE), "env.pipeline_stage_num=4", cwd=tmp_path, timeout=300)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "pipeline_stage_num: 4" in shown.stdout and "# flow: embodied" in shown.stdout
    assert "policy -> env: actions" in shown.stdout and "env:" in shown.stdout.split("# placement")[1]
    listed = run_cli("plugins", cwd=tmp_path, timeout=300)
    assert listed.returncode == 0 and "embodied" in listed.stdout and "register_flows" in listed.stdout


def test_the_flow_keeps_the_contract():
    from rlinf_core.testing import check_flow

    check_flow("embodied", {"env": {"pipeline_stage_num": 2}, "algorithm": {"name": "grpo"}})
