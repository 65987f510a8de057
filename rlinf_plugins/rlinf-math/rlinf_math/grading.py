"""Grade responses against reference solutions: a verdict, and why, for each response.

The batch API behind the ``math`` reward (:class:`MathGrader`, :func:`grade`) and the
single-call :func:`verify`/:func:`explain`. A verdict follows the DeepSeek-R1 / AReaL-boba
rule-based reward as RLinf runs it (the final answer against each reference answer with
math-verify; any reference matching counts), with these steps:

1. **Extract** the response's final answer (:mod:`rlinf_math.answer`: last box, joined
   neighbouring boxes, else the final stated answer) and each gold's answer (a worked
   solution counts by its box only). No answer is incorrect (``reward/no_answer``).
2. **Multiple choice**: when a gold is a choice letter, the response's letter
   (``\\boxed{(B)}``, "Answer: B", a letter alone on the last line) is compared directly.
3. **Normalise** both (:mod:`rlinf_math.normalize`): units, degrees, thousands separators,
   percents, spacing macros, frac variants. Different known units (5 m vs 5 cm) are wrong.
4. **Cheap verdicts** without sympy: equal normalised strings, and simple numbers
   (integers, decimals, fractions, ``a\\times10^{b}``) compared by :mod:`rlinf_math.closeness`
   (exact values exactly; a written decimal when it is the other value cut to its digits,
   with at least 6 significant digits) in :mod:`rlinf_math.numbers`.
5. **Guards** (:mod:`rlinf_math.guards`) refuse towers, factorial bombs, huge digit strings,
   deep nesting, TeX primitives and code before anything reaches sympy
   (``reward/guard_rejections``; a refused gold is ``reward/unsafe_golds``).
6. **math-verify** in grader processes (:mod:`rlinf_math.grader_child`) with a hard
   per-verdict deadline: both sides wrapped as ``\\boxed{...}`` so a bare gold such as
   ``\\sqrt{2}`` parses as LaTeX (math-verify's plain-text fallback reads it as ``2``);
   LaTeX extraction only (its expression extractor runs ``parse_expr``, an ``eval``);
   an inequality in one variable on either side read as its solution set (so ``1 < x < 2``
   matches ``(1,2)`` whichever side wrote which); numbers compared by the same
   :mod:`rlinf_math.closeness` rule in place of math-verify's 6-place rounding.
   A percent answer is also tried as value/100. A verdict past the deadline is incorrect
   and counted (``reward/timeouts``); a grader failure is ``reward/grader_errors``.

Short numeric expressions (``2\\sqrt{3}``, ``\\frac{\\pi}{4}``) are decided before step 6 by
:mod:`rlinf_math.fastexpr`, without sympy. Identical (answer, golds) pairs of a batch are
verified once (a GRPO group often repeats an answer); prepared golds and the grader
processes' verdicts are cached across batches.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

from rlinf_math.answer import (
    CHOICE_LETTERS,
    FOUND,
    MAX_ANSWER_CHARS,
    TOO_LONG,
    choice_letter,
    extract_answer,
    extract_choice,
    gold_answer,
)
from rlinf_math.fastexpr import fast_verdict
from rlinf_math.grader_child import ALLOW_SET_RELATION
from rlinf_math.grader_pool import CORRECT, ERROR, TIMEOUT, GraderPool, OutcomeCache
from rlinf_math.guards import refuse
from rlinf_math.normalize import Normalized, normalize, units_conflict
from rlinf_math.numbers import numbers_equal

logger = logging.getLogger("rlinf_math")

AnswerList = Union[str, Sequence[str]]

# Verdict reasons.
CHOICE = "choice"
EXACT = "exact"
NUMERIC = "numeric"
MATH_VERIFY = "math_verify"
DIFFERENT = "different"
UNITS = "units"
NO_ANSWER = "no_answer"
TOO_LONG_ANSWER = "too_long"
UNSAFE = "unsafe"
UNSAFE_GOLD = "unsafe_gold"
TIMED_OUT = "timeout"
GRADER_ERROR = "grader_error"

REASONS = {
    CHOICE: "the multiple-choice letters match",
    EXACT: "equal after normalisation",
    NUMERIC: "equal as numbers",
    MATH_VERIFY: "math-verify finds them equivalent",
    DIFFERENT: "not equivalent to any reference answer",
    UNITS: "the units differ",
    NO_ANSWER: "no final answer (no \\boxed{} and no final-answer phrase, an empty box, or an unclosed box)",
    TOO_LONG_ANSWER: "the answer is longer than max_answer_chars",
    UNSAFE: "refused by the guards before reaching sympy",
    UNSAFE_GOLD: "every remaining reference answer was refused by the guards",
    TIMED_OUT: "no verdict within the deadline",
    GRADER_ERROR: "the grader process failed on this answer",
}

# The default deadline per verdict: with the guards and the fast paths, legitimate answers
# take well under 0.2 s in a grader process, and no verdict may take over 2 s even on a
# loaded machine (benchmarks/grader.py measures both).
DEFAULT_TIMEOUT_S = 1.5

# The batch counter each failing verdict reason adds to (Grades.counts), in reporting order.
COUNTED = {
    TIMED_OUT: "timeouts", NO_ANSWER: "no_answer", TOO_LONG_ANSWER: "answer_too_long", GRADER_ERROR: "grader_errors",
    UNSAFE: "guard_rejections", UNSAFE_GOLD: "unsafe_golds",
}
COUNTERS = tuple(COUNTED.values())

_INEQUALITY = re.compile(r"<|>|\\le(?:q|qslant)?(?![a-zA-Z])|\\ge(?:q|qslant)?(?![a-zA-Z])|\\[lg]t(?![a-zA-Z])")
_SET_LIKE = re.compile(r"[\[\]]|\\cup|\\infty|\\emptyset|\\mathbb|\\\{|^\(.*,.*\)$")
_EXPLICIT_SET = re.compile(r"\\\{.*\\\}")
_BRACKETED = re.compile(r"[(\[].*,.*[)\]]")


def _set_vs_tuple(pred: str, gold: str) -> bool:
    """An explicit set against a tuple or interval (or the reverse): never equal, since a set
    is unordered and a pair or interval is not. math-verify matches ``\\{1,3\\}`` with
    ``(1,3)`` (its tests expect it, and expect ``(3,1)`` not to match); we do not."""
    p, g = pred.replace(" ", ""), gold.replace(" ", "")
    return bool(
        (_EXPLICIT_SET.fullmatch(p) and _BRACKETED.fullmatch(g) and "\\cup" not in g)
        or (_EXPLICIT_SET.fullmatch(g) and _BRACKETED.fullmatch(p) and "\\cup" not in p)
    )


def _inequality_against_set(pred: str, golds: Sequence[str]) -> bool:
    """Either side an inequality and the other an inequality or a set: the pair is compared
    as solution sets (the policy of :func:`rlinf_math.grader_child._solution_sets`)."""
    pred_ineq, pred_set = bool(_INEQUALITY.search(pred)), bool(_SET_LIKE.search(pred))
    gold_ineq = any(_INEQUALITY.search(g) for g in golds)
    gold_set = any(_SET_LIKE.search(g) for g in golds)
    return (pred_ineq and (gold_ineq or gold_set)) or (gold_ineq and pred_set)


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut for a log line or a message (never log a whole response)."""
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + f"... [{len(text)} chars]"


@dataclass(frozen=True)
class Verdict:
    """One response's verdict, with what was compared and why."""

    correct: bool
    reason: str
    answer: Optional[str] = None  # the extracted final answer
    source: str = ""  # where it came from: box, boxes, phrase, last_line
    normalized: Optional[str] = None
    golds: Tuple[str, ...] = ()  # the extracted reference answers
    detail: str = ""

    @property
    def why(self) -> str:
        text = REASONS.get(self.reason, self.reason)
        return f"{text}: {self.detail}" if self.detail else text


@dataclass
class Grades:
    """Per-response correctness, verdicts and batch counters."""

    correct: List[bool]
    verdicts: List[Verdict] = field(default_factory=list)
    counts: Dict[str, int] = field(default_factory=lambda: {name: 0 for name in COUNTERS})


@dataclass(frozen=True)
class _Gold:
    text: str  # the extracted answer
    norm: Normalized
    letter: Optional[str]
    refused: Optional[str]


@functools.lru_cache(maxsize=16384)
def _prepare_gold(solution: str, max_chars: int) -> _Gold:
    text = gold_answer(solution, max_chars)
    norm = normalize(text) if len(text) <= 20 * max_chars else Normalized(text)
    letter = choice_letter(text, CHOICE_LETTERS, labelled=False)
    refused = refuse(norm.text, max(max_chars, 4 * len(text)))
    if refused:
        logger.warning("rlinf-math: a reference answer is refused by the guards (%s): %s", refused, clip(text))
    return _Gold(text, norm, letter, refused)


_Item = Tuple[str, Tuple[str, ...], int]


@dataclass
class _Pending:
    answer: str
    source: str
    norm: Normalized
    golds: Tuple[str, ...]
    items: List[_Item]


def _over_100(text: str) -> str:
    return "\\frac{" + text + "}{100}"


def _decide(
    response: str, golds: Sequence[_Gold], max_chars: int, phrases: bool
) -> Union[Verdict, _Pending]:
    """A verdict when it needs no grader process, else what to send to one."""
    gold_texts = tuple(g.text for g in golds)
    found = extract_answer(response, max_chars, phrases)
    if found.status != FOUND or found.text is None:
        if found.status != TOO_LONG and any(g.letter for g in golds):
            letter = extract_choice(response, CHOICE_LETTERS)
            if letter is not None:
                ok = any(g.letter == letter for g in golds)
                return Verdict(ok, CHOICE if ok else DIFFERENT, letter, "last_line", letter, gold_texts)
        reason = TOO_LONG_ANSWER if found.status == TOO_LONG else NO_ANSWER
        return Verdict(False, reason, None, "", None, gold_texts)

    answer = found.text
    norm = normalize(answer)
    base = dict(answer=answer, source=found.source, normalized=norm.text, golds=gold_texts)
    letter = choice_letter(answer, CHOICE_LETTERS) if any(g.letter for g in golds) else None
    pending: List[_Gold] = []
    saw_units = False
    for g in golds:
        if g.letter is not None:
            if letter is not None and letter == g.letter:
                return Verdict(True, CHOICE, detail=f"({letter})", **base)
            continue  # another letter, or a value, against a choice letter
        if units_conflict(norm, g.norm):
            saw_units = True
            continue
        if _set_vs_tuple(norm.text, g.norm.text):
            continue
        if norm.key == g.norm.key and norm.key:
            return Verdict(True, EXACT, detail=clip(norm.text, 80), **base)
        quick = numbers_equal(norm, g.norm)
        if quick is True:
            return Verdict(True, NUMERIC, detail=f"{clip(norm.text, 60)} = {clip(g.norm.text, 60)}", **base)
        if quick is False:
            continue
        pending.append(g)
    if not pending:
        if saw_units:
            return Verdict(False, UNITS, detail=f"{norm.raw_unit!r} vs the reference's unit", **base)
        return Verdict(False, DIFFERENT, **base)

    refused = refuse(norm.text, max_chars)
    if refused:
        return Verdict(False, UNSAFE, detail=refused, **base)
    usable = [g for g in pending if not g.refused]
    if not usable:
        return Verdict(False, UNSAFE_GOLD, detail=pending[0].refused or "", **base)

    if not norm.percent:
        undecided = []
        for g in usable:
            fast = None if g.norm.percent else fast_verdict(norm.text, g.norm.text)
            if fast is True:
                return Verdict(True, NUMERIC, detail=f"{clip(norm.text, 60)} = {clip(g.norm.text, 60)}", **base)
            if fast is None:
                undecided.append(g)
        if not undecided:
            return Verdict(False, DIFFERENT, **base)
        usable = undecided

    options = ALLOW_SET_RELATION if _inequality_against_set(norm.text, [g.norm.text for g in usable]) else 0
    gold_alts: List[str] = []
    for g in usable:
        gold_alts.append(g.norm.text)
        if g.norm.percent and not norm.percent:
            gold_alts.append(_over_100(g.norm.text))
    items: List[_Item] = [(norm.text, tuple(dict.fromkeys(gold_alts)), options)]
    if norm.percent:
        plain = tuple(dict.fromkeys(g.norm.text for g in usable if not g.norm.percent))
        if plain:
            items.append((_over_100(norm.text), plain, options))
    return _Pending(answer, found.source, norm, gold_texts, items)


def grade(
    pool: GraderPool,
    responses: Sequence[str],
    answers: Sequence[AnswerList],
    max_answer_chars: int = MAX_ANSWER_CHARS,
    answer_phrases: bool = True,
    cache: Optional[OutcomeCache] = None,
) -> Grades:
    """Grade each response against its list of reference solutions (the batch API)."""
    if len(responses) != len(answers):
        raise ValueError(f"got {len(responses)} responses but {len(answers)} answer lists; they must pair up")
    verdicts: List[Optional[Verdict]] = [None] * len(responses)
    pending: Dict[int, _Pending] = {}
    todo: Dict[_Item, List[int]] = {}
    for i, (response, solutions) in enumerate(zip(responses, answers)):
        if isinstance(solutions, str):
            solutions = [solutions]
        if not solutions:
            raise ValueError(f"response {i} has no reference answer to compare with")
        if not isinstance(response, str):
            raise TypeError(f"response {i} is a {type(response).__name__}, not a string")
        golds = list({id(g): g for g in (_prepare_gold(str(s), max_answer_chars) for s in solutions)}.values())
        decided = _decide(response, golds, max_answer_chars, answer_phrases)
        if isinstance(decided, Verdict):
            verdicts[i] = decided
            continue
        pending[i] = decided
        for item in decided.items:
            todo.setdefault(item, []).append(i)

    if todo:
        outcomes = cache.known(todo) if cache is not None else {}
        items = [item for item in todo if item not in outcomes]
        if items:
            fresh = dict(zip(items, pool.run(items)))
            if cache is not None:
                cache.remember(fresh)
            outcomes.update(fresh)
        for i, p in pending.items():
            results = [outcomes[item] for item in p.items]
            base = dict(answer=p.answer, source=p.source, normalized=p.norm.text, golds=p.golds)
            if CORRECT in results:
                verdicts[i] = Verdict(True, MATH_VERIFY, **base)
            elif TIMEOUT in results:
                verdicts[i] = Verdict(False, TIMED_OUT, detail=f"{pool.timeout_s:g} s", **base)
            elif ERROR in results:
                verdicts[i] = Verdict(False, GRADER_ERROR, **base)
                logger.warning("rlinf-math: the grader failed on the answer %s", clip(p.norm.text))
            else:
                verdicts[i] = Verdict(False, DIFFERENT, **base)

    final = [v if v is not None else Verdict(False, GRADER_ERROR) for v in verdicts]
    result = Grades(correct=[v.correct for v in final], verdicts=final)
    for v in final:
        if v.reason in COUNTED:
            result.counts[COUNTED[v.reason]] += 1
    return result


class MathGrader:
    """The batch API: a grader pool plus the grading rules, used by the ``math`` reward.

    ``num_workers`` grader processes start on the first verdict that needs one; each
    verdict has a hard ``timeout_s`` deadline. Safe to share between threads.
    """

    def __init__(
        self,
        num_workers: int = 2,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_answer_chars: int = MAX_ANSWER_CHARS,
        answer_phrases: bool = True,
    ) -> None:
        self.pool = GraderPool(num_workers=num_workers, timeout_s=timeout_s)
        self.cache = OutcomeCache()
        self.max_answer_chars = max_answer_chars
        self.answer_phrases = answer_phrases

    def grade(self, responses: Sequence[str], answers: Sequence[AnswerList]) -> Grades:
        return grade(self.pool, responses, answers, self.max_answer_chars, self.answer_phrases, self.cache)

    def explain(self, response: str, gold: AnswerList) -> Verdict:
        return self.grade([response], [gold]).verdicts[0]

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> "MathGrader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SHARED: Optional[MathGrader] = None
_SHARED_LOCK = threading.Lock()


def _shared_grader() -> MathGrader:
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = MathGrader(num_workers=1)
        return _SHARED


def explain(response: str, gold: AnswerList) -> Verdict:
    """The verdict on one response, with the extracted answers and why."""
    return _shared_grader().explain(response, gold)


def verify(response: str, gold: AnswerList) -> bool:
    """Whether ``response``'s final answer matches ``gold`` (one solution or several).

    Uses a process-wide one-child grader with the default deadline; a timeout is ``False``.
    """
    return explain(response, gold).correct
