"""DAPO's dynamic sampling in the step, through real Ray workers: groups whose rewards are all
equal are dropped and more prompts drawn, up to algorithm.max_num_gen_batches; a shortfall is
filled with rejected groups in generation order. A deterministic rollout and reward
(tests/plugin_modules/sampling_components.py) make every expected batch computable by hand."""

from pathlib import Path

import pytest

from rlinf_core.config import load_config

MODULES = Path(__file__).resolve().parent / "plugin_modules"


def trainer_for(tiny_checkpoint, tmp_path, **extra):
    from rlinf_core.runner import Trainer

    overrides = {
        "plugins.modules": f"[{MODULES / 'sampling_components.py'},{MODULES / 'tiny_components.py'}]",
        "cluster.num_cpus_per_node": 2,
        "cluster.devices_per_rank": "{actor: 2, rollout: 2, reward: 2}",
        "runner.output_dir": str(tmp_path / "run"),
        "data.task": "list", "data.operand_max": 11, "data.rollout_batch_size": 4,
        "data.train_data_paths": f"[{MODULES / 'sampling_components.py'}]",  # the list task makes its own prompts
        "rollout.backend": "counting", "rollout.model.model_path": tiny_checkpoint,
        "actor.backend": "noop", "actor.global_batch_size": 16,
        "reward.name": "even-varies",
        "algorithm.name": "dapo", "algorithm.group_size": 4, "algorithm.overlong_penalty_factor": 0.0,
        **extra,
    }
    trainer = Trainer(load_config(None, [f"{k}={v}" for k, v in overrides.items()]))
    trainer.validate()
    trainer.launch()
    return trainer


def groups_of(batch):
    """(prompt, rewards) of each group, in batch order."""
    out = []
    for g in sorted(set(batch.group_ids.tolist())):
        rows = [i for i, x in enumerate(batch.group_ids.tolist()) if x == g]
        out.append((int(batch.prompt_ids[rows[0]][0]), [float(batch.rewards[i]) for i in rows]))
    return out


@pytest.mark.parametrize("budget", [1, 3])
def test_dynamic_sampling_replaces_uniform_groups(ray_cluster, tiny_checkpoint, tmp_path, budget):
    trainer = trainer_for(tiny_checkpoint, tmp_path, **{"algorithm.max_num_gen_batches": budget})
    try:
        metrics = trainer.step(1, trainer.cursor.next())
        got = groups_of(trainer.last_batch)
        if budget == 1:  # off: the batch as generated, odd prompts' groups included
            assert [p for p, _ in got] == [0, 1, 2, 3] and "rollout/generation_batches" not in metrics
        else:  # prompts 0-3 keep 0 and 2, prompts 4-7 keep 4 and 6: full after two batches
            assert [p for p, _ in got] == [0, 2, 4, 6]
            assert all(r == [0.0, 1.0, 2.0, 3.0] for _, r in got)
            assert metrics["rollout/generation_batches"] == 2 and metrics["rollout/rejected_groups"] == 4  # 1, 3, 5, 7
            assert metrics["rollout/dynamic_sampling_filled"] == 0
            assert [e.uid for e in trainer.cursor.next()] == ["8", "9", "10", "11"]  # the data moved on by two
        assert metrics["reward/scored"] == 16 * (1 if budget == 1 else 2)  # counters summed over batches
        assert len(trainer.last_batch) == 16
    finally:
        trainer.shutdown()


def test_dynamic_sampling_fills_a_shortfall_with_rejected_groups(ray_cluster, tiny_checkpoint, tmp_path):
    """Only prompts 0 and 2 vary; two batches allowed: kept 0, 2, then the rejected 1, 3 in generation order."""
    trainer = trainer_for(tiny_checkpoint, tmp_path, **{"algorithm.max_num_gen_batches": 2, "reward.varied_below": 4})
    try:
        metrics = trainer.step(1, trainer.cursor.next())
        assert [p for p, _ in groups_of(trainer.last_batch)] == [0, 2, 1, 3]
        assert metrics["rollout/generation_batches"] == 2 and metrics["rollout/rejected_groups"] == 6
        assert metrics["rollout/dynamic_sampling_filled"] == 2
        adv = trainer.last_batch.advantages.view(4, 4)
        assert adv[2:].abs().sum() == 0 and adv[:2].abs().sum() > 0  # filled groups train as little as dropped ones
    finally:
        trainer.shutdown()
