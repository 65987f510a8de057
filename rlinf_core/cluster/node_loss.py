"""Which Ray node each rank runs on: the layout a multi-node run logs when it starts, and the
error when a node is lost, naming the node and every component rank that was on it and how to
resume.

A lost node reaches the driver as a :class:`WorkerError`: a rank on it died, or a rank elsewhere
lost an object that lived there (:data:`LOSS_SIGNS`). When the run's ranks span several nodes,
the driver then asks Ray whether one of those nodes is gone, for up to ``settle_s`` seconds
(Ray marks a node dead once its health checks fail); a run on one node cannot lose it without
losing the driver's Ray too, so its errors pass unchanged.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

from rlinf_core.errors import WorkerError

SETTLE_S = 20.0


class NodeLost(WorkerError):
    """A Ray node of the run went away, taking the ranks on it."""

    def __init__(self, node: Dict[str, Any], on_node: List[Tuple[str, int]], first: WorkerError):
        ranks = ", ".join(f"{group} rank {rank}" for group, rank in on_node)
        where = f"{node.get('NodeManagerAddress', '?')} (Ray node {str(node.get('NodeID', ''))[:12]})"
        super().__init__(
            first.group, first.rank, first.method,
            f"node {where} was lost; the run's ranks on it were: {ranks}. First failure: {first.cause}. "
            "Checkpoints already written are intact: when the node is back (`rlinf cluster join HEAD:PORT` on it, "
            "then `rlinf cluster wait --nodes N`), run the same command again and runner.resume=auto continues "
            "from the last one.",
        )
        self.node = node
        self.on_node = on_node


def _nodes() -> List[Dict[str, Any]]:
    import ray

    return list(ray.nodes()) if ray.is_initialized() else []


# How a lost node shows up at the driver: its ranks' processes died, or a rank elsewhere lost an
# object (weights, a batch) that lived on it.
LOSS_SIGNS = ("the worker process died", "ActorDiedError", "ActorUnavailableError", "ObjectLostError",
              "OwnerDiedError", "ObjectReconstructionFailed", "NodeDiedError")


def _first_dead_node(node_ids: List[str], settle_s: float) -> Optional[Dict[str, Any]]:
    """The record of the first of ``node_ids`` Ray marks dead within ``settle_s`` seconds, or None."""
    deadline = time.monotonic() + settle_s
    while True:
        dead = [n for n in _nodes() if n.get("NodeID") in node_ids and not n.get("Alive")]
        if dead:
            return dead[0]
        if time.monotonic() > deadline:
            return None
        time.sleep(0.5)


def layout_lines(groups: Mapping[str, Any]) -> List[str]:
    """One line per Ray node: its address and the component ranks on it (logged by multi-node runs)."""
    names = {n.get("NodeID"): n.get("NodeManagerAddress", "?") for n in _nodes()}
    by_node: Dict[str, List[str]] = {}
    for name, group in groups.items():
        for rank, node_id in enumerate(getattr(group, "node_ids", [])):
            by_node.setdefault(node_id, []).append(f"{name} rank {rank}")
    return [f"node {names.get(node_id, '?')} (Ray node {node_id[:12]}): {', '.join(ranks)}" for node_id, ranks in by_node.items()]


def explain_node_loss(exc: WorkerError, groups: Mapping[str, Any], settle_s: float = SETTLE_S) -> Optional[NodeLost]:
    """A :class:`NodeLost` when ``exc`` looks like a loss and a node of the run's ranks is gone, else None."""
    used = sorted({node_id for g in groups.values() for node_id in getattr(g, "node_ids", [])})
    if len(used) < 2 or not any(sign in f"{exc.cause}\n{exc.remote_traceback}" for sign in LOSS_SIGNS):
        return None
    node = _first_dead_node(used, settle_s)
    if node is None:
        return None
    on_node = [
        (name, rank)
        for name, g in groups.items()
        for rank, node_id in enumerate(getattr(g, "node_ids", []))
        if node_id == node.get("NodeID")
    ]
    return NodeLost(node, on_node, exc)
