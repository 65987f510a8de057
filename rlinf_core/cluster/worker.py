"""Workers and worker groups on Ray.

A :class:`Worker` is a plain class; a :class:`WorkerGroup` launches N ranks of it as Ray
actors (into a placement group when given one) and calls a method on all ranks or chosen
ones, returning a :class:`GroupFuture`. The worker class travels as an import path
("module:Class") and is imported inside the actor, so no plugin code is pickled.

Failures never hang the driver: a rank that raises surfaces as :class:`WorkerError`
naming group, rank, method and the remote traceback; a rank whose process dies
(``os._exit``, OOM kill, segfault) surfaces the same way as soon as Ray notices.
"""

from __future__ import annotations

import importlib
import os
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from rlinf_core.cluster.placement import ComponentPlacement, RankPlacement
from rlinf_core.errors import WorkerError


@dataclass(frozen=True)
class WorkerContext:
    """What a rank knows about itself."""

    group: str = "local"
    rank: int = 0
    world_size: int = 1
    node: int = 0
    devices: Tuple[int, ...] = ()
    device_type: str = "cpu"
    num_threads: int = 1
    extra: Dict[str, Any] = field(default_factory=dict)


class Worker:
    """Base class of everything a WorkerGroup runs. Public methods are callable from the driver."""

    _ctx: WorkerContext = WorkerContext()

    @property
    def context(self) -> WorkerContext:
        return self._ctx

    @property
    def rank(self) -> int:
        return self._ctx.rank

    @property
    def world_size(self) -> int:
        return self._ctx.world_size

    @property
    def group_name(self) -> str:
        return self._ctx.group

    def ping(self) -> int:
        """Liveness check: returns the rank."""
        return self.rank

    def memory(self) -> Dict[str, int]:
        """This rank's process memory in bytes: ``rss`` now and ``peak`` (high-water mark) so far."""
        return process_memory()


def process_memory() -> Dict[str, int]:
    """Resident and peak resident memory of this process (Linux /proc; zeros where it is absent)."""
    found = {"rss": 0, "peak": 0}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:  # e.g. "VmRSS:\t  123456 kB"
                name, _, value = line.partition(":")
                key = {"VmRSS": "rss", "VmHWM": "peak"}.get(name)
                if key:
                    found[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return found


def set_thread_count(n: int) -> None:
    """Limit intra-op threads to this rank's CPU share (torch, if this process has it, and OpenMP)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(n)


def _import_path(cls: type) -> str:
    if "<locals>" in cls.__qualname__:
        raise TypeError(f"worker class {cls.__qualname__} must be defined at module level (importable by name)")
    return f"{cls.__module__}:{cls.__qualname__}"


def _import_class(path: str) -> type:
    module_name, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


MAX_SPANS = 100_000


class _RankHost:
    """The Ray actor behind one rank: builds the worker inside its own process and dispatches calls."""

    def __init__(self, class_path: str, ctx: WorkerContext, args: tuple, kwargs: dict):
        set_thread_count(ctx.num_threads)
        cls = _import_class(class_path)
        worker = cls.__new__(cls)
        worker._ctx = ctx
        self.spans: List[Tuple[str, float, float]] = []
        start = time.time()
        worker.__init__(*args, **kwargs)
        self.worker = worker
        self.spans.append(("__init__", start, time.time()))

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        # Arguments arrive unpacked so that Ray resolves ObjectRefs among them (data passed
        # from another group moves straight from the object store to this process).
        start = time.time()
        try:
            return getattr(self.worker, method)(*args, **kwargs)
        finally:
            if len(self.spans) < MAX_SPANS:  # bounded if nobody drains them
                self.spans.append((method, start, time.time()))

    def drain_spans(self) -> List[Tuple[str, float, float]]:
        """The (method, start, end) wall-clock spans of the calls since the last drain."""
        spans, self.spans = self.spans, []
        return spans

    def node_id(self) -> str:
        """The Ray node this rank runs on (to name the components a lost node took with it)."""
        import ray

        return ray.get_runtime_context().get_node_id()


class GroupFuture:
    """Results of one call on several ranks; :meth:`wait` gathers them or raises the first failure."""

    def __init__(self, group: str, method: str, ranks: List[int], refs: List[Any]):
        self.group = group
        self.method = method
        self.ranks = ranks
        self.refs = refs

    def wait(self, timeout: Optional[float] = None) -> List[Any]:
        """Results in rank order. Raises WorkerError for the first rank that fails, as soon as it fails."""
        results: List[Any] = [None] * len(self.refs)
        for index, value in self._completed(timeout):
            results[index] = value
        return results

    def as_completed(self, timeout: Optional[float] = None) -> Iterator[Tuple[int, Any]]:
        """``(rank, result)`` pairs as ranks finish (not in rank order); raises like :meth:`wait`."""
        for index, value in self._completed(timeout):
            yield self.ranks[index], value

    def _completed(self, timeout: Optional[float]) -> Iterator[Tuple[int, Any]]:
        import ray

        index_of = {ref: i for i, ref in enumerate(self.refs)}
        pending = list(self.refs)
        deadline = None if timeout is None else time.monotonic() + timeout
        while pending:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, pending = ray.wait(pending, num_returns=1, timeout=left)
            if not ready:
                raise TimeoutError(
                    f"worker group '{self.group}' ranks {sorted(self.ranks[index_of[r]] for r in pending)} "
                    f"did not finish {self.method}() within {timeout}s"
                )
            for ref in ready:
                try:
                    value = ray.get(ref)
                except Exception as exc:
                    raise _as_worker_error(exc, self.group, self.ranks[index_of[ref]], self.method) from None
                yield index_of[ref], value


def _as_worker_error(exc: Exception, group: str, rank: int, method: str) -> WorkerError:
    from ray import exceptions as rex

    if isinstance(exc, rex.RayTaskError):
        cause = exc.cause if getattr(exc, "cause", None) is not None else exc
        tb = str(exc)
        return WorkerError(group, rank, method, f"{type(cause).__name__}: {cause}".splitlines()[0], tb)
    if isinstance(exc, rex.RayActorError):
        detail = str(exc).strip().splitlines()
        reason = next((line for line in detail if "exit" in line.lower() or "died" in line.lower()), detail[0] if detail else "")
        return WorkerError(group, rank, method, f"the worker process died ({type(exc).__name__}): {reason}", str(exc))
    return WorkerError(group, rank, method, f"{type(exc).__name__}: {exc}")


class WorkerGroup:
    """N ranks of one worker class as Ray actors."""

    def __init__(self, name: str, actors: List[Any], contexts: List[WorkerContext]):
        self.name = name
        self._actors = actors
        self.contexts = contexts
        self._starting: Tuple[str, Dict[str, Any]] = ("Worker", {})  # (worker class, resources asked): set by start()
        self.node_ids: List[str] = []  # the Ray node of each rank, known once started

    @property
    def world_size(self) -> int:
        return len(self._actors)

    @classmethod
    def launch(cls, worker_cls: type, name: str, *, startup_timeout: float = 300.0, **start: Any) -> "WorkerGroup":
        """Start the ranks and wait until each has built its worker (:meth:`start` then
        :meth:`wait_started`; ``start`` takes :meth:`start`'s keyword arguments)."""
        return cls.start(worker_cls, name, **start).wait_started(startup_timeout)

    @classmethod
    def start(
        cls,
        worker_cls: type,
        name: str,
        *,
        args: Sequence[Any] = (),
        kwargs: Optional[Dict[str, Any]] = None,
        placement: Optional[ComponentPlacement] = None,
        component: Optional[str] = None,
        placement_group: Any = None,
        num_ranks: int = 1,
        num_cpus_per_rank: float = 1.0,
        env_vars: Optional[Dict[str, str]] = None,
    ) -> "WorkerGroup":
        """Start the ranks and return at once: the workers build while the caller goes on (e.g.
        starts the other components' groups, so their imports and model loads overlap); call
        :meth:`wait_started` before using the group.

        With ``placement`` (and ``component``), one rank per placement rank, scheduled in
        that node's bundle of ``placement_group``; otherwise ``num_ranks`` ranks of
        ``num_cpus_per_rank`` CPUs each.
        """
        import ray

        if not issubclass(worker_cls, Worker):
            raise TypeError(f"{worker_cls.__name__} must subclass rlinf_core.Worker")
        class_path = _import_path(worker_cls)
        if placement is not None:
            ranks: List[Optional[RankPlacement]] = list(placement.ranks(component or name))
            device_type = placement.device_type
        else:
            ranks = [None] * num_ranks
            device_type = "cpu"
        world = len(ranks)
        remote_host = ray.remote(_RankHost)
        actors, contexts = [], []
        for i, rp in enumerate(ranks):
            options, threads = _rank_options(rp, device_type, placement_group, num_cpus_per_rank, env_vars)
            ctx = WorkerContext(
                group=name,
                rank=i,
                world_size=world,
                node=rp.node if rp else 0,
                devices=rp.devices if rp else (),
                device_type=device_type,
                num_threads=threads,
            )
            actors.append(
                remote_host.options(name=None, max_concurrency=1, **options).remote(
                    class_path, ctx, tuple(args), dict(kwargs or {})
                )
            )
            contexts.append(ctx)
        group = cls(name, actors, contexts)
        group._starting = (worker_cls.__name__, {k: options[k] for k in ("num_cpus", "num_gpus")})
        return group

    def wait_started(self, timeout: float = 300.0) -> "WorkerGroup":
        """Wait until every rank has built its worker; on failure shut the group down and raise,
        naming the rank (a constructor that raised) or the resources asked (a rank never scheduled)."""
        import ray

        worker, asked = self._starting
        try:
            self.call("ping").wait(timeout=timeout)
            self.node_ids = ray.get([a.node_id.remote() for a in self._actors])
        except WorkerError as exc:
            self.shutdown()
            raise WorkerError(self.name, exc.rank, f"{worker}.__init__", exc.cause, exc.remote_traceback) from None
        except TimeoutError as exc:
            self.shutdown()
            raise TimeoutError(
                f"{exc}. A rank that never starts usually waits for resources: it asked for {asked}; "
                f"Ray has {ray.available_resources()} free."
            ) from None
        return self

    def call(self, method: str, *args: Any, ranks: Optional[Sequence[int]] = None, **kwargs: Any) -> GroupFuture:
        """Call ``method`` on all ranks (or ``ranks``) with the same arguments; returns at once.

        An argument that is an ``ObjectRef`` (e.g. another group's result) reaches the rank
        as its value, fetched by the rank from the object store, not through the driver.
        """
        chosen = list(range(self.world_size)) if ranks is None else list(ranks)
        for r in chosen:
            if not 0 <= r < self.world_size:
                raise IndexError(f"worker group '{self.name}' has ranks 0-{self.world_size - 1}, not {r}")
        refs = [self._actors[r].call.remote(method, *args, **kwargs) for r in chosen]
        return GroupFuture(self.name, method, chosen, refs)

    def call_each(self, method: str, per_rank_args: Sequence[Sequence[Any]]) -> GroupFuture:
        """Call ``method`` on rank i with ``per_rank_args[i]`` (e.g. a shard of a batch)."""
        if len(per_rank_args) != self.world_size:
            raise ValueError(f"{len(per_rank_args)} argument lists for {self.world_size} ranks of '{self.name}'")
        refs = [a.call.remote(method, *args) for a, args in zip(self._actors, per_rank_args)]
        return GroupFuture(self.name, method, list(range(self.world_size)), refs)

    def call_split(self, method: str, calls: Sequence[Tuple[int, Sequence[Any]]]) -> Tuple[List[Any], GroupFuture]:
        """Make ``calls`` ((rank, args) pairs; a rank may appear several times and runs its calls
        in this order) of ``method``, which returns ``(data, summary)``.

        The data stays in the object store: its references come back at once, in call order, to
        be passed on to another group (which fetches them itself, one hop). The summaries come
        back as a future whose :meth:`GroupFuture.wait` lists them in call order and raises as
        usual, naming this group's failing rank.
        """
        data, summaries = [], []
        for r, args in calls:
            if not 0 <= r < self.world_size:
                raise IndexError(f"worker group '{self.name}' has ranks 0-{self.world_size - 1}, not {r}")
            ref, summary = self._actors[r].call.options(num_returns=2).remote(method, *args)
            data.append(ref)
            summaries.append(summary)
        return data, GroupFuture(self.name, method, [r for r, _ in calls], summaries)

    def drain_spans(self) -> List[List[Tuple[str, float, float]]]:
        """Per rank, the (method, start, end) spans of its calls since the last drain (for the timeline)."""
        import ray

        return ray.get([a.drain_spans.remote() for a in self._actors])

    def execute(self, method: str, *args: Any, timeout: Optional[float] = None, **kwargs: Any) -> List[Any]:
        """``call(...).wait()`` in one go."""
        return self.call(method, *args, **kwargs).wait(timeout=timeout)

    def shutdown(self) -> None:
        import ray

        for actor in self._actors:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # already dead: nothing left to release
                pass
        self._actors = []


def _rank_options(
    rp: Optional[RankPlacement], device_type: str, placement_group: Any, num_cpus_per_rank: float,
    env_vars: Optional[Dict[str, str]],
) -> Tuple[Dict[str, Any], int]:
    """Ray actor options for one rank (CPU share, thread counts, GPU pinning, bundle) and its thread count."""
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    env = dict(env_vars or {})
    threads = rp.num_threads if rp else max(1, int(num_cpus_per_rank))
    env.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)})
    options: Dict[str, Any] = {"num_cpus": rp.cpu_share if rp else num_cpus_per_rank, "num_gpus": 0}
    if rp is not None and device_type == "gpu":
        # Ray would hide every GPU from a 0-GPU actor; rlinf pins devices itself so that
        # collocated components can share one GPU.
        env["RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES"] = "1"
        env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, rp.local_devices))
    if rp is not None and placement_group is not None:
        options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
            placement_group=placement_group, placement_group_bundle_index=rp.node
        )
    options["runtime_env"] = {"env_vars": env}
    return options, threads
