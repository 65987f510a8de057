"""Start an embedded local Ray, or join an existing cluster, and reserve the run's resources.

The default (``cluster.address: null``) starts Ray inside this process's session with the
dashboard off; ``cluster.address: auto`` or ``HOST:PORT`` joins a running cluster, which is
how a run goes multi-node. Resources are reserved with one placement-group bundle per node;
ranks then take fractions of their node's bundle (see :mod:`rlinf_core.cluster.placement`).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from rlinf_core.cluster.placement import ComponentPlacement, parse_placement
from rlinf_core.errors import PlacementError

_PG_TIMEOUT_S = 30.0


def ensure_ray(address: Optional[str] = None, num_cpus: Optional[int] = None, namespace: str = "rlinf") -> None:
    """Connect to Ray once per process: embedded local by default, or the cluster at ``address``."""
    import ray

    if ray.is_initialized():
        return
    if address is None:
        # The embedded cluster is private to this run; token auth only adds a warning and a file.
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        ray.init(
            # "local": a cluster of this run's own, even when `ray start` (or `rlinf cluster start`)
            # left one running on this machine or RAY_ADDRESS is set, which ray.init() would join.
            address="local",
            num_cpus=num_cpus,
            include_dashboard=False,
            namespace=namespace,
            log_to_driver=True,
            configure_logging=True,
            logging_level="WARNING",
            # Ray starts workers at niceness 15 so its daemons stay responsive on busy shared
            # nodes; in a private embedded cluster that only makes the run's own compute yield
            # to everything else on the machine (the driver, Ray's daemons, a monitor).
            _system_config={"worker_niceness": 0, "enable_worker_prestart": False, "prestart_worker_first_driver": False},
        )
    else:
        try:
            ray.init(address=address, namespace=namespace, log_to_driver=True, logging_level="WARNING")
        except ConnectionError as exc:
            raise PlacementError(
                f"Could not join the Ray cluster at `cluster.address`={address!r}: {exc}. "
                f"Start it with `ray start --head`, or set cluster.address=null for an embedded local Ray."
            ) from exc


def cluster_cpus_per_node() -> int:
    """CPUs on the smallest alive node of the connected Ray cluster."""
    import ray

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    cpus = [int(n.get("Resources", {}).get("CPU", 0)) for n in nodes]
    return min(cpus) if cpus else 0


def placement_for_cluster(cluster_cfg: Any, cpus_per_node: Optional[int] = None) -> ComponentPlacement:
    """Parse the config's placement against a node size (Ray's, or ``os.cpu_count()`` offline)."""
    cpus = cluster_cfg.num_cpus_per_node or cpus_per_node or os.cpu_count() or 1
    spec = cluster_cfg.component_placement
    if isinstance(spec, str) and spec.strip() == "auto":
        # Chosen when the run starts (rlinf_core.plan.auto); until then, the collocated start.
        spec = "actor,rollout,reward: all"
    return parse_placement(
        spec,
        num_nodes=cluster_cfg.num_nodes,
        num_gpus_per_node=cluster_cfg.num_gpus_per_node,
        cpus_per_node=cpus,
        devices_per_rank=dict(cluster_cfg.devices_per_rank),
    )


def check_fits(placement: ComponentPlacement) -> None:
    """Fail fast, naming the numbers, when the placement asks for more than Ray has."""
    import ray

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    total = ray.cluster_resources()
    check_counts(placement, len(nodes), int(total.get("CPU", 0)), int(total.get("GPU", 0)), "the Ray cluster")


def check_fits_locally(placement: ComponentPlacement) -> None:
    """:func:`check_fits` against this machine, for an embedded Ray that has not started yet."""
    gpus = 0
    if placement.device_type == "gpu":
        import torch

        gpus = torch.cuda.device_count()
    check_counts(placement, 1, os.cpu_count() or 1, gpus, "this machine (an embedded Ray gets all of it)")


def check_counts(placement: ComponentPlacement, have_nodes: int, have_cpu: int, have_gpu: int, where: str) -> None:
    """Raise PlacementError naming the config field when ``placement`` needs more than ``where`` has."""
    if have_nodes < placement.num_nodes:
        raise PlacementError(f"`cluster.num_nodes`={placement.num_nodes} but {where} has {have_nodes} node(s).")
    need_cpu = placement.num_nodes * placement.cpus_per_node
    if need_cpu > have_cpu:
        raise PlacementError(
            f"The config asks for {need_cpu} CPUs ({placement.num_nodes} node(s) x {placement.cpus_per_node}), "
            f"but {where} has {have_cpu}. Lower `cluster.num_cpus_per_node` or `cluster.num_nodes`."
        )
    if placement.device_type == "gpu" and placement.num_devices > have_gpu:
        raise PlacementError(
            f"The config asks for {placement.num_devices} GPUs ({placement.num_nodes} node(s) x "
            f"{placement.devices_per_node}), but {where} has {have_gpu}. "
            f"Lower `cluster.num_gpus_per_node`, or set it to 0 to run on CPUs."
        )


def reserve(placement: ComponentPlacement) -> Any:
    """A placement group with one bundle per node; bundle i is node i of the placement."""
    import ray
    from ray.util.placement_group import placement_group

    check_fits(placement)
    bundles: List[Dict[str, float]] = []
    for _ in range(placement.num_nodes):
        bundle: Dict[str, float] = {"CPU": float(placement.cpus_per_node)}
        if placement.device_type == "gpu":
            bundle["GPU"] = float(placement.devices_per_node)
        bundles.append(bundle)
    strategy = "STRICT_SPREAD" if placement.num_nodes > 1 else "PACK"
    pg = placement_group(bundles, strategy=strategy)
    ready, _ = ray.wait([pg.ready()], timeout=_PG_TIMEOUT_S)
    if not ready:
        ray.util.remove_placement_group(pg)
        raise PlacementError(
            f"Ray could not reserve {bundles} ({strategy}) within {_PG_TIMEOUT_S:.0f}s: other actors may hold "
            f"the resources. Available now: {ray.available_resources()}."
        )
    return pg


def release(pg: Any) -> None:
    import ray
    from ray.util.placement_group import remove_placement_group

    if pg is not None and ray.is_initialized():
        remove_placement_group(pg)
