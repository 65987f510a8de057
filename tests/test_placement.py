"""Parsing `cluster.component_placement` and splitting components into ranks."""

import pytest

from rlinf_core.cluster import parse_placement
from rlinf_core.errors import PlacementError


def test_collocated_all():
    p = parse_placement("actor,rollout,reward: all", cpus_per_node=2)
    assert p.components == {"actor": (0, 1), "rollout": (0, 1), "reward": (0, 1)}
    assert p.mode == "collocated"
    ranks = p.ranks("actor")
    assert [r.devices for r in ranks] == [(0,), (1,)]
    # three components time-share each CPU: each rank asks Ray for a third of one
    assert [r.cpu_share for r in ranks] == [0.3333, 0.3333]
    assert [r.num_threads for r in ranks] == [1, 1]


def test_disaggregated_ranges():
    p = parse_placement("rollout: 0-1, actor: 2-3", cpus_per_node=4)
    assert p.components == {"rollout": (0, 1), "actor": (2, 3)}
    assert p.mode == "disaggregated"
    assert [r.cpu_share for r in p.ranks("actor")] == [1.0, 1.0]


def test_hybrid_and_mapping_form():
    p = parse_placement({"actor,rollout": "0-3", "reward": 3}, cpus_per_node=4)
    assert p.components["reward"] == (3,)
    assert p.mode == "hybrid"
    assert p.sharers(3) == 3 and p.sharers(0) == 2


def test_multi_device_ranks_and_threads():
    p = parse_placement("actor: all, rollout: all", cpus_per_node=4, devices_per_rank={"rollout": 2})
    ranks = p.ranks("rollout")
    assert [r.devices for r in ranks] == [(0, 1), (2, 3)]
    assert [r.num_threads for r in ranks] == [2, 2]
    assert ranks[0].cpu_share == 1.0  # two CPUs, each shared by two components


def test_gpus_across_nodes():
    p = parse_placement("actor,rollout: all", num_nodes=2, num_gpus_per_node=4, cpus_per_node=32,
                        devices_per_rank={"rollout": 2})
    assert p.device_type == "gpu" and p.num_devices == 8
    ranks = p.ranks("rollout")
    assert [(r.node, r.local_devices) for r in ranks] == [(0, (0, 1)), (0, (2, 3)), (1, (0, 1)), (1, (2, 3))]
    assert ranks[0].num_threads == 16  # 8 CPUs per GPU, two GPUs


@pytest.mark.parametrize(
    "spec, error",
    [
        ("actor: 0-5", "asks for CPU 5, but the cluster has 4 CPUs (ids 0-3)"),
        ("actor: 3-1", "the start is after the end"),
        ("actor: some", "Bad device range 'some'"),
        ("actor, rollout", "have no devices"),
        ("actor: all, actor: 0", "appears twice"),
        ("act0r!: all", "Bad component name"),
        ("", "must be a string"),
    ],
)
def test_errors(spec, error):
    with pytest.raises(PlacementError, match=error.replace("(", r"\(").replace(")", r"\)")):
        parse_placement(spec, cpus_per_node=4)


def test_rank_spanning_nodes_or_uneven_split_is_an_error():
    p = parse_placement("actor: 1-2", num_nodes=2, num_gpus_per_node=2, cpus_per_node=8, devices_per_rank={"actor": 2})
    with pytest.raises(PlacementError, match="several nodes"):
        p.ranks("actor")
    q = parse_placement("actor: 0-2", cpus_per_node=4, devices_per_rank={"actor": 2})
    with pytest.raises(PlacementError, match="not a multiple"):
        q.ranks("actor")


def test_missing_component_suggests_closest():
    p = parse_placement("actor,rolout: all", cpus_per_node=2)
    with pytest.raises(PlacementError, match=r"places no 'rollout' component.*Did you mean 'rolout'"):
        p.require(["actor", "rollout"])


def test_time_shared_shares_never_exceed_the_node():
    p = parse_placement("actor,rollout,reward: all", cpus_per_node=2, devices_per_rank={"actor": 2, "rollout": 2, "reward": 2})
    shares = [r.cpu_share for c in ("actor", "rollout", "reward") for r in p.ranks(c)]
    assert shares == [0.6666] * 3 and sum(shares) <= 2
