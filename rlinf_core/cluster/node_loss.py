"""Which Ray node each rank runs on: the layout a multi-node run logs when it starts, and the
error when a node is lost, naming the node and every component rank that was on it and how to
resume.

A rank's death reaches the driver as a :class:`WorkerError` (the actor died). On a cluster of
several nodes the driver then asks Ray whether that rank's node is still alive, for up to
``settle_s`` seconds (Ray marks a node dead after its health checks fail); a single-node
cluster cannot lose a node without losing the driver, so the error passes unchanged there.
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


def _dead_node(node_id: str, settle_s: float) -> Optional[Dict[str, Any]]:
    """The node's record once Ray marks it dead, or None if it stays alive for ``settle_s``."""
    deadline = time.monotonic() + settle_s
    while True:
        record = next((n for n in _nodes() if n.get("NodeID") == node_id), None)
        if record is not None and not record.get("Alive"):
            return record
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
    """A :class:`NodeLost` for ``exc`` when its rank's node is gone, else None (an ordinary failure)."""
    group = groups.get(exc.group)
    node_ids = getattr(group, "node_ids", [])
    if not (0 <= exc.rank < len(node_ids)) or "died" not in exc.cause or len(_nodes()) < 2:
        return None
    node = _dead_node(node_ids[exc.rank], settle_s)
    if node is None:
        return None
    on_node = [
        (name, rank)
        for name, g in groups.items()
        for rank, node_id in enumerate(getattr(g, "node_ids", []))
        if node_id == node.get("NodeID")
    ]
    return NodeLost(node, on_node, exc)
