"""Ray nodes on this machine for a multi-node run: start a head, join one, wait, report, stop.

Built on Ray's own ``ray start`` (no scheduler of ours). Each node is a ``ray start --block``
process started in its own session, its output in a log file and its pid in a state file
under ``$RLINF_CACHE/cluster`` (default ``~/.cache/rlinf/cluster``), named by host so that a
home folder shared by the machines keeps each machine to its own nodes. ``--block`` makes Ray
tie the node's daemons to that process (and spawn a reaper), so :func:`stop_nodes` ends
exactly the nodes ``rlinf cluster start`` made here, where Ray's ``ray stop`` would end every
Ray process of the user on the machine (another run's embedded Ray included).

One script for every node: without ``--head`` or an address, :func:`launcher_role` reads the
rank and head host that launchers set (torchrun/PyTorch ``NODE_RANK``/``RANK`` and
``MASTER_ADDR``; Slurm ``SLURM_NODEID``/``SLURM_PROCID`` and ``SLURM_JOB_NODELIST``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Mapping, Optional, Sequence

from rlinf_core.errors import ConfigError, PlacementError

RANK_VARS = ("NODE_RANK", "RANK", "SLURM_NODEID", "SLURM_PROCID")
DEFAULT_PORT = 6379
_STARTED = "Ray runtime started"


@dataclass
class NodeRecord:
    """A node ``rlinf cluster start`` launched on this machine."""

    pid: int
    role: str  # "head" or "worker"
    address: str  # the head's HOST:PORT
    log: str
    started: float
    host: str  # the machine it runs on: a shared home folder holds every machine's records


@dataclass
class NodeRole:
    head: bool
    address: Optional[str]  # the head to join (workers)
    why: str  # where the role came from, for the log line


def state_dir() -> str:
    root = os.environ.get("RLINF_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "rlinf")
    return os.path.join(root, "cluster")


def first_slurm_host(nodelist: str) -> str:
    """The first host of a Slurm node list: ``gpu[07-09,12],cpu1`` -> ``gpu07``."""
    match = re.match(r"^([^,\[]+)(?:\[([^\]]+)\])?", nodelist.strip())
    if not match:
        raise ConfigError(f"Cannot read the first host of SLURM_JOB_NODELIST={nodelist!r}.")
    prefix, ranges = match.group(1), match.group(2)
    return prefix + ranges.split(",")[0].split("-")[0] if ranges else prefix


def launcher_role(env: Mapping[str, str], port: int) -> NodeRole:
    """Head or worker from the launcher's variables: rank 0 starts the head, the others join it."""
    var = next((v for v in RANK_VARS if env.get(v, "").strip()), None)
    if var is None:
        raise ConfigError(
            "`rlinf cluster start` needs --head, --address HOST:PORT, or a launcher's rank variable "
            f"({', '.join(RANK_VARS)}) with MASTER_ADDR or SLURM_JOB_NODELIST naming the head host."
        )
    try:
        rank = int(env[var])
    except ValueError as exc:
        raise ConfigError(f"{var}={env[var]!r} is not a node rank (an integer).") from exc
    if rank == 0:
        return NodeRole(True, None, f"{var}=0")
    if env.get("MASTER_ADDR", "").strip():
        host, source = env["MASTER_ADDR"].strip(), "MASTER_ADDR"
    elif env.get("SLURM_JOB_NODELIST", "").strip():
        host, source = first_slurm_host(env["SLURM_JOB_NODELIST"]), "SLURM_JOB_NODELIST"
    else:
        raise ConfigError(f"{var}={rank} joins the head node, but neither MASTER_ADDR nor SLURM_JOB_NODELIST names it.")
    return NodeRole(False, f"{host}:{port}", f"{var}={rank}, head from {source}")


def ray_start_args(
    role: NodeRole, port: int, num_cpus: Optional[int], num_gpus: Optional[int], node_ip: Optional[str] = None
) -> List[str]:
    """The ``ray start`` command line for this node (always ``--block``: see the module docstring)."""
    args = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", "--disable-usage-stats"]
    args += ["--head", f"--port={port}", "--include-dashboard=false"] if role.head else [f"--address={role.address}"]
    if num_cpus is not None:
        args.append(f"--num-cpus={num_cpus}")
    if num_gpus is not None:
        args.append(f"--num-gpus={num_gpus}")
    if node_ip:
        args.append(f"--node-ip-address={node_ip}")
    return args


def _tail(path: str, lines: int = 12) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError:
        return ""


def start_node(
    role: NodeRole, port: int, num_cpus: Optional[int], num_gpus: Optional[int], timeout: float,
    node_ip: Optional[str] = None,
) -> NodeRecord:
    """Start this machine's node in the background; return once Ray reports it started."""
    os.makedirs(state_dir(), exist_ok=True)
    log = os.path.join(state_dir(), f"node-{socket.gethostname()}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log")
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ray_start_args(role, port, num_cpus, num_gpus, node_ip), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while _STARTED not in _tail(log, 200):
        if proc.poll() is not None:
            raise PlacementError(f"`ray start` exited with code {proc.returncode} (log: {log}):\n{_tail(log)}")
        if time.monotonic() > deadline:
            _signal(proc.pid, signal.SIGKILL, group=True)
            raise PlacementError(f"`ray start` did not report a started node within {timeout:.0f}s (log: {log}):\n{_tail(log)}")
        time.sleep(0.2)
    address = _head_address(log, port) if role.head else str(role.address)
    record = NodeRecord(proc.pid, "head" if role.head else "worker", address, log, time.time(), socket.gethostname())
    with open(_record_path(proc.pid), "w") as fh:
        json.dump(asdict(record), fh)
    return record


def _head_address(log: str, port: int) -> str:
    """The address Ray tells other nodes to join (its node IP, not the loopback)."""
    match = re.search(r"--address='([^']+)'", _tail(log, 200))
    return match.group(1) if match else f"127.0.0.1:{port}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our own child, not yet reaped) is not a running node
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _signal(pid: int, sig: int, group: bool) -> None:
    try:
        if group:  # the node's session: ray start, its daemons and its reaper
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _node_processes_alive(pid: int) -> bool:
    """Whether any process of the node's session (``ray start``'s process group) still runs."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return _alive(pid) or any(_alive(int(p)) for p in _group_members(pid))


def _group_members(pgid: int) -> List[str]:
    members = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().split(")")[-1].split()[2]) == pgid:
                        members.append(entry)
            except (OSError, ValueError, IndexError):
                continue
    return members


def _record_path(pid: int) -> str:
    return os.path.join(state_dir(), f"{socket.gethostname()}-{pid}.json")


def recorded_nodes() -> List[NodeRecord]:
    """Nodes started on this machine that are still running (records of finished ones are removed)."""
    folder = state_dir()
    records = []
    prefix = f"{socket.gethostname()}-"
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if not (name.startswith(prefix) and name.endswith(".json")):
            continue
        path = os.path.join(folder, name)
        try:
            with open(path) as fh:
                record = NodeRecord(**json.load(fh))
        except (OSError, ValueError, TypeError):
            continue
        if _alive(record.pid):
            records.append(record)
        else:
            os.remove(path)
    return records


def stop_nodes(records: Sequence[NodeRecord], grace: float = 20.0, force: bool = False) -> List[NodeRecord]:
    """Stop ``records``: SIGTERM to ``ray start``, which stops its node's daemons (~3 s), then
    SIGKILL to whatever of the node is left after ``grace`` seconds; ``force`` kills at once."""
    for record in records:
        _signal(record.pid, signal.SIGKILL if force else signal.SIGTERM, group=force)
    deadline = time.monotonic() + grace
    while any(_node_processes_alive(r.pid) for r in records) and time.monotonic() < deadline:
        time.sleep(0.2)
    for record in records:
        if _node_processes_alive(record.pid):
            _signal(record.pid, signal.SIGKILL, group=True)
        path = _record_path(record.pid)
        if os.path.exists(path):
            os.remove(path)
    return list(records)


def default_address() -> str:
    """The cluster to talk to: ``RAY_ADDRESS``, else the head this machine started or joined, else 'auto'."""
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    records = recorded_nodes()
    return records[0].address if records else "auto"


def cluster_nodes(address: str) -> List[Dict[str, object]]:
    """Ray's view of the cluster's nodes (alive and dead), connecting this process once."""
    import ray

    if not ray.is_initialized():
        try:
            ray.init(address=address, namespace="rlinf-cluster", logging_level="ERROR", log_to_driver=False)
        except ConnectionError as exc:
            raise PlacementError(
                f"No Ray cluster at {address!r}: {exc}. Start one with `rlinf cluster start --head`."
            ) from exc
    return list(ray.nodes())
