"""GRPO end to end on a tiny model through real Ray: invariants of a few steps (the CLI run and
what it writes: tests/test_resume_and_failures.py)."""

import json
import os

import pytest
import torch

from rlinf_core.config import load_config

pytestmark = pytest.mark.slow

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
