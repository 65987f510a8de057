"""Component placement: which devices each component (actor, rollout, reward, ...) uses.

Follows RLinf's ``cluster.component_placement`` syntax: ``"actor,rollout,reward: all"``
places all three on every device (collocated: they time-share), ``"rollout: 0-1, actor:
2-3"`` gives them disjoint devices (disaggregated: stages stream through channels); mixing
both is hybrid. A mapping ``{"actor,rollout": "all", "reward": 3}`` works too. Devices are
GPUs when ``cluster.num_gpus_per_node > 0``, else CPUs, numbered globally across nodes.

Deviation from RLinf: a rank may span several devices (``cluster.devices_per_rank``), which
on CPU means a multi-threaded rank; RLinf derives that from tensor-parallel sizes only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from rlinf_core.errors import PlacementError, did_you_mean

FIELD = "cluster.component_placement"
_NAME = re.compile(r"^[A-Za-z_][\w\-]*$")
_DEVICES = re.compile(r"^(all|\d+|\d+\s*-\s*\d+)$")


@dataclass(frozen=True)
class RankPlacement:
    """Where one rank of a component runs."""

    rank: int
    node: int
    devices: Tuple[int, ...]  # global device ids
    local_devices: Tuple[int, ...]  # ids within the node (CUDA_VISIBLE_DEVICES on GPUs)
    cpu_share: float  # CPUs to request from Ray: time-shared devices are split between components
    num_threads: int  # torch threads for this rank


@dataclass(frozen=True)
class ComponentPlacement:
    """The parsed placement over a cluster of ``num_nodes`` × ``devices_per_node`` devices."""

    components: Dict[str, Tuple[int, ...]]
    device_type: str  # "cpu" or "gpu"
    num_nodes: int
    devices_per_node: int
    cpus_per_node: int
    devices_per_rank: Dict[str, int]

    @property
    def num_devices(self) -> int:
        return self.num_nodes * self.devices_per_node

    @property
    def mode(self) -> str:
        """``collocated`` (all share every device), ``disaggregated`` (no device shared) or ``hybrid``."""
        sets = [set(d) for d in self.components.values()]
        if all(s == sets[0] for s in sets):
            return "collocated"
        shared = any(a & b for i, a in enumerate(sets) for b in sets[i + 1 :])
        return "hybrid" if shared else "disaggregated"

    def share_devices(self, a: str, b: str) -> bool:
        """Whether components ``a`` and ``b`` time-share at least one device."""
        return bool(set(self.components.get(a, ())) & set(self.components.get(b, ())))

    def sharers(self, device: int) -> int:
        """How many components time-share ``device``."""
        return sum(device in devs for devs in self.components.values())

    def require(self, names: Sequence[str]) -> None:
        """Fail clearly when a component the flow needs has no devices."""
        for name in names:
            if name not in self.components:
                have = ", ".join(sorted(self.components))
                raise PlacementError(
                    f"`{FIELD}` places no '{name}' component (it places: {have}).{did_you_mean(name, self.components)} "
                    f"Add it, e.g. '{','.join(names)}: all'."
                )

    def ranks(self, component: str) -> List[RankPlacement]:
        """One entry per rank: each rank spans ``devices_per_rank[component]`` devices on one node."""
        self.require([component])
        devices = self.components[component]
        per_rank = self.devices_per_rank.get(component, 1)
        if len(devices) % per_rank:
            raise PlacementError(
                f"'{component}' has {len(devices)} devices in `{FIELD}`, not a multiple of "
                f"`cluster.devices_per_rank.{component}`={per_rank}."
            )
        out = []
        cpus_per_device = self.cpus_per_node / self.devices_per_node
        for r in range(len(devices) // per_rank):
            devs = devices[r * per_rank : (r + 1) * per_rank]
            nodes = {d // self.devices_per_node for d in devs}
            if len(nodes) > 1:
                raise PlacementError(
                    f"Rank {r} of '{component}' would span devices {list(devs)} on several nodes; "
                    f"a rank must stay on one node. Adjust `{FIELD}` or `cluster.devices_per_rank`."
                )
            share = sum(cpus_per_device / self.sharers(d) for d in devs)
            threads = max(1, int(round(cpus_per_device * len(devs))))
            out.append(
                RankPlacement(
                    rank=r,
                    node=nodes.pop(),
                    devices=tuple(devs),
                    local_devices=tuple(d % self.devices_per_node for d in devs),
                    # Rounded down: the shares of time-sharing components must never add up to
                    # more than the bundle holds, or the last rank would wait forever.
                    cpu_share=math.floor(share * 10_000) / 10_000,
                    num_threads=threads,
                )
            )
        return out

    def describe(self) -> Dict[str, Any]:
        return {
            "mode": self.mode,
            "device_type": self.device_type,
            "num_devices": self.num_devices,
            "num_nodes": self.num_nodes,
            "components": {
                name: {
                    "devices": _format_devices(devs),
                    "ranks": len(self.ranks(name)),
                    "nodes": _format_devices(sorted({r.node for r in self.ranks(name)})),
                }
                for name, devs in self.components.items()
            },
        }


def _format_devices(devs: Sequence[int]) -> str:
    if list(devs) == list(range(devs[0], devs[-1] + 1)):
        return f"{devs[0]}-{devs[-1]}" if len(devs) > 1 else str(devs[0])
    return ",".join(map(str, devs))


def _parse_devices(token: str, num_devices: int, kind: str) -> List[int]:
    token = token.strip()
    if not _DEVICES.match(token):
        raise PlacementError(
            f"Bad device range '{token}' in `{FIELD}`: use 'all', a device id like '2', or a range like '0-3'."
        )
    if token == "all":
        return list(range(num_devices))
    if "-" in token:
        lo, hi = (int(x) for x in token.split("-"))
        if lo > hi:
            raise PlacementError(f"Bad device range '{token}' in `{FIELD}`: the start is after the end.")
    else:
        lo = hi = int(token)
    if hi >= num_devices:
        raise PlacementError(
            f"`{FIELD}` asks for {kind} {hi}, but the cluster has {num_devices} {kind}s (ids 0-{num_devices - 1}). "
            f"Lower the range or raise cluster.num_nodes / cluster.num_{'gpus' if kind == 'GPU' else 'cpus'}_per_node."
        )
    return list(range(lo, hi + 1))


def _entries_from_string(spec: str) -> List[Tuple[List[str], List[str]]]:
    entries: List[Tuple[List[str], List[str]]] = []
    names: List[str] = []
    devs: List[str] | None = None
    for piece in (p.strip() for p in re.split(r"[,\n;]", spec)):
        if not piece:
            continue
        if ":" in piece:
            left, _, right = piece.partition(":")
            if ":" in right:
                raise PlacementError(f"Bad entry '{piece}' in `{FIELD}`: separate entries with commas.")
            if devs is not None:
                entries.append((names, devs))
                names, devs = [], None
            names.append(left.strip())
            devs = [right.strip()]
        elif devs is None:
            names.append(piece)
        elif _DEVICES.match(piece):
            devs.append(piece)
        else:
            entries.append((names, devs))
            names, devs = [piece], None
    if devs is None:
        if names:
            raise PlacementError(
                f"Components {names} in `{FIELD}` have no devices: write e.g. '{','.join(names)}: all'."
            )
    else:
        entries.append((names, devs))
    return entries


def parse_placement(
    spec: Any,
    *,
    num_nodes: int = 1,
    num_gpus_per_node: int = 0,
    cpus_per_node: int = 1,
    devices_per_rank: Mapping[str, int] | None = None,
) -> ComponentPlacement:
    """Parse ``cluster.component_placement`` (string or mapping) against the cluster's size."""
    device_type = "gpu" if num_gpus_per_node > 0 else "cpu"
    per_node = num_gpus_per_node if device_type == "gpu" else cpus_per_node
    kind = "GPU" if device_type == "gpu" else "CPU"
    num_devices = num_nodes * per_node
    if isinstance(spec, Mapping):
        entries = [([n.strip() for n in str(k).split(",")], [t for t in str(v).split(",")]) for k, v in spec.items()]
    elif isinstance(spec, str) and spec.strip():
        entries = _entries_from_string(spec)
    else:
        raise PlacementError(
            f"`{FIELD}` must be a string like 'actor,rollout,reward: all' or a mapping, not {spec!r}."
        )
    components: Dict[str, Tuple[int, ...]] = {}
    for names, tokens in entries:
        devices = sorted({d for t in tokens for d in _parse_devices(t, num_devices, kind)})
        for name in names:
            if not _NAME.match(name):
                raise PlacementError(f"Bad component name '{name}' in `{FIELD}`: use letters, digits, '_' or '-'.")
            if name in components:
                raise PlacementError(f"Component '{name}' appears twice in `{FIELD}`; give it one device list.")
            components[name] = tuple(devices)
    per_rank = dict(devices_per_rank or {})
    for name, n in per_rank.items():
        if n < 1:
            raise PlacementError(f"`cluster.devices_per_rank.{name}` must be >= 1, got {n}.")
    return ComponentPlacement(
        components=components,
        device_type=device_type,
        num_nodes=num_nodes,
        devices_per_node=per_node,
        cpus_per_node=cpus_per_node,
        devices_per_rank=per_rank,
    )
