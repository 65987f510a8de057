"""A small pool of grader processes with a hard wall-clock deadline per verdict.

math-verify bounds its own work with ``signal.alarm``, which works only on a process's main
thread and cannot interrupt work stuck in C (``10^{10^{10^{10}}}``). So verdicts run in
child processes (:mod:`rlinf_math.grader_child`) and the parent enforces the deadline:

- work goes to the children in chunks (one message per chunk, not per verdict);
- a child reports each verdict as it finishes, so the item in flight is always known;
- when a child has not reported for ``timeout_s``, it is killed, its in-flight item is a
  TIMEOUT, the rest of its chunk goes back to the front of the queue and a fresh child is
  started (its start-up does not count against any deadline);
- a child that dies (e.g. out of memory) turns its in-flight item into an ERROR.

The pool starts on :meth:`GraderPool.start`, or else on the first :meth:`GraderPool.run`; it
is safe to share between threads (calls are serialised), and :meth:`close` stops it; every live pool is also closed
at interpreter exit, and children exit by themselves when the parent disappears.

Deviations: ``multiprocessing.Pool`` cannot kill one stuck task, so the pool is managed by
hand. Children are fresh interpreters like multiprocessing's ``spawn`` (never a fork of a
parent holding Ray/torch threads), but are launched with ``subprocess`` running the child
module as a script, talking over a ``multiprocessing.connection.Connection`` on a socket
pair: ``spawn``/``forkserver`` would re-import the parent's ``__main__`` in every child,
which fails for a script without an ``if __name__ == "__main__"`` guard (and re-runs its
imports, torch included), and unpickling the target would import rlinf.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Deque, Dict, Iterable, List, Optional, Sequence, Tuple

from rlinf_math import grader_child
from rlinf_math.grader_child import CORRECT, ERROR, INCORRECT, TIMEOUT

__all__ = ["CORRECT", "ERROR", "INCORRECT", "TIMEOUT", "GraderPool", "Item", "OutcomeCache"]

# (prediction, golds) or (prediction, golds, options): one verdict to compute.
Item = Tuple[Any, ...]

START_TIMEOUT_S = 180.0  # a child must import math-verify within this (slow on a loaded machine)


@dataclass
class _Child:
    proc: Any
    conn: Any
    started_at: float
    ready: bool = False
    in_flight: Deque[int] = field(default_factory=deque)  # item indexes sent, not yet reported
    last_event: float = 0.0


def soft_deadline(timeout_s: float) -> float:
    """The child's own (interruptible) deadline: a little under the parent's hard one."""
    return timeout_s - min(0.5, 0.2 * timeout_s)


class GraderPool:
    """``num_workers`` grader children; :meth:`run` returns one outcome per item."""

    def __init__(
        self,
        num_workers: int = 2,
        timeout_s: float = 5.0,
        chunk_size: int = 32,
        soft_timeout: bool = True,
    ) -> None:
        if num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {num_workers}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.num_workers = num_workers
        self.timeout_s = float(timeout_s)
        self.chunk_size = max(1, chunk_size)
        # The child's soft deadline; off only to exercise the kill path in tests.
        self.soft_timeout_s = soft_deadline(self.timeout_s) if soft_timeout else 1e9
        self.stats: Dict[str, int] = {"verdicts": 0, "timeouts": 0, "errors": 0, "killed": 0, "started": 0}
        self._children: List[_Child] = []
        self._lock = threading.Lock()
        _LIVE_POOLS.add(self)

    # -- lifecycle -------------------------------------------------------------------------
    def _spawn(self) -> _Child:
        parent_sock, child_sock = socket.socketpair()
        try:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    os.path.abspath(grader_child.__file__),
                    str(child_sock.fileno()),
                    str(os.getpid()),
                    repr(self.soft_timeout_s),
                ],
                pass_fds=(child_sock.fileno(),),
                stdin=subprocess.DEVNULL,
                close_fds=True,
            )
        except BaseException:
            parent_sock.close()
            raise
        finally:
            child_sock.close()
        self.stats["started"] += 1
        return _Child(proc=proc, conn=Connection(parent_sock.detach()), started_at=time.monotonic())

    def _kill(self, child: _Child) -> None:
        try:
            child.proc.kill()
            child.proc.wait(timeout=5)
        except Exception:
            pass
        try:
            child.conn.close()
        except Exception:
            pass

    def close(self) -> None:
        """Stop every child (idempotent). The pool restarts if used again."""
        with self._lock:
            for child in self._children:
                try:
                    child.conn.send(("stop",))
                except Exception:
                    pass
            deadline = time.monotonic() + 2.0
            for child in self._children:
                try:
                    child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
                if child.proc.poll() is None:
                    self._kill(child)
                else:
                    try:
                        child.conn.close()
                    except Exception:
                        pass
            self._children = []

    def __enter__(self) -> "GraderPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- running ---------------------------------------------------------------------------
    def start(self) -> None:
        """Launch the children now, without waiting for them to import math-verify."""
        with self._lock:
            while len(self._children) < self.num_workers:
                self._children.append(self._spawn())

    def run(self, items: Sequence[Item]) -> List[int]:
        """One outcome (CORRECT, INCORRECT, TIMEOUT or ERROR) per item, in order."""
        if not items:
            return []
        with self._lock:
            try:
                outcomes = self._run(items)
            except BaseException:  # interrupted: busy children hold items of this run, drop them
                for child in [c for c in self._children if c.in_flight]:
                    self._kill(child)
                    self._children.remove(child)
                raise
            self.stats["verdicts"] += len(items)
            self.stats["timeouts"] += sum(1 for o in outcomes if o == TIMEOUT)
            self.stats["errors"] += sum(1 for o in outcomes if o == ERROR)
        return outcomes

    def _run(self, items: Sequence[Item]) -> List[int]:
        n = len(items)
        results: List[Optional[int]] = [None] * n
        pending: Deque[int] = deque(range(n))
        remaining = n
        while len(self._children) < self.num_workers:
            self._children.append(self._spawn())
        # Spread a small batch over all children; cap chunks so a kill re-queues little work.
        chunk = max(1, min(self.chunk_size, -(-n // self.num_workers)))

        while remaining:
            now = time.monotonic()
            for child in self._children:
                if child.ready and not child.in_flight and pending:
                    take = [pending.popleft() for _ in range(min(chunk, len(pending)))]
                    try:
                        child.conn.send(("chunk", [(i, *items[i]) for i in take]))
                    except (BrokenPipeError, OSError):
                        pending.extendleft(reversed(take))
                        self._replace(child, None)
                        continue
                    child.in_flight.extend(take)
                    child.last_event = now

            ready = wait([c.conn for c in self._children], timeout=self._next_wakeup())
            for conn in ready:
                child = next((c for c in self._children if c.conn is conn), None)
                if child is not None:
                    remaining -= self._drain(child, results, pending)

            now = time.monotonic()
            for child in list(self._children):
                if child.ready and child.in_flight and now - child.last_event > self.timeout_s:
                    remaining -= self._drain(child, results, pending)  # a report may just have come in
                    if child.in_flight and time.monotonic() - child.last_event > self.timeout_s:
                        results[child.in_flight.popleft()] = TIMEOUT
                        remaining -= 1
                        self.stats["killed"] += 1
                        self._replace(child, pending)
                elif not child.ready and now - child.started_at > START_TIMEOUT_S:
                    self._kill(child)
                    self._children.remove(child)
                    raise RuntimeError(
                        f"rlinf-math: a grader process did not start within {START_TIMEOUT_S:.0f} s "
                        "(importing math-verify). Is the machine overloaded?"
                    )
        return [r if r is not None else ERROR for r in results]

    def _next_wakeup(self) -> float:
        now = time.monotonic()
        waits = [START_TIMEOUT_S]
        for child in self._children:
            if child.ready and child.in_flight:
                waits.append(child.last_event + self.timeout_s - now)
            elif not child.ready:
                waits.append(child.started_at + START_TIMEOUT_S - now)
        return max(0.0, min(waits)) + 0.001

    def _drain(self, child: _Child, results: List[Optional[int]], pending: Deque[int]) -> int:
        """Read every message the child has sent; returns how many items it finished."""
        done = 0
        try:
            while child.conn.poll():
                msg = child.conn.recv()
                if msg[0] == "ready":
                    child.ready = True
                elif msg[0] == "verdict":
                    _, item_id, outcome = msg
                    if child.in_flight and child.in_flight[0] == item_id:
                        child.in_flight.popleft()
                        results[item_id] = outcome
                        done += 1
                    child.last_event = time.monotonic()
        except (EOFError, OSError):
            # The child died: its in-flight item is an error, the rest goes back to the queue.
            if not child.ready:
                try:
                    code = child.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    code = None
                self._kill(child)
                self._children.remove(child)
                raise RuntimeError(
                    f"rlinf-math: a grader process exited during start-up (exit code {code}). "
                    "Check that math-verify[antlr4_13_2] imports in this environment."
                ) from None
            if child.in_flight:
                results[child.in_flight.popleft()] = ERROR
                done += 1
            self._replace(child, pending)
        return done

    def _replace(self, child: _Child, pending: Optional[Deque[int]]) -> None:
        """Kill ``child``, re-queue what it still held, start a fresh one in its place."""
        if pending is not None:
            pending.extendleft(reversed(child.in_flight))
        child.in_flight.clear()
        self._kill(child)
        self._children[self._children.index(child)] = self._spawn()


_LIVE_POOLS: "weakref.WeakSet[GraderPool]" = weakref.WeakSet()


class OutcomeCache:
    """The grader processes' verdicts, kept across batches (a run sees the same answers again
    and again). Only CORRECT/INCORRECT are kept: a timeout may go the other way with more time."""

    def __init__(self, size: int = 65_536) -> None:
        self.size = size
        self._outcomes: "OrderedDict[Item, int]" = OrderedDict()
        self._lock = threading.Lock()

    def known(self, items: Iterable[Item]) -> Dict[Item, int]:
        with self._lock:
            return {item: self._outcomes[item] for item in items if item in self._outcomes}

    def remember(self, outcomes: Dict[Item, int]) -> None:
        with self._lock:
            for item, outcome in outcomes.items():
                if outcome in (CORRECT, INCORRECT):
                    self._outcomes[item] = outcome
            while len(self._outcomes) > self.size:
                self._outcomes.popitem(last=False)


@atexit.register
def _close_all() -> None:
    for pool in list(_LIVE_POOLS):
        try:
            pool.close()
        except Exception:
            pass
