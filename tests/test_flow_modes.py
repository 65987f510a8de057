"""The flow's modes through real Ray on the tiny model: collocated, disaggregated and hybrid
placements compute bit-identical steps at staleness 0 (they change time, never results; the
collocated run offloads the rollout's weights between phases, the others do not), the driver
holds only references to trajectories, and validating a config starts no Ray."""

import json
import subprocess
import sys

import pytest
import torch

from rlinf_core.config import load_config

pytestmark = pytest.mark.slow

# One 1-thread rank per component in every mode, so that only the placement differs (a
# different thread count may change float reductions, a different rank count the update).
MODES = {
    "collocated": "actor,rollout,reward: 0",
    "disaggregated": "rollout,reward: 0, actor: 1",
    "hybrid": "rollout: 0, actor,reward: 1",
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    with open(path, "w") as fh:
        for i in range(12):
            fh.write(json.dumps({"prompt": f"What is {i} + {2 * i}?", "solutions": [f"\\boxed{{{3 * i}}}"]}) + "\n")
    return str(path)


def config(tiny_checkpoint, dataset, out, placement):
    return load_config(None, [
        "cluster.num_cpus_per_node=2", f"cluster.component_placement='{placement}'",
        "cluster.devices_per_rank={actor: 1, rollout: 1, reward: 1}",
        f"runner.output_dir={out}", "runner.max_steps=3", "runner.seed=5",
        f"data.train_data_paths=[{dataset}]", "data.rollout_batch_size=4",
        f"rollout.model.model_path={tiny_checkpoint}", "rollout.max_new_tokens=10",
        "actor.global_batch_size=8", "actor.micro_batch_size=4", "actor.optim.lr=1e-3",
        "algorithm.group_size=4", "reward.num_workers=1",
    ])


def three_steps(cfg):
    """Metrics of three steps (timings and memory dropped), the final weights, the rollout's calls."""
    import ray

    from rlinf_core.runner import Trainer

    trainer = Trainer(cfg)
    try:
        trainer.validate()
        trainer.launch()
        history = []
        for step in (1, 2, 3):
            metrics = trainer.step(step, trainer.cursor.next())
            history.append({k: v for k, v in metrics.items() if not k.startswith(("time/", "throughput/", "memory/"))})
            assert metrics["memory/actor_peak_mb"] >= metrics["memory/actor_rss_mb"] > 100
            # Trajectories reach the actor from the object store: the driver holds references only.
            assert trainer.flow.last.parts and all(isinstance(p, ray.ObjectRef) for p in trainer.flow.last.parts)
        weights = trainer.groups["actor"].execute("state_dict_for_rollout")[0]
        calls = [span[0] for span in trainer.groups["rollout"].drain_spans()[0]]
    finally:
        trainer.shutdown()
    return history, weights, calls


def test_modes_compute_bit_identical_steps_at_staleness_0(ray_cluster, tiny_checkpoint, dataset, tmp_path):
    results = {mode: three_steps(config(tiny_checkpoint, dataset, str(tmp_path / mode), placement))
               for mode, placement in MODES.items()}
    history, weights, calls = results["collocated"]
    assert history[0]["train/optimizer_steps"] == 2.0 and history[-1]["rollout/staleness_max"] == 0.0
    # Collocated: the rollout released its weights every step and got them back at the sync.
    assert calls.count("offload") == 3 and calls.count("onload") == 3
    for mode in ("disaggregated", "hybrid"):
        other_history, other_weights, other_calls = results[mode]
        assert "offload" not in other_calls, mode
        assert other_history == history, mode  # exact float equality, every metric of every step
        assert other_weights.keys() == weights.keys()
        for name, tensor in weights.items():
            assert torch.equal(other_weights[name], tensor), (mode, name)
    moved = [name for name, tensor in weights.items() if tensor.dtype.is_floating_point]
    assert moved  # the comparison covered real weights


def test_validating_a_config_starts_no_ray(tiny_checkpoint, dataset, tmp_path):
    code = f"""
import ray
from rlinf_core.config import load_config
from rlinf_core.runner import Trainer
cfg = load_config(None, {[f"runner.output_dir={tmp_path / 'run'}", f"data.train_data_paths=[{dataset}]",
                         f"rollout.model.model_path={tiny_checkpoint}", "cluster.num_cpus_per_node=2",
                         "data.rollout_batch_size=4"]!r})
trainer = Trainer(cfg)
trainer.validate()
print("ray initialized:", ray.is_initialized(), "actor ranks:", trainer.sizes.actor_ranks, trainer.sizes.placement_mode)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ray initialized: False" in proc.stdout
    assert not (tmp_path / "run").exists()  # and writes nothing


def streamed_steps(cfg, steps=2):
    """Metrics and per-step spans ({component: [(method, start, end)]}) of streamed steps, and the final weights."""
    from rlinf_core.runner import Trainer

    trainer = Trainer(cfg)
    try:
        trainer.validate()
        trainer.launch()
        history, spans = [], []
        for step in range(1, steps + 1):
            for group in trainer.groups.values():
                group.drain_spans()
            metrics = trainer.step(step, trainer.cursor.next())
            history.append({k: v for k, v in metrics.items() if not k.startswith(("time/", "throughput/", "memory/"))})
            spans.append({name: group.drain_spans()[0] for name, group in trainer.groups.items()})
        weights = trainer.groups["actor"].execute("state_dict_for_rollout")[0]
    finally:
        trainer.shutdown()
    return history, spans, weights


def test_streamed_steps_train_parts_while_the_rollout_generates(ray_cluster, tiny_checkpoint, dataset, tmp_path):
    """runner.groups_per_part=1: four parts per step, scored and trained one by one. With the actor
    on a core of its own it starts on the first part before the rollout has generated the last;
    collocated, it waits for sampling; the arithmetic is the same, bit for bit."""
    results = {}
    for mode in ("collocated", "disaggregated"):  # the hybrid's equality is checked unstreamed, above
        cfg = config(tiny_checkpoint, dataset, str(tmp_path / mode), MODES[mode])
        cfg.runner.groups_per_part = 1
        cfg.actor.global_batch_size = 16  # one update per step
        results[mode] = streamed_steps(cfg)
    history, spans, weights = results["collocated"]
    assert history[0]["train/optimizer_steps"] == 1.0
    for step_spans in spans:
        generated = [s for s in step_spans["rollout"] if s[0] == "generate_part"]
        trained = [s for s in step_spans["actor"] if s[0] == "train_part"]
        assert len(generated) == len(trained) == 4
    assert results["disaggregated"][0] == history
    assert all(torch.equal(results["disaggregated"][2][name], tensor) for name, tensor in weights.items())

    def first_part_starts_before_last_generation_ends(step_spans):
        first_train = min(s[1] for s in step_spans["actor"] if s[0] == "train_part")
        last_generated = max(s[2] for s in step_spans["rollout"] if s[0] == "generate_part")
        return first_train < last_generated

    assert all(first_part_starts_before_last_generation_ends(s) for s in results["disaggregated"][1])
    assert not any(first_part_starts_before_last_generation_ends(s) for s in spans)  # collocated: after sampling
