"""The grader's quality bar: the labelled corpus (accuracy) and the hostile suite (bounded
time, no crash, no side effects). See tests/corpus/README.md for how the corpus is built."""

from __future__ import annotations

import collections
import glob
import json
import os
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from rlinf_math import MathGrader
from rlinf_math.corpus_cases import case_response, load_cases
from rlinf_math.grading import DEFAULT_TIMEOUT_S, GRADER_ERROR

CORPUS_DIR = Path(__file__).parent / "corpus"
REQUIRED_CATEGORIES = {
    "fractions_decimals", "frac_variants", "percent", "units", "thousands", "scientific", "roots", "pi",
    "intervals_inequalities", "sets_tuples", "equations", "matrices", "multiple_choice", "negatives",
    "latex_spacing", "boxes_in_text", "several_boxes", "no_answer", "truncation", "near_miss", "symbolic",
}
HOSTILE_DEADLINE_S = 2.0


def load_corpus() -> List[Dict[str, Any]]:
    return load_cases(CORPUS_DIR / "corpus.jsonl")


def load_hostile() -> List[Dict[str, Any]]:
    return load_cases(CORPUS_DIR / "hostile.jsonl")


@pytest.fixture(scope="module")
def grader():
    # The verdicts are what the corpus checks. The suite runs in two processes on two cores, so a
    # verdict may wait for a core: a deadline of 4x the reward's default (DEFAULT_TIMEOUT_S) keeps
    # a shared core from reading as a slow case. The deadline itself is tested on the hostile
    # inputs below, and the speed quiet and under load by benchmarks/grader.py.
    g = MathGrader(num_workers=2, timeout_s=4 * DEFAULT_TIMEOUT_S)
    yield g
    g.close()


def test_corpus_is_large_labelled_and_covers_the_categories():
    cases = load_corpus()
    assert len(cases) >= 300
    assert len({c["id"] for c in cases}) == len(cases)
    assert REQUIRED_CATEGORIES <= {c["category"] for c in cases}
    for c in cases:
        assert isinstance(c["response"], str) and isinstance(c["expected"], bool), c["id"]
        assert isinstance(c["gold"], (str, list)) and c["source"], c["id"]
    # Both verdicts are well represented, so false positives are measured too.
    assert sum(not c["expected"] for c in cases) >= 100
    assert len(load_hostile()) >= 40


def test_corpus_accuracy(grader):
    cases = load_corpus()
    grades = grader.grade([c["response"] for c in cases], [c["gold"] for c in cases])
    failures = [
        f"{c['id']}: expected {c['expected']}, got {v.correct} ({v.why}); answer={v.answer!r} golds={v.golds!r}"
        for c, v in zip(cases, grades.verdicts)
        if v.correct != c["expected"]
    ]
    accuracy = 1 - len(failures) / len(cases)
    assert accuracy >= 0.99, f"accuracy {accuracy:.3f}; failures:\n" + "\n".join(failures)
    assert grades.counts["timeouts"] == 0 and grades.counts["grader_errors"] == 0, grades.counts
    false_positives = [f for f in failures if "expected False" in f]
    assert not false_positives, "\n".join(false_positives)


# Blind cases whose label differs from a documented policy of the grader (tests/corpus/README.md).
BLIND_POLICY_DIFFERENCES = {
    "blind-magnitude-018": "a decimal with 6 significant digits is the number it rounds to (1.41421 is sqrt 2)",
    "blind-vectors_matrices-005": "a tuple names the same vector as a column matrix",
    "blind-percent_words-005": "a side that wrote a percent sign may be read as value/100 (25% is 0.25)",
}


def test_blind_batch(grader):
    """Cases written without looking at the grader (scored before the fixes they prompted: see
    the corpus README); a regression bar now, apart from the documented policy differences."""
    with open(CORPUS_DIR / "blind.jsonl", encoding="utf-8") as f:
        cases = [json.loads(line) for line in f if line.strip()]
    assert len(cases) >= 200 and len({c["id"] for c in cases}) == len(cases)
    grades = grader.grade([c["response"] for c in cases], [c["gold"] for c in cases])
    wrong = {c["id"]: (c["expected"], v.why) for c, v in zip(cases, grades.verdicts) if v.correct != c["expected"]}
    assert set(BLIND_POLICY_DIFFERENCES) <= set(wrong), "a policy difference is gone: update the list and the README"
    unexplained = {k: v for k, v in wrong.items() if k not in BLIND_POLICY_DIFFERENCES}
    false_positives = {k: v for k, v in unexplained.items() if v[0] is False}
    assert not false_positives, false_positives
    assert len(unexplained) <= 2, unexplained


def test_hostile_suite_is_bounded_and_has_no_side_effects(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # grader processes started below inherit this working directory
    home_before = set(glob.glob(os.path.expanduser("~/rlinf_pwned*")))
    tmp_before = set(glob.glob("/tmp/rlinf_pwned*"))
    cases = load_hostile()
    slow: List[str] = []
    wrong: List[str] = []
    reasons: Dict[str, int] = collections.Counter()
    with MathGrader(num_workers=2) as g:
        g.grade(["\\boxed{x+1}"], ["1+x"])  # start the graders (sympy is needed here) outside the timed part
        for case in cases:
            response = case_response(case)
            start = time.monotonic()
            verdict = g.grade([response], [case["gold"]]).verdicts[0]
            elapsed = time.monotonic() - start
            reasons[verdict.reason] += 1
            if elapsed > HOSTILE_DEADLINE_S:
                slow.append(f"{case['name']}: {elapsed:.2f} s ({verdict.why})")
            if verdict.correct != case["expected"]:
                wrong.append(f"{case['name']}: expected {case['expected']}, got {verdict.correct} ({verdict.why})")
            assert "root:" not in (verdict.answer or "") + verdict.detail  # nothing was read from /etc/passwd
        # The whole suite as one batch: no crash, every verdict present.
        batch = g.grade([case_response(c) for c in cases], [c["gold"] for c in cases])
    assert not slow, slow
    assert not wrong, wrong
    assert reasons[GRADER_ERROR] == 0 and batch.counts["grader_errors"] == 0, reasons
    assert len(batch.verdicts) == len(cases)
    assert os.listdir(tmp_path) == []  # \write18, \openout, open(...) and os.system wrote nothing
    assert set(glob.glob(os.path.expanduser("~/rlinf_pwned*"))) == home_before
    assert set(glob.glob("/tmp/rlinf_pwned*")) == tmp_before


def test_the_judge_never_evaluates_text(monkeypatch):
    """math-verify's expression extractor hands matched text to sympy's ``parse_expr`` (an
    ``eval``); the grader child does not use it. The only ``parse_expr`` calls left are
    latex2sympy's ``sympy.Number(token)`` on number tokens of its LaTeX grammar, so every
    string that reaches ``eval`` must be a number literal."""
    import re

    import math_verify.parser as mv_parser
    import sympy.parsing.sympy_parser as sympy_parser  # sympify imports parse_expr from here per call

    from rlinf_math.grader_child import Judge

    seen: List[str] = []
    original = sympy_parser.parse_expr

    def checked(text: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(text)
        if not re.fullmatch(r"\s*[0-9]*\.?[0-9]*\s*", str(text)):
            raise AssertionError(f"parse_expr was called on {text!r}")
        return original(text, *args, **kwargs)

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("math-verify's expression extractor was used")

    monkeypatch.setattr(sympy_parser, "parse_expr", checked)
    monkeypatch.setattr(mv_parser, "parse_expr", forbidden)
    monkeypatch.setattr(mv_parser, "parse_expr_cached", forbidden)
    judge = Judge()
    assert judge("\\frac{1}{2}", ("0.5",)) is True
    assert judge("1/2", ("\\frac{1}{2}",)) is True
    assert judge("9*9*9", ("729",)) is True
    assert judge("__import__('os').system('true')", ("7",)) is False
    assert judge("(lambda: 7)()", ("7",)) is False
    assert all(re.fullmatch(r"\s*[0-9]*\.?[0-9]*\s*", str(t)) for t in seen)
