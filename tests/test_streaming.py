"""Streaming within a step (runner.groups_per_part): how parts are cut, seeded and sharded, and
the configs it refuses, each with the field to change."""

from pathlib import Path

import pytest

from rlinf_core.config import derive_sizes, load_config, section
from rlinf_core.errors import ConfigError
from rlinf_core.flow.sampling import rollout_calls
from rlinf_core.flow.streaming import check_streaming, part_shards, part_sizes
from rlinf_core.interfaces.task import Example
from rlinf_core.plugins import get_registry

RECIPE = str(Path(__file__).resolve().parents[1] / "cookbook" / "math-tiny" / "grpo.yaml")
STREAMABLE = ["runner.groups_per_part=2", "actor.global_batch_size=128"]  # 16 prompts x 8 samples, one update


def test_part_sizes_cut_a_share_into_whole_groups():
    assert part_sizes(5, 2) == [2, 2, 1]
    assert part_sizes(4, 2) == [2, 2]
    assert part_sizes(4, 0) == [4]  # off: one part
    assert part_sizes(3, 5) == [3]


def test_part_shards_split_every_row_once_and_are_seeded():
    shards = part_shards(8, 2, seed=1, step=3, part=0)
    assert [len(s) for s in shards] == [4, 4]
    assert sorted(shards[0] + shards[1]) == list(range(8))
    assert part_shards(8, 2, seed=1, step=3, part=0) == shards
    assert part_shards(8, 2, seed=1, step=3, part=1) != shards


def test_rollout_calls_keep_the_one_part_seeds_for_the_first_part():
    import torch

    prompts = [Example(uid=str(i), prompt_ids=torch.tensor([i + 1]), answers=["1"]) for i in range(6)]
    whole = rollout_calls(prompts, world=2, groups_per_part=0, group_size=4, step=1, seed=100)
    parts = rollout_calls(prompts, world=2, groups_per_part=2, group_size=4, step=1, seed=100)
    assert [(r, q.prompt_uids, q.seed) for r, q in whole] == [(0, ["0", "1", "2"], 100), (1, ["3", "4", "5"], 101)]
    assert [(r, q.prompt_uids, q.seed) for r, q in parts] == [
        (0, ["0", "1"], 100), (0, ["2"], 100 + 104_729), (1, ["3", "4"], 101), (1, ["5"], 101 + 104_729),
    ]


def check(overrides):
    cfg = load_config(RECIPE, overrides)
    registry = get_registry()
    algorithm = registry.get("algorithms", cfg.algorithm.name)(section(cfg, "algorithm"))
    check_streaming(cfg, algorithm, registry.get("train_backends", cfg.actor.backend), derive_sizes(cfg))


def test_a_streamable_config_passes():
    check(STREAMABLE)
    check(["actor.global_batch_size=128"])  # off: nothing to check


@pytest.mark.parametrize("overrides, says", [
    (["runner.groups_per_part=2"], "one update per step"),  # the recipe's 2 minibatches
    (STREAMABLE + ["actor.num_epochs=2"], "one update per step"),
    (STREAMABLE + ["algorithm.normalize_advantages=true"], "algorithm.normalize_advantages"),
    (STREAMABLE + ["algorithm.name=reinforce_pp"], "advantages computed within each prompt group"),
    (STREAMABLE + ["algorithm.name=dapo"], "turn dynamic sampling off"),
    (["cluster.num_cpus_per_node=2", "cluster.devices_per_rank={actor: 1, rollout: 1, reward: 1}",
      "runner.groups_per_part=1", "algorithm.group_size=1", "actor.global_batch_size=16", "actor.micro_batch_size=4"],
     "split evenly over the 2 actor ranks (a part of 1 groups has 1)"),
])
def test_configs_that_cannot_stream_are_refused_naming_the_field(overrides, says):
    with pytest.raises(ConfigError) as err:
        check(overrides)
    assert "`runner.groups_per_part`" in str(err.value) and says in str(err.value)


def test_an_algorithm_that_trains_a_model_of_its_own_is_refused():
    """Its before_update/after_update hooks run on whole steps, which a streamed step never has."""
    grpo = get_registry().get("algorithms", "grpo")

    class WithCritic(grpo):
        def after_update(self, batch):
            return {}

    cfg = load_config(RECIPE, STREAMABLE)
    with pytest.raises(ConfigError, match="an algorithm without models of its own to train beside the policy"):
        check_streaming(cfg, WithCritic(section(cfg, "algorithm")), get_registry().get("train_backends", cfg.actor.backend),
                        derive_sizes(cfg))
