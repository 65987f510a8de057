"""Grade responses against reference solutions: correct or not, with the reasons counted.

The verdict follows the DeepSeek-R1 / AReaL-boba rule-based math reward: the final answer
is the content of the response's last ``\\boxed{}`` (:mod:`rlinf_math.answer`), compared
with each reference solution's boxed content by math-verify (Hugging Face); any match is
correct, no box is incorrect.

Deviations, for throughput and bounded time:
- Pairs that need no symbolic work are decided here without math-verify: an answer equal
  to a reference string is correct, and when the answer and every reference are plain
  integers (``-?[0-9]{1,30}``) they are compared as integers (math-verify gives the same
  verdict, a few hundred times slower).
- Identical (answer, references) pairs in one batch are verified once (a GRPO group often
  repeats an answer).
- Everything else goes to a :class:`~rlinf_math.grader_pool.GraderPool`, whose per-verdict
  deadline makes a runaway verdict a counted timeout, scored incorrect.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

from rlinf_math.answer import FOUND, MAX_ANSWER_CHARS, TOO_LONG, extract_boxed, gold_answer
from rlinf_math.grader_pool import CORRECT, ERROR, TIMEOUT, GraderPool

_PLAIN_INT = re.compile(r"-?[0-9]{1,30}")


@dataclass
class Grades:
    """Per-response correctness and batch counters."""

    correct: List[bool]
    counts: Dict[str, int] = field(
        default_factory=lambda: {"timeouts": 0, "no_answer": 0, "answer_too_long": 0, "grader_errors": 0}
    )


def quick_verdict(answer: str, golds: Sequence[str]) -> Optional[bool]:
    """The verdict when it needs no math-verify (exact string or plain integers), else None."""
    if answer in golds:
        return True
    if _PLAIN_INT.fullmatch(answer) and all(_PLAIN_INT.fullmatch(g) for g in golds):
        value = int(answer)
        return any(int(g) == value for g in golds)
    return None


def grade(
    pool: GraderPool,
    responses: Sequence[str],
    answers: Sequence[Sequence[str]],
    max_answer_chars: int = MAX_ANSWER_CHARS,
) -> Grades:
    """Grade each response against its list of reference solutions."""
    if len(responses) != len(answers):
        raise ValueError(f"got {len(responses)} responses but {len(answers)} answer lists; they must pair up")
    result = Grades(correct=[False] * len(responses))
    counts = result.counts
    todo: Dict[Tuple[str, Tuple[str, ...]], List[int]] = {}
    for i, (response, solutions) in enumerate(zip(responses, answers)):
        if isinstance(solutions, str):
            solutions = [solutions]
        if not solutions:
            raise ValueError(f"response {i} has no reference answer to compare with")
        found = extract_boxed(response, max_chars=max_answer_chars)
        if found.status != FOUND or found.text is None:
            counts["answer_too_long" if found.status == TOO_LONG else "no_answer"] += 1
            continue
        golds = tuple(dict.fromkeys(gold_answer(s) for s in solutions))
        quick = quick_verdict(found.text, golds)
        if quick is not None:
            result.correct[i] = quick
            continue
        todo.setdefault((found.text, golds), []).append(i)

    if todo:
        items = list(todo)
        outcomes = pool.run(items)
        for item, outcome in zip(items, outcomes):
            for i in todo[item]:
                result.correct[i] = outcome == CORRECT
                if outcome == TIMEOUT:
                    counts["timeouts"] += 1
                elif outcome == ERROR:
                    counts["grader_errors"] += 1
    return result


_SHARED: Optional[GraderPool] = None
_SHARED_LOCK = threading.Lock()


def _shared_pool() -> GraderPool:
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = GraderPool(num_workers=1, timeout_s=5.0)
        return _SHARED


def verify(response: str, gold: Union[str, Sequence[str]]) -> bool:
    """Whether ``response``'s last boxed answer matches ``gold`` (one solution or several).

    Uses a process-wide one-child pool with a 5 s deadline; a timeout is ``False``.
    """
    golds = [gold] if isinstance(gold, str) else list(gold)
    return grade(_shared_pool(), [response], [golds]).correct[0]
