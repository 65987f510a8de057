"""A loaded group of actor ranks on real Ray, for testing train backends across ranks."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from rlinf_core.cluster import WorkerGroup, parse_placement, release, reserve
from rlinf_core.config import to_container
from rlinf_core.flow.components import ActorWorker
from rlinf_core.interfaces.train import TrainSetup


@contextlib.contextmanager
def actor_group(cfg: Any, seed: int = 0, total_optimizer_steps: int = 4, cpus_per_node: int = 2) -> Iterator[WorkerGroup]:
    """The actor ranks of ``cfg``'s ``cluster.component_placement`` (Ray must be running), each
    with ``actor.backend`` loaded and joined in one process group; shut down and their resources
    released on exit."""
    placement = parse_placement(cfg.cluster.component_placement, cpus_per_node=cpus_per_node)
    pg = reserve(placement)
    group = None
    try:
        group = WorkerGroup.launch(ActorWorker, "actor", args=(to_container(cfg),), placement=placement, placement_group=pg)
        addr, port = group.execute("rendezvous", ranks=[0])[0]
        group.execute("load", TrainSetup(seed=seed, temperature=1.0, total_optimizer_steps=total_optimizer_steps,
                                         dist_addr=addr, dist_port=port))
        yield group
    finally:
        if group is not None:
            group.shutdown()
        release(pg)
