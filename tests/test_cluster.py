"""`rlinf cluster`: launcher variables, and a run over two real Ray nodes on 127.0.0.1 that loses
one mid-run, stops with an error naming it, and resumes once a node is back."""

import json
import os
import re
import signal
import socket
import time

import pytest

from rlinf_core.cluster.nodes import NodeRole, first_slurm_host, launcher_role, ray_start_args
from rlinf_core.errors import ConfigError
from rlinf_core.testing.cli import run_cli, start_cli, wait_for_path


def test_first_slurm_host():
    assert first_slurm_host("gpu[07-09,12],cpu1") == "gpu07"
    assert first_slurm_host("node3,node4") == "node3"
    assert first_slurm_host("a[001-004]") == "a001"


def test_launcher_variables_pick_the_role_and_the_head():
    assert launcher_role({"RANK": "0"}, 6379) == NodeRole(True, None, "RANK=0")
    assert launcher_role({"NODE_RANK": "2", "RANK": "0", "MASTER_ADDR": "10.0.0.5"}, 7000).address == "10.0.0.5:7000"
    slurm = launcher_role({"SLURM_NODEID": "1", "SLURM_JOB_NODELIST": "gpu[07-08]"}, 6379)
    assert (slurm.head, slurm.address) == (False, "gpu07:6379") and "SLURM_JOB_NODELIST" in slurm.why
    with pytest.raises(ConfigError, match="MASTER_ADDR nor SLURM_JOB_NODELIST"):
        launcher_role({"SLURM_PROCID": "3"}, 6379)
    with pytest.raises(ConfigError, match="not a node rank"):
        launcher_role({"RANK": "one"}, 6379)
    with pytest.raises(ConfigError, match="--head, --address"):
        launcher_role({}, 6379)


def test_ray_start_blocks_so_a_node_can_be_stopped_alone():
    head = ray_start_args(NodeRole(True, None, "--head"), 7000, 2, None, "127.0.0.1")
    assert "--block" in head and "--head" in head and "--port=7000" in head and "--num-cpus=2" in head
    assert "--node-ip-address=127.0.0.1" in head
    worker = ray_start_args(NodeRole(False, "h:7000", "join"), 7000, None, 1)
    assert "--address=h:7000" in worker and "--num-gpus=1" in worker and "--head" not in worker


def test_cluster_start_without_a_role_says_how_to_give_one(tmp_path):
    env = {"RLINF_CACHE": str(tmp_path)}
    for var in ("RANK", "NODE_RANK", "SLURM_NODEID", "SLURM_PROCID", "MASTER_ADDR", "SLURM_JOB_NODELIST"):
        env[var] = ""
    proc = run_cli("cluster", "start", extra_env=env, timeout=120)
    assert proc.returncode == 2 and "--head, --address" in proc.stderr, proc.stderr
    stopped = run_cli("cluster", "stop", extra_env=env, timeout=120)
    assert stopped.returncode == 0 and "no node started by `rlinf cluster`" in stopped.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _started_pid(proc) -> int:
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-2000:]
    line = next(ln for ln in proc.stdout.splitlines() if "node started (pid" in ln)
    return int(line.split("(pid ")[1].split(",")[0])


RECIPE = """
cluster:
  num_nodes: 2
  num_cpus_per_node: 2
  component_placement: "rollout,reward: 0-1, actor: 2-3"
  devices_per_rank: {{actor: 2, rollout: 2, reward: 2}}
runner:
  max_steps: 3
  save_interval: 1
  seed: 3
data:
  train_data_paths: [{data}]
  rollout_batch_size: 4
rollout:
  model: {{model_path: {model}}}
  max_new_tokens: 8
actor:
  global_batch_size: 8
  micro_batch_size: 8
algorithm:
  group_size: 4
tracking:
  backends: [jsonl]
"""


@pytest.mark.slow
def test_a_run_over_two_nodes_stops_naming_a_lost_node_and_resumes(tmp_path, tiny_checkpoint):
    data = tmp_path / "train.jsonl"
    data.write_text("".join(
        json.dumps({"prompt": f"What is {a} + 7?", "solutions": [f"\\boxed{{{a + 7}}}"]}) + "\n" for a in range(16)
    ))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.format(data=data, model=tiny_checkpoint))
    env = {"RLINF_CACHE": str(tmp_path / "cache")}
    port = _free_port()
    address = f"127.0.0.1:{port}"
    node = ("--num-cpus", "2")  # Ray names both nodes by this machine's IP (it maps 127.0.0.1 to it)
    out = tmp_path / "run"
    run = ("run", str(recipe), f"cluster.address={address}", f"runner.output_dir={out}")
    try:
        _started_pid(run_cli("cluster", "start", "--head", "--port", str(port), *node, extra_env=env))
        worker = _started_pid(run_cli("cluster", "join", address, *node, extra_env=env))
        ready = run_cli("cluster", "wait", "--nodes", "2", "--timeout", "60", "--address", address, extra_env=env)
        assert ready.returncode == 0 and "ready: 2 node(s), 4 CPUs" in ready.stdout, ready.stderr

        proc = start_cli(*run, extra_env=env)
        wait_for_path(out / "checkpoints" / "step_000001" / "manifest.json", proc)
        os.killpg(worker, signal.SIGKILL)  # the machine vanishes: ray start, its daemons and the ranks on it
        lost_at = time.monotonic()
        _, stderr = proc.communicate(timeout=120)
        stopped_after = time.monotonic() - lost_at
        assert proc.returncode == 1, stderr[-3000:]
        assert stopped_after < 30, f"the run took {stopped_after:.0f}s to stop after the node was lost"
        message = next(ln for ln in stderr.splitlines() if ln.startswith("Error:"))
        assert re.search(r"node \S+ \(Ray node [0-9a-f]{12}\) was lost; the run's ranks on it were: ", message), message
        assert ("actor rank 0" in message) != ("rollout rank 0" in message and "reward rank 0" in message), message
        assert "rlinf cluster join" in message
        saved = sorted(p.name for p in (out / "checkpoints").iterdir() if p.name.startswith("step_"))
        assert saved and (out / "checkpoints" / saved[-1] / "manifest.json").exists()

        _started_pid(run_cli("cluster", "join", address, *node, extra_env=env))  # registered once it returns
        resumed = run_cli(*run, extra_env=env)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert f"resumed from {out / 'checkpoints' / saved[-1]}" in resumed.stderr
        steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
        assert steps[-1] == 3
        status = run_cli("cluster", "status", "--address", address, extra_env=env)
        assert "3 node" not in status.stdout and "LOST" in status.stdout and "alive" in status.stdout
    finally:
        stopped = run_cli("cluster", "stop", extra_env=env)
        assert stopped.returncode == 0, stopped.stderr
