"""Channels: named FIFO queues between worker groups that hold Ray object references.

A producer ``put``s an item: it is stored once in Ray's object store and the channel
queues only the reference (wrapped in a list so Ray does not resolve it on the way), so
the data moves once, from producer to consumer. ``maxsize`` bounds the queue: ``put``
waits while it is full (backpressure). ``get_batch(target_weight)`` takes items in order
until their weights add up to the target, so a consumer can start on work as it arrives
(pipelining). A :class:`Channel` handle pickles, so it can be passed to workers.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any, Deque, List, Optional, Tuple

from rlinf_core.errors import ChannelClosed, ChannelTimeout


class _ChannelActor:
    """The queue itself: an async Ray actor so blocked getters and putters wait without a thread each."""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self.items: Deque[Tuple[list, float]] = collections.deque()
        self.closed = False
        self.cond = asyncio.Condition()

    async def put(self, wrapped_ref: list, weight: float, timeout: Optional[float]) -> None:
        async with self.cond:
            if self.closed:
                raise ChannelClosed("put() on a closed channel")
            if self.maxsize > 0:
                await self._wait_for(lambda: len(self.items) < self.maxsize or self.closed, timeout, "put")
                if self.closed:
                    raise ChannelClosed("put() on a closed channel")
            self.items.append((wrapped_ref, weight))
            self.cond.notify_all()

    async def get(self, timeout: Optional[float]) -> list:
        async with self.cond:
            await self._wait_for(lambda: bool(self.items) or self.closed, timeout, "get")
            if not self.items:
                raise ChannelClosed("channel closed and empty")
            wrapped, _ = self.items.popleft()
            self.cond.notify_all()
            return wrapped

    async def get_batch(self, target_weight: float, timeout: Optional[float]) -> List[list]:
        out: List[list] = []
        got = 0.0
        async with self.cond:
            while got < target_weight:
                await self._wait_for(lambda: bool(self.items) or self.closed, timeout, "get_batch")
                if not self.items:
                    if out:
                        break  # closed: hand over the partial batch, the next call raises
                    raise ChannelClosed("channel closed and empty")
                wrapped, weight = self.items.popleft()
                out.append(wrapped)
                got += weight
                self.cond.notify_all()
        return out

    async def _wait_for(self, predicate: Any, timeout: Optional[float], what: str) -> None:
        try:
            await asyncio.wait_for(self.cond.wait_for(predicate), timeout)
        except asyncio.TimeoutError:
            raise ChannelTimeout(f"channel {what}() waited more than {timeout}s") from None

    async def close(self) -> None:
        async with self.cond:
            self.closed = True
            self.cond.notify_all()

    async def qsize(self) -> int:
        return len(self.items)


class Channel:
    """Handle to a channel actor; create it once, then pass the handle (or its name) around."""

    def __init__(self, name: str, actor: Any):
        self.name = name
        self._actor = actor

    @classmethod
    def create(cls, name: str, maxsize: int = 0) -> "Channel":
        """A new named channel; ``maxsize`` 0 means unbounded."""
        import ray

        actor = ray.remote(_ChannelActor).options(name=f"rlinf-channel:{name}", num_cpus=0, max_concurrency=1000)
        return cls(name, actor.remote(maxsize))

    @classmethod
    def connect(cls, name: str) -> "Channel":
        """The channel another process created under ``name``."""
        import ray

        return cls(name, ray.get_actor(f"rlinf-channel:{name}"))

    def put(self, item: Any, weight: float = 1.0, timeout: Optional[float] = None) -> None:
        """Store ``item`` in the object store and queue its reference; waits while the channel is full."""
        import ray

        ref = item if isinstance(item, ray.ObjectRef) else ray.put(item)
        self._call(self._actor.put.remote([ref], float(weight), timeout))

    def get(self, timeout: Optional[float] = None) -> Any:
        """The oldest item (FIFO); waits until one arrives."""
        import ray

        wrapped = self._call(self._actor.get.remote(timeout))
        return ray.get(wrapped[0])

    def get_batch(self, target_weight: float, timeout: Optional[float] = None) -> List[Any]:
        """Oldest items, in order, until their weights reach ``target_weight``."""
        import ray

        wrapped = self._call(self._actor.get_batch.remote(float(target_weight), timeout))
        return ray.get([w[0] for w in wrapped])

    def qsize(self) -> int:
        import ray

        return ray.get(self._actor.qsize.remote())

    def close(self) -> None:
        """Wake every waiter; gets drain what is left, then raise ChannelClosed."""
        import ray

        ray.get(self._actor.close.remote())

    def shutdown(self) -> None:
        import ray

        ray.kill(self._actor, no_restart=True)

    @staticmethod
    def _call(ref: Any) -> Any:
        import ray
        from ray.exceptions import RayTaskError

        try:
            return ray.get(ref)
        except RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, (ChannelTimeout, ChannelClosed)):
                raise type(cause)(str(cause)) from None
            raise
