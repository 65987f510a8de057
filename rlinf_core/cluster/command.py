"""``rlinf cluster start|join|wait|status|stop``: the Ray cluster a multi-node run joins.

On every node one command starts its part (``rlinf cluster start`` reads the launcher's rank
and head host, or take ``--head`` / ``rlinf cluster join HOST:PORT``); the launching script
then runs ``rlinf cluster wait --nodes N`` and ``rlinf run RECIPE cluster.address=HOST:PORT
cluster.num_nodes=N``. See :mod:`rlinf_core.cluster.nodes` for how nodes are started and
stopped, and docs/cluster.md for a Slurm script.
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict, List, Optional

import click

from rlinf_core.cluster import nodes

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.group("cluster", context_settings=CONTEXT)
def cluster() -> None:
    """Start, join, wait for, inspect and stop the Ray cluster of a multi-node run."""


def _resources(f: Any) -> Any:
    f = click.option("--node-ip-address", "node_ip", default=None, help="This node's IP as the others reach it (Ray detects it by default).")(f)
    f = click.option("--num-gpus", type=click.IntRange(min=0), default=None, help="GPUs this node offers (Ray detects them by default).")(f)
    f = click.option("--num-cpus", type=click.IntRange(min=1), default=None, help="CPUs this node offers (default: all).")(f)
    f = click.option("--timeout", type=click.FloatRange(min=1), default=120.0, show_default=True, help="Seconds to wait for the node to start.")(f)
    return f


def _report_started(record: nodes.NodeRecord) -> None:
    click.echo(f"{record.role} node started (pid {record.pid}, log {record.log})")
    if record.role == "head":
        click.echo(f"cluster address: {record.address}")
        click.echo(f"join from the other nodes: rlinf cluster join {record.address}")
        click.echo(f"then: rlinf run RECIPE cluster.address={record.address} cluster.num_nodes=N")


@cluster.command("start", context_settings=CONTEXT)
@click.option("--head", is_flag=True, help="Start the head node (otherwise the launcher's rank decides).")
@click.option("--address", default=None, help="Join the head at HOST:PORT (the same as `rlinf cluster join`).")
@click.option("--port", type=click.IntRange(1, 65535), default=nodes.DEFAULT_PORT, show_default=True, help="The head's port.")
@_resources
def start(
    head: bool, address: Optional[str], port: int, num_cpus: Optional[int], num_gpus: Optional[int], timeout: float,
    node_ip: Optional[str],
) -> None:
    """Start this machine's Ray node in the background.

    With --head it starts the head; with --address it joins one; with neither it reads the
    launcher: rank 0 (NODE_RANK, RANK, SLURM_NODEID or SLURM_PROCID) starts the head on --port
    and the others join MASTER_ADDR (or the first host of SLURM_JOB_NODELIST) on that port.
    """
    if head and address:
        raise click.UsageError("--head starts a head node; --address joins one: give one of them.")
    if head:
        role = nodes.NodeRole(True, None, "--head")
    elif address:
        role = nodes.NodeRole(False, address, "--address")
    else:
        role = nodes.launcher_role(os.environ, port)
    click.echo(f"starting a {'head' if role.head else 'worker'} node ({role.why})", err=True)
    _report_started(nodes.start_node(role, port, num_cpus, num_gpus, timeout, node_ip))


@cluster.command("join", context_settings=CONTEXT)
@click.argument("address")
@_resources
def join(address: str, num_cpus: Optional[int], num_gpus: Optional[int], timeout: float, node_ip: Optional[str]) -> None:
    """Join this machine to the cluster whose head is at ADDRESS (HOST:PORT)."""
    if ":" not in address:
        raise click.BadParameter(f"{address!r} is not HOST:PORT (the head prints its address when it starts).")
    port = int(address.rsplit(":", 1)[1])
    role = nodes.NodeRole(False, address, "join")
    _report_started(nodes.start_node(role, port, num_cpus, num_gpus, timeout, node_ip))


def _summary(alive: List[Dict[str, Any]]) -> str:
    cpus = sum(int(n.get("Resources", {}).get("CPU", 0)) for n in alive)
    gpus = sum(int(n.get("Resources", {}).get("GPU", 0)) for n in alive)
    return f"{len(alive)} node(s), {cpus} CPUs, {gpus} GPUs"


@cluster.command("wait", context_settings=CONTEXT)
@click.option("--nodes", "want_nodes", type=click.IntRange(min=1), required=True, help="Alive nodes to wait for.")
@click.option("--gpus", "want_gpus", type=click.IntRange(min=0), default=0, show_default=True, help="GPUs in total to wait for.")
@click.option("--timeout", type=click.FloatRange(min=0), default=300.0, show_default=True, help="Give up after this many seconds (exit 1).")
@click.option("--address", default=None, help="The cluster (default: RAY_ADDRESS, the node started here, or 'auto').")
def wait(want_nodes: int, want_gpus: int, timeout: float, address: Optional[str]) -> None:
    """Wait until the cluster has --nodes alive nodes (and --gpus GPUs); exit 1 on timeout."""
    address = address or nodes.default_address()
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        alive = [n for n in nodes.cluster_nodes(address) if n.get("Alive")]
        now = _summary(alive)
        if now != last:
            click.echo(f"{address}: {now}", err=True)
            last = now
        if len(alive) >= want_nodes and sum(int(n.get("Resources", {}).get("GPU", 0)) for n in alive) >= want_gpus:
            click.echo(f"ready: {now}")
            return
        if time.monotonic() > deadline:
            raise click.ClickException(
                f"the cluster at {address} has {now} after {timeout:.0f}s; waited for {want_nodes} node(s)"
                + (f" and {want_gpus} GPUs" if want_gpus else "") + ". Check `rlinf cluster status` and the nodes' logs."
            )
        time.sleep(1.0)


@cluster.command("status", context_settings=CONTEXT)
@click.option("--address", default=None, help="The cluster (default: RAY_ADDRESS, the node started here, or 'auto').")
def status(address: Optional[str]) -> None:
    """The cluster's nodes (alive and lost) and the nodes this machine started."""
    address = address or nodes.default_address()
    rows = nodes.cluster_nodes(address)
    click.echo(f"cluster {address}: {_summary([n for n in rows if n.get('Alive')])}")
    for n in rows:
        res = n.get("Resources", {})
        click.echo(
            f"  {'alive' if n.get('Alive') else 'LOST '}  {str(n.get('NodeID', ''))[:12]}  {n.get('NodeManagerAddress', '?')}"
            f"  CPU {int(res.get('CPU', 0))}  GPU {int(res.get('GPU', 0))}"
        )
    for record in nodes.recorded_nodes():
        click.echo(f"started here: {record.role} node, pid {record.pid}, log {record.log}")


@cluster.command("stop", context_settings=CONTEXT)
@click.option("--force", is_flag=True, help="SIGKILL at once instead of a graceful stop.")
@click.option("--grace", type=click.FloatRange(min=0), default=20.0, show_default=True, help="Seconds before SIGKILL.")
def stop(force: bool, grace: float) -> None:
    """Stop the nodes `rlinf cluster start`/`join` started on this machine (other Ray processes are left alone)."""
    records = nodes.recorded_nodes()
    if not records:
        click.echo("no node started by `rlinf cluster` is running on this machine")
        return
    for record in nodes.stop_nodes(records, grace=grace, force=force):
        click.echo(f"stopped the {record.role} node (pid {record.pid})")
