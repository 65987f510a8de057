"""The grader child process: runs math-verify verdicts on its own main thread.

Each child is a fresh interpreter started by :mod:`rlinf_math.grader_pool` as
``python grader_child.py FD PARENT_PID SOFT_TIMEOUT``: this file runs as a script and
imports only the standard library and math-verify (not rlinf, not the parent's
``__main__``). It talks to its parent over one socket wrapped in a
``multiprocessing.connection.Connection`` (file descriptor FD):

- child -> parent ``("ready", pid)`` once math-verify is imported and warmed up;
- parent -> child ``("chunk", [(item_id, prediction, (gold, ...)), ...])``;
- child -> parent ``("verdict", item_id, outcome)`` as EACH item finishes, so the parent
  can enforce a per-verdict deadline and knows which item was in flight if it must kill;
- parent -> child ``("stop",)``.

A verdict follows math-verify's README (Hugging Face, ``math-verify`` 0.9): both sides are
parsed with ``parse`` and compared with ``verify(gold, prediction)``; any gold matching
counts. Both are wrapped as ``\\boxed{...}`` and parsed with ``boxed_match_priority=0`` so
the (already extracted) answer is what gets parsed.

Deviations from calling math-verify directly:
- math-verify's own timeouts (``signal.alarm``, whole seconds) are switched off; instead a
  soft ``setitimer`` deadline slightly under the parent's covers the whole verdict and
  raises between bytecodes. Work stuck in C (huge integer powers) is not interrupted by
  it: the parent's hard deadline kills the child then.
- math-verify's loggers are silenced: on timeouts it logs the whole input, and nothing
  here ever formats a parsed expression (``str()`` of one may never return).
- Address space is capped (``RLIMIT_AS``) so a bomb fails with MemoryError instead of
  swapping the machine; the child exits when its parent disappears.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import warnings
from typing import Any, Dict, List, Sequence, Tuple

# Verdict outcomes (sent as small ints over the pipe).
CORRECT = 1
INCORRECT = 0
TIMEOUT = 2
ERROR = 3

MEMORY_LIMIT_BYTES = 4 * 1024**3
_GOLD_CACHE_SIZE = 4096


class _SoftTimeout(BaseException):
    """Raised by the SIGALRM handler; BaseException so math-verify's ``except Exception`` lets it through."""


class _Timer:
    """A per-verdict SIGALRM deadline that only fires while armed (main thread only)."""

    def __init__(self) -> None:
        self.armed = False
        signal.signal(signal.SIGALRM, self._on_alarm)

    def _on_alarm(self, signum: int, frame: Any) -> None:
        if self.armed:
            self.armed = False
            raise _SoftTimeout()

    def start(self, seconds: float) -> None:
        self.armed = True
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))

    def stop(self) -> None:
        self.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)


class Judge:
    """Parses and compares answers with math-verify, caching parsed golds."""

    def __init__(self) -> None:
        from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

        self._parse = parse
        self._verify = verify
        self._config = [LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()]
        self._golds: Dict[str, List[Any]] = {}

    def parse(self, answer: str) -> List[Any]:
        return self._parse("\\boxed{" + answer + "}", extraction_config=self._config, parsing_timeout=None)

    def gold(self, answer: str) -> List[Any]:
        parsed = self._golds.get(answer)
        if parsed is None:
            parsed = self.parse(answer)
            if not parsed:  # not LaTeX that fits in a box: let math-verify look at it as text
                parsed = self._parse(answer, parsing_timeout=None)
            if len(self._golds) >= _GOLD_CACHE_SIZE:
                self._golds.clear()
            self._golds[answer] = parsed
        return parsed

    def __call__(self, prediction: str, golds: Sequence[str]) -> bool:
        pred = self.parse(prediction)
        if not pred:
            return False
        for gold in golds:
            parsed_gold = self.gold(gold)
            if parsed_gold and self._verify(parsed_gold, pred, timeout_seconds=None):
                return True
        return False


def _quiet() -> None:
    logging.getLogger("math_verify").setLevel(logging.CRITICAL + 1)
    logging.getLogger("latex2sympy2_extended").setLevel(logging.CRITICAL + 1)
    warnings.simplefilter("ignore")


def _limit_memory() -> None:
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = MEMORY_LIMIT_BYTES if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT_BYTES, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):
        pass


def _exit_with_parent(parent_pid: int) -> None:
    """Leave as soon as the parent is gone (even in the middle of a runaway verdict)."""

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(0)

    threading.Thread(target=watch, name="rlinf-math-parent-watch", daemon=True).start()


def judge_one(judge: Judge, timer: _Timer, prediction: str, golds: Sequence[str], soft_timeout_s: float) -> int:
    """One verdict as an outcome code, bounded by the soft deadline."""
    try:
        timer.start(soft_timeout_s)
        try:
            ok = judge(prediction, golds)
        finally:
            timer.stop()
        return CORRECT if ok else INCORRECT
    except _SoftTimeout:
        return TIMEOUT
    except Exception:  # math-verify failures on odd input are a wrong answer, counted as errors
        return ERROR


def child_main(conn: Any, parent_pid: int, soft_timeout_s: float) -> None:
    """Serve verdicts until told to stop or the parent goes away (on the main thread)."""
    _exit_with_parent(parent_pid)
    _quiet()
    _limit_memory()
    judge = Judge()
    timer = _Timer()
    judge_one(judge, timer, "1", ("\\frac{2}{2}",), 60.0)  # warm up the parser before taking deadlines
    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg: Tuple[Any, ...] = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] == "stop":
            return
        for item_id, prediction, golds in msg[1]:
            outcome = judge_one(judge, timer, prediction, golds, soft_timeout_s)
            try:
                conn.send(("verdict", item_id, outcome))
            except (BrokenPipeError, OSError):
                return


def main(argv: List[str]) -> None:
    """``grader_child.py FD PARENT_PID SOFT_TIMEOUT``."""
    from multiprocessing.connection import Connection

    fd, parent_pid, soft_timeout_s = int(argv[0]), int(argv[1]), float(argv[2])
    child_main(Connection(fd), parent_pid, soft_timeout_s)


if __name__ == "__main__":
    import sys

    # Run as a script: drop this package's folder from the path so its modules never shadow others.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)
    main(sys.argv[1:])
