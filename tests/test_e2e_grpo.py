"""GRPO end to end on a tiny model through real Ray: invariants of a few steps, and the CLI."""

import json
import os
import subprocess
import sys

import pytest
import torch

from rlinf_core.config import load_config

pytestmark = pytest.mark.slow

METRICS = [
    "rollout/rewards", "rollout/accuracy", "rollout/response_length", "rollout/response_length_max",
    "rollout/truncated_fraction", "train/entropy_loss", "train/policy_loss", "train/ratio", "train/ratio_max",
    "train/clip_fraction", "train/early_stopped_minibatches", "train/grad_norm", "train/lr", "time/rollout",
    "time/reward", "time/train", "time/sync", "time/step", "throughput/tokens_per_s",
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    with open(path, "w") as fh:
        for i in range(16):
            a, b = 10 + i, 20 + 2 * i
            fh.write(json.dumps({"prompt": f"What is {a} + {b}?", "task": "math", "query_id": f"q{i}",
                                 "solutions": [f"\\boxed{{{a + b}}}"]}) + "\n")
    return str(path)


def overrides(tiny_checkpoint, dataset, out, **extra):
    base = {
        "cluster.num_cpus_per_node": 2,
        "runner.output_dir": out,
        "runner.max_steps": 2,
        "runner.save_interval": 1,
        "data.train_data_paths": f"[{dataset}]",
        "data.rollout_batch_size": 4,
        "rollout.model.model_path": tiny_checkpoint,
        "rollout.max_new_tokens": 12,
        "actor.global_batch_size": 8,
        "actor.micro_batch_size": 4,
        "actor.optim.lr": 1e-3,
        "algorithm.group_size": 4,
        "reward.num_workers": 1,
        "tracking.backends": "[mlflow,jsonl]",
    }
    base.update(extra)
    return [f"{k}={v}" for k, v in base.items()]


def test_two_ranks_each_ddp_invariants(ray_cluster, tiny_checkpoint, dataset, tmp_path):
    from rlinf_core.runner import Trainer

    cfg = load_config(None, overrides(tiny_checkpoint, dataset, str(tmp_path / "run")))
    trainer = Trainer(cfg)
    try:
        trainer.validate()
        trainer.launch()
        assert {g: trainer.groups[g].world_size for g in trainer.groups} == {"rollout": 2, "reward": 2, "actor": 2}
        for step in (1, 2):
            metrics = trainer.step(step, trainer.cursor.next())
            batch = trainer.last_batch
            assert len(batch) == 16
            # The rollout's sampling log-probs and the trainer's, same weights and tokens (fp32).
            assert metrics["train/rollout_logprob_diff_max"] < 1e-4
            for g in torch.unique(batch.group_ids):
                assert abs(float(batch.advantages[batch.group_ids == g].sum())) < 1e-4
            assert batch.rewards.abs().eq(5.0).all()
            assert metrics["train/optimizer_steps"] == 2.0  # 16 rollouts / global batch 8
        # Weight sync: the rollout now holds the trained weights, so the gap stays tiny after updates.
        path = trainer.save(2)
        trained = trainer.groups["actor"].execute("state_dict_for_rollout")[0]
    finally:
        trainer.shutdown()
    from transformers import AutoModelForCausalLM

    saved = AutoModelForCausalLM.from_pretrained(os.path.join(path, "actor")).state_dict()
    start = AutoModelForCausalLM.from_pretrained(tiny_checkpoint).state_dict()
    assert all(torch.equal(saved[k], v) for k, v in trained.items())  # the checkpoint holds the trained weights
    assert any(not torch.equal(start[k], v) for k, v in trained.items())  # which two steps moved


def test_cli_run_writes_mlflow_checkpoints_and_curves(plugin_site, tiny_checkpoint, dataset, tmp_path):
    out = str(tmp_path / "cli-run")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("algorithm:\n  name: grpo\n")
    args = overrides(tiny_checkpoint, dataset, out, **{
        "cluster.devices_per_rank": "{actor: 2, rollout: 2, reward: 2}",
        "data.val_data_paths": f"[{dataset}]", "runner.val_interval": 1, "runner.val_samples": 2,
        "runner.val_temperature": 1.0,
    })
    proc = subprocess.run(
        [sys.executable, "-m", "rlinf_core.cli", "run", str(recipe), *args],
        capture_output=True, text=True, timeout=600, env={**os.environ, "RAY_AUTH_MODE": "disabled"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "step 2: reward" in proc.stderr  # the progress line when stderr is not a terminal
    from mlflow.tracking import MlflowClient

    from rlinf_core.trackers.mlflow_tracker import default_tracking_uri

    client = MlflowClient(tracking_uri=default_tracking_uri(out))
    run = client.search_runs([client.get_experiment_by_name("rlinf").experiment_id])[0]
    assert run.info.status == "FINISHED"
    for name in METRICS:
        history = client.get_metric_history(run.info.run_id, name)
        assert [m.step for m in history] == [1, 2], name
    val = {}
    for name in ["val/train/avg_at_2", "val/train/pass_at_2"]:  # MLflow spells '@' as '_at_'
        history = client.get_metric_history(run.info.run_id, name)
        assert sorted(m.step for m in history) == [0, 1, 2], name  # step 0: before any update
        val[name] = {m.step: m.value for m in history}
    assert "final validation: val/train/avg@2" in proc.stdout
    # The report: start -> best -> final in one unit, and every output named.
    avg = val["val/train/avg_at_2"]
    best_step = max(sorted(avg), key=lambda s: (avg[s], -s))  # the first step reaching the maximum
    assert f"val/train/avg@2: start {avg[0]:.4f} (step 0) -> best {avg[best_step]:.4f} (step {best_step})" in proc.stdout
    for name in ("mlflow ui", "metrics", "curves", "timeline", "best checkpoint", "final checkpoint"):
        assert f"\n{name} " in proc.stdout, name
    assert "validation at step 1:" in proc.stderr  # printed when it happens
    best = json.load(open(os.path.join(out, "checkpoints", "best", "best.json")))
    assert best == {"metric": "val/train/avg@2", "step": best_step, "value": avg[best_step]}
    assert os.path.exists(os.path.join(out, "checkpoints", "best", "actor", "config.json"))
    assert os.path.exists(os.path.join(out, "checkpoints", "step_000001", "actor", "config.json"))
    assert os.path.exists(os.path.join(out, "checkpoints", "step_000002", "actor", "tokenizer_config.json"))
    assert os.path.exists(os.path.join(out, "checkpoints", "step_000002", "manifest.json"))
    assert os.path.getsize(os.path.join(out, "curves.png")) > 10_000
    rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    assert [r["step"] for r in rows] == [0, 1, 2]
    # The timeline: every component's calls, per step, and busy fractions in the metrics.
    spans = [json.loads(line) for line in open(os.path.join(out, "timeline.jsonl"))]
    for step in (1, 2):
        done = {(s["component"], s["what"]) for s in spans if s["step"] == step}
        assert {("rollout", "generate_part"), ("reward", "score_part"), ("actor", "train_on")} <= done, done
    assert all(s["start"] <= s["end"] for s in spans)
    for r in rows[1:]:
        for component in ("rollout", "reward", "actor"):
            assert 0.0 < r[f"timeline/busy_{component}"] <= 1.0, (component, r)
    assert os.path.getsize(os.path.join(out, "timeline.png")) > 10_000


def test_work_is_split_over_ranks_without_losing_items():
    from rlinf_core.flow.sampling import chunks as _chunks

    assert _chunks(list(range(7)), 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert _chunks([1], 3) == [[1], [], []]
    assert sum(len(c) for c in _chunks(list(range(128)), 3)) == 128


def test_bounded_staleness_samples_ahead_with_the_previous_weights(ray_cluster, tiny_checkpoint, dataset, tmp_path):
    """max_staleness 1: step t+1 is sampled while step t trains, with step t's weights; its rows
    carry that version, staleness is logged, and the ratio uses the rollout's log-probs."""
    from rlinf_core.runner import Trainer

    cfg = load_config(None, overrides(tiny_checkpoint, dataset, str(tmp_path / "run"), **{
        "runner.max_staleness": 1, "runner.max_steps": 3, "runner.save_interval": 0,
        "cluster.component_placement": "'rollout,reward: 0, actor: 1'",
    }))
    trainer = Trainer(cfg)
    try:
        trainer.validate()
        trainer.launch()
        first = trainer.step(1, trainer.cursor.next(), prefetch_next=True)
        assert first["rollout/staleness_max"] == 0.0 and first["train/rollout_logprob_diff_max"] > 0.0
        assert trainer.prefetch.has(2)
        position = trainer.cursor.state_dict()
        # A checkpoint taken now records the data position before the batch sampled ahead.
        saved = json.load(open(os.path.join(trainer.save(1), "runner.json")))["data"]
        assert saved["index"] == position["index"] - 1
        second = trainer.step(2, None, prefetch_next=False)
        assert trainer.last_batch.policy_versions.tolist() == [0] * len(trainer.last_batch)  # made by step 0's weights
        assert second["rollout/staleness_mean"] == 1.0 and second["rollout/staleness_max"] == 1.0
        assert second["train/rollout_logprob_diff_max"] == 0.0  # not recomputed: the behaviour policy's own
        assert not trainer.prefetch.has(3)
        third = trainer.step(3, trainer.cursor.next())
        assert third["rollout/staleness_max"] == 0.0 and trainer.last_batch.policy_versions.tolist()[0] == 2
    finally:
        trainer.shutdown()
