"""Placement groups on a real Ray cluster: ranks land in their bundle with their thread share."""

import os

import pytest

from rlinf_core import WorkerGroup
from rlinf_core.cluster import parse_placement, release, reserve
from rlinf_core.errors import PlacementError
from tests.workers_for_tests import EchoWorker


def test_placement_groups_and_thread_counts(ray_cluster):
    placement = parse_placement("rollout: 0-1, actor: 2-3", cpus_per_node=4, devices_per_rank={"rollout": 2})
    pg = reserve(placement)
    try:
        rollout = WorkerGroup.launch(EchoWorker, "rollout", placement=placement, placement_group=pg)
        actor = WorkerGroup.launch(EchoWorker, "actor", placement=placement, placement_group=pg)
        assert rollout.world_size == 1 and actor.world_size == 2
        # The embedded Ray does not deprioritise its workers (Ray's default niceness is 15).
        nice = os.nice(0)  # the workers run at the driver's priority
        assert rollout.execute("threads") == [{"torch": 2, "omp": "2", "niceness": nice}]
        assert actor.execute("threads") == [{"torch": 1, "omp": "1", "niceness": nice}] * 2
        assert [c.devices for c in actor.contexts] == [(2,), (3,)]
        rollout.shutdown()
        actor.shutdown()
    finally:
        release(pg)


def test_placement_larger_than_cluster_is_a_clear_error(ray_cluster):
    placement = parse_placement("actor: all", cpus_per_node=64)
    with pytest.raises(PlacementError, match="asks for 64 CPUs .* the Ray cluster has 4"):
        reserve(placement)
