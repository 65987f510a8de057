"""Ray-side building blocks: placement, workers and worker groups, channels."""

from rlinf_core.cluster.channel import Channel
from rlinf_core.cluster.placement import ComponentPlacement, RankPlacement, parse_placement
from rlinf_core.cluster.ray_cluster import ensure_ray, placement_for_cluster, release, reserve
from rlinf_core.cluster.worker import GroupFuture, Worker, WorkerContext, WorkerGroup

__all__ = [
    "Channel",
    "ComponentPlacement",
    "GroupFuture",
    "RankPlacement",
    "Worker",
    "WorkerContext",
    "WorkerGroup",
    "ensure_ray",
    "parse_placement",
    "placement_for_cluster",
    "release",
    "reserve",
]
