"""The grader child process: runs math-verify verdicts on its own main thread.

Each child is a fresh interpreter started by :mod:`rlinf_math.grader_pool` as
``python grader_child.py FD PARENT_PID SOFT_TIMEOUT``: this file runs as a script and
imports only the standard library and math-verify (not rlinf, not the parent's
``__main__``). It talks to its parent over one socket wrapped in a
``multiprocessing.connection.Connection`` (file descriptor FD):

- child -> parent ``("ready", pid)`` once math-verify is imported and warmed up;
- parent -> child ``("chunk", [(item_id, prediction, (gold, ...), options), ...])``;
- child -> parent ``("verdict", item_id, outcome)`` as EACH item finishes, so the parent
  can enforce a per-verdict deadline and knows which item was in flight if it must kill;
- parent -> child ``("stop",)``.

A verdict follows math-verify's README (Hugging Face, ``math-verify`` 0.9): both sides are
parsed with ``parse`` and compared with ``verify(gold, prediction)``; any gold matching
counts. The inputs are already-extracted, normalised answers (:mod:`rlinf_math.grading`), so
both are wrapped as ``\\boxed{...}`` and parsed with ``boxed_match_priority=0``.

Deviations from calling math-verify directly:
- LaTeX extraction only: math-verify's ``ExprExtractionConfig`` hands matched text to
  sympy's ``parse_expr``, which is an ``eval``. Without it the only strings that reach
  ``parse_expr`` are number tokens of latex2sympy's grammar (``sympy.Number("12")``), so
  model text is never evaluated (tests/test_corpus.py checks this).
- ``options`` bit :data:`ALLOW_SET_RELATION` (set when either side is an inequality and the
  other an inequality or a set) reads an inequality in one variable, on either side, as its
  solution set, and a list of them ("x < -1 or x > 3") as their union, so the policy applies
  both ways (math-verify's ``allow_set_relation_comp`` only converts the prediction).
- Numbers are compared with :mod:`rlinf_math.closeness` (exact values exactly, a written
  decimal by its digits) in place of math-verify's ``sympy_numeric_eq``, whose 6-place
  rounding and ``chop`` equated values far below 1 (see :func:`install_numeric_rule`).
- A standalone ``i`` is the imaginary unit on both sides (latex2sympy makes it a symbol, so
  math-verify finds ``3+2i = 2i+3`` but not ``i^2 = -1``).
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
import re
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

# Bits of an item's ``options``.
ALLOW_SET_RELATION = 1

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


_IMAGINARY = re.compile(r"(?<![\\a-zA-Z])i(?![a-zA-Z])")


def _imaginary_unit(parsed: List[Any]) -> List[Any]:
    """latex2sympy reads ``i`` as a plain symbol; make it sympy's ``I`` (so ``i^2 = -1``)."""
    import sympy

    out = []
    for value in parsed:
        if isinstance(value, sympy.Basic):
            try:
                syms = [s for s in value.free_symbols if getattr(s, "name", "") == "i"]
                if syms:
                    value = value.subs({s: sympy.I for s in syms})
            except Exception:
                pass
        out.append(value)
    return out


def _solution_sets(parsed: List[Any]) -> List[Any]:
    """An inequality in one variable as its solution set: ``2 < x \\le 5`` is ``(2, 5]``,
    ``|x| < 2`` is ``(-2, 2)``, and a list of them ("x < -1 or x > 3", which math-verify reads
    as a set of relations) is their union. Applied to both sides, so an inequality matches
    an interval, another inequality or a union with the same solutions, whichever side
    wrote which. Equations and relations in several variables are left alone."""
    import sympy
    from sympy.core.relational import Equality, Relational, Unequality

    out = []
    for value in parsed:
        condition = None
        if isinstance(value, (sympy.FiniteSet, sympy.Tuple)):
            args = value.args
            if len(args) >= 2 and all(isinstance(a, Relational) for a in args):
                condition = sympy.Or(*args)
        elif isinstance(value, (Relational, sympy.And, sympy.Or)):
            condition = value
        if condition is not None and not condition.atoms(Equality, Unequality):
            try:
                if len(condition.free_symbols) == 1:
                    value = condition.as_set()
            except Exception:  # as_set refuses some conditions: compare them as written
                pass
        out.append(value)
    return out


def _load_closeness() -> Any:
    """:mod:`rlinf_math.closeness`, loaded by path (this script does not import rlinf)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "closeness.py")
    spec = importlib.util.spec_from_file_location("_rlinf_math_closeness", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def install_numeric_rule() -> None:
    """Put :func:`rlinf_math.closeness.sympy_numeric_eq` in place of math-verify's numeric
    comparison (child only)."""
    import math_verify.grader as mv_grader

    if not hasattr(mv_grader, "sympy_numeric_eq"):
        raise ImportError(
            "math_verify.grader.sympy_numeric_eq is missing: rlinf-math needs math-verify 0.9.x "
            "(pip install 'math-verify[antlr4_13_2]>=0.9,<0.10')"
        )
    mv_grader.sympy_numeric_eq = _load_closeness().sympy_numeric_eq


class Judge:
    """Parses and compares answers with math-verify, caching parsed golds."""

    def __init__(self) -> None:
        from math_verify import LatexExtractionConfig, parse, verify

        install_numeric_rule()

        self._parse = parse
        self._verify = verify
        self._config = [LatexExtractionConfig(boxed_match_priority=0)]
        self._golds: Dict[Tuple[str, bool], List[Any]] = {}

    def parse(self, answer: str, imaginary: bool = False) -> List[Any]:
        parsed = self._parse("\\boxed{" + answer + "}", extraction_config=self._config, parsing_timeout=None)
        return _imaginary_unit(parsed) if imaginary else parsed

    def gold(self, answer: str, imaginary: bool) -> List[Any]:
        key = (answer, imaginary)
        parsed = self._golds.get(key)
        if parsed is None:
            parsed = self.parse(answer, imaginary)
            if not parsed:  # not LaTeX that fits in a box: try it as inline math
                parsed = self._parse("$" + answer + "$", extraction_config=self._config, parsing_timeout=None)
                parsed = _imaginary_unit(parsed) if imaginary else parsed
            if len(self._golds) >= _GOLD_CACHE_SIZE:
                self._golds.clear()
            self._golds[key] = parsed
        return parsed

    def __call__(self, prediction: str, golds: Sequence[str], options: int = 0) -> bool:
        imaginary = bool(_IMAGINARY.search(prediction)) or any(_IMAGINARY.search(g) for g in golds)
        pred = self.parse(prediction, imaginary)
        if not pred:
            return False
        set_relation = bool(options & ALLOW_SET_RELATION)
        if set_relation:
            pred = _solution_sets(pred)
        for gold in golds:
            parsed_gold = self.gold(gold, imaginary)
            if set_relation:
                parsed_gold = _solution_sets(parsed_gold)
            if parsed_gold and self._verify(
                parsed_gold,
                pred,
                float_rounding=6,
                strict=True,
                allow_set_relation_comp=set_relation,
                timeout_seconds=None,
            ):
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


def judge_one(
    judge: Judge, timer: _Timer, prediction: str, golds: Sequence[str], soft_timeout_s: float, options: int = 0
) -> int:
    """One verdict as an outcome code, bounded by the soft deadline."""
    try:
        timer.start(soft_timeout_s)
        try:
            ok = judge(prediction, golds, options)
        finally:
            timer.stop()
        return CORRECT if ok else INCORRECT
    except _SoftTimeout:
        return TIMEOUT
    except Exception:  # math-verify failures on odd input are a wrong answer, counted as errors
        return ERROR


_WARM_UP = (
    ("1", "\\frac{2}{2}", 0),
    ("(x+1)^{2}", "x^2+2x+1", 0),
    ("y=2x+1", "2x-y+1=0", 0),
    ("1<x\\le 2", "(1,2]", ALLOW_SET_RELATION),
    ("\\{1,2\\}", "\\{2,1\\}", 0),
    ("\\frac{\\sqrt{3}}{3}", "0.57735", 0),
    ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", 0),
)


def child_main(conn: Any, parent_pid: int, soft_timeout_s: float) -> None:
    """Serve verdicts until told to stop or the parent goes away (on the main thread)."""
    _exit_with_parent(parent_pid)
    _quiet()
    _limit_memory()
    judge = Judge()
    timer = _Timer()
    # Warm up before taking deadlines: the first parse, simplify, solve and set comparison
    # import and cache much of sympy (over a second), which must not count against a verdict.
    for prediction, gold, options in _WARM_UP:
        judge_one(judge, timer, prediction, (gold,), 120.0, options)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg: Tuple[Any, ...] = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] == "stop":
            return
        for item_id, prediction, golds, *rest in msg[1]:
            outcome = judge_one(judge, timer, prediction, golds, soft_timeout_s, rest[0] if rest else 0)
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
