"""The math reward: hand-labelled verdicts, answer extraction, and bounded time on hostile input."""

from __future__ import annotations

import os
import threading
import time
from typing import List

import pytest

from rlinf_math import MathReward, MathRewardConfig, verify
from rlinf_math.answer import FOUND, NO_ANSWER, TOO_LONG, extract_boxed, gold_answer
from rlinf_math.grader_pool import CORRECT, ERROR, INCORRECT, TIMEOUT, GraderPool

POWER_TOWER = "\\boxed{10^{10^{10^{10}}}}"  # math-verify does not return from this for minutes
FACTORIAL_BOMB = "\\boxed{1000000!}"  # ~9 s of sympy without a deadline
SLOW_BUT_ALLOWED = "\\boxed{(x+1)^{60}}"  # passes the guards; comparing it takes sympy ~0.1-1 s


@pytest.fixture(scope="module")
def reward():
    r = MathReward(MathRewardConfig())  # the defaults: +5/-5, 1.5 s, 2 graders
    yield r
    r.close()


# (response, reference solutions, correct?)
CASES = [
    ("The answer is \\boxed{42}.", ["\\boxed{42}"], True),
    ("\\boxed{41}", ["\\boxed{42}"], False),
    ("So $x = \\boxed{-7}$", ["\\boxed{-7}"], True),
    ("\\boxed{7}", ["\\boxed{-7}"], False),
    ("\\boxed{012}", ["12"], True),
    ("\\boxed{0.5}", ["\\boxed{\\frac{1}{2}}"], True),
    ("\\boxed{\\frac12}", ["0.5"], True),
    ("\\boxed{\\dfrac{3}{4}}", ["\\boxed{0.75}"], True),
    ("\\boxed{0.3}", ["\\boxed{\\frac{1}{3}}"], False),
    ("\\boxed{-\\frac{1}{2}}", ["\\boxed{-0.5}"], True),
    ("\\boxed{2\\sqrt{2}}", ["\\boxed{\\sqrt{8}}"], True),
    ("\\boxed{x+1}", ["1+x"], True),
    ("\\boxed{x+2}", ["1+x"], False),
    ("first \\boxed{3}, on reflection \\boxed{5}", ["\\boxed{5}"], True),  # the last box wins
    ("first \\boxed{5}, on reflection \\boxed{3}", ["\\boxed{5}"], False),
    ("the answer is 42", ["42"], True),  # no box: the final stated answer
    ("42 is what I get, I think", ["42"], False),  # no box and no answer phrase: no answer
    ("\\boxed{\\frac{\\sqrt{3}}{2}}", ["\\boxed{\\frac{\\sqrt3}{2}}"], True),  # nested braces
    ("\\boxed{\\{1, 2\\}}", ["\\{1,2\\}"], True),  # escaped braces
    ("\\boxed{\\frac{1}{2}", ["\\frac{1}{2}"], False),  # never closed: truncated
    ("thus \\boxed 5.", ["5"], True),
    ("\\fbox{12}", ["12"], True),
    ("\\boxed{9}", ["\\boxed{3}", "\\boxed{9}"], True),  # any solution matching counts
    ("\\boxed{\\frac{9}{3}}", ["\\boxed{2}", "\\boxed{3}"], True),
    ("\\boxed{4}", ["\\boxed{3}", "\\boxed{9}"], False),
]


def test_hand_labelled_cases(reward):
    responses = [c[0] for c in CASES]
    result = reward.score(responses, [c[1] for c in CASES])
    wrong = [(c, s) for c, s in zip(CASES, result.scores) if (s == 5.0) != c[2]]
    assert not wrong, wrong
    assert result.components["correct"] == [1.0 if c[2] else 0.0 for c in CASES]
    assert set(result.scores) == {5.0, -5.0}
    assert result.metrics["reward/no_answer"] == 2.0  # "42 is what I get" and the unclosed box
    assert result.metrics["reward/timeouts"] == 0.0
    assert result.metrics["reward/grader_errors"] == 0.0


def test_custom_scores_and_no_answer(reward):
    r = MathReward(MathRewardConfig(correct_score=1.0, incorrect_score=0.0, num_workers=1))
    try:
        result = r.score(["\\boxed{3}", "\\boxed{4}", "no box"], [["3"], ["3"], ["3"]])
    finally:
        r.close()
    assert result.scores == [1.0, 0.0, 0.0]
    assert result.metrics["reward/no_answer"] == 1.0


def test_length_mismatch_is_an_error(reward):
    with pytest.raises(ValueError, match="pair up"):
        reward.score(["\\boxed{1}"], [])


def test_score_from_a_worker_thread(reward):
    out: List[float] = []
    thread = threading.Thread(target=lambda: out.extend(reward.score(["\\boxed{\\sqrt{2}}"], [["1.414214"]]).scores))
    thread.start()
    thread.join(30)
    assert out == [5.0]  # math-verify's signal.alarm would fail on a thread; the graders run it instead


def test_verify_single_calls():
    assert verify("so \\boxed{\\frac{1}{2}}", "0.5") is True
    assert verify("\\boxed{2}", ["\\boxed{3}", "2.0"]) is True
    assert verify("\\boxed{2}", "\\boxed{3}") is False
    assert verify("no box at all", "3") is False


@pytest.mark.parametrize(
    "text, status, answer",
    [
        ("\\boxed{7}", FOUND, "7"),
        ("a \\boxed{1} b \\boxed{\\frac{1}{2}} c", FOUND, "\\frac{1}{2}"),
        ("\\boxed {4}", FOUND, "4"),
        ("$\\boxed 5$.", FOUND, "5"),
        ("\\fbox{\\text{B}}", FOUND, "\\text{B}"),
        ("\\boxed{}", NO_ANSWER, None),
        ("\\boxedx{3}", NO_ANSWER, None),
        ("\\boxed{" + "1" * 1001 + "}", TOO_LONG, None),
        ("\\boxed{" + "1" * 1000 + "}", FOUND, "1" * 1000),
    ],
)
def test_extract_boxed(text, status, answer):
    found = extract_boxed(text)
    assert (found.status, found.text) == (status, answer)


def test_gold_answer():
    assert gold_answer("\\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert gold_answer(" $12$ ") == "12"
    assert gold_answer("x = 3") == "x = 3"


def test_hostile_responses_are_bounded():
    r = MathReward(MathRewardConfig(timeout_s=1.0))
    try:
        r.score(["\\boxed{\\sqrt{2}}"], [["1.414214"]])  # start the graders outside the timed part
        megabyte = "x " * 500_000
        responses = [
            POWER_TOWER,  # refused by the guards, never reaches sympy
            FACTORIAL_BOMB,  # refused by the guards
            megabyte + "\\boxed{\\frac{2}{4}}",  # 1 MB of text, a sound answer at the end
            megabyte,  # 1 MB, no box
            "\\boxed{" + "9" * 1_000_000 + "}",  # a 1 MB answer: too long to parse
            "\\boxed{" + "(" * 500_000,  # an unclosed 1 MB box
            "\\boxed{\\frac{1}{2}}",
            SLOW_BUT_ALLOWED,  # reaches a grader: bounded by the 1 s deadline
        ]
        start = time.monotonic()
        result = r.score(responses, [["\\boxed{7}"], ["7"], ["0.5"], ["7"], ["9"], ["7"], ["0.5"], ["x^2"]])
        elapsed = time.monotonic() - start
    finally:
        r.close()
    assert result.components["correct"] == [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert result.metrics["reward/guard_rejections"] == 2.0
    assert result.metrics["reward/answer_too_long"] == 2.0
    assert result.metrics["reward/no_answer"] == 1.0
    assert result.metrics["reward/grader_errors"] == 0.0
    assert elapsed < 5.0, elapsed  # at most one 1 s deadline, plus slack for a loaded machine


def test_tiny_deadline_counts_timeouts():
    r = MathReward(MathRewardConfig(timeout_s=0.05, num_workers=1))
    try:
        result = r.score([SLOW_BUT_ALLOWED, "\\boxed{3}"], [["x^2"], ["3"]])
    finally:
        r.close()
    assert result.scores == [-5.0, 5.0]  # (the plain integers need no grader, so no race with 50 ms)
    assert result.metrics["reward/timeouts"] == 1.0


def test_metrics_name_every_counter(reward):
    result = reward.score(["\\boxed{1}"], [["1"]])
    assert set(result.metrics) == {
        "reward/timeouts",
        "reward/no_answer",
        "reward/answer_too_long",
        "reward/grader_errors",
        "reward/guard_rejections",
        "reward/unsafe_golds",
    }


def test_box_only_config():
    r = MathReward(MathRewardConfig(answer_phrases=False, num_workers=1))
    try:
        result = r.score(["The answer is 7.", "\\boxed{7}"], [["7"], ["7"]])
    finally:
        r.close()
    assert result.scores == [-5.0, 5.0]
    assert result.metrics["reward/no_answer"] == 1.0


def test_overrunning_child_is_killed_and_its_chunk_resubmitted():
    # Without the child's own soft deadline only the parent's kill can stop the power tower.
    pool = GraderPool(num_workers=1, timeout_s=0.5, soft_timeout=False)
    try:
        pool.run([("1", ("1",))])
        pid = pool._children[0].proc.pid
        items = [("\\frac{1}{2}", ("0.5",)), ("10^{10^{10^{10}}}", ("7",)), ("2", ("2.0",)), ("3", ("4",))]
        assert pool.run(items) == [CORRECT, TIMEOUT, CORRECT, INCORRECT]  # one chunk: the rest was re-sent
        assert pool.stats["killed"] == 1 and pool.stats["started"] == 2
        assert pool._children[0].proc.pid != pid
        assert _gone(pid)
    finally:
        pool.close()


def test_dead_child_is_an_error_and_the_rest_completes():
    pool = GraderPool(num_workers=1, timeout_s=30.0, soft_timeout=False)
    try:
        pool.run([("1", ("1",))])
        pid = pool._children[0].proc.pid
        threading.Timer(0.5, lambda: os.kill(pid, 9)).start()  # dies in the middle of the power tower
        outcomes = pool.run([("10^{10^{10^{10}}}", ("7",)), ("\\frac{1}{2}", ("0.5",))])
        assert outcomes == [ERROR, CORRECT]
        assert pool.stats["errors"] == 1
    finally:
        pool.close()


def test_close_stops_the_graders_and_the_pool_restarts():
    r = MathReward(MathRewardConfig(num_workers=1))
    assert r.score(["\\boxed{\\sqrt{2}}"], [["1.414214"]]).scores == [5.0]  # needs a grader process
    pids = [c.proc.pid for c in r.pool._children]
    r.close()
    assert all(_gone(pid) for pid in pids)
    assert r.score(["\\boxed{\\sqrt{2}}"], [["1.414214"]]).scores == [5.0]  # lazily started again
    r.close()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as f:  # a zombie not reaped yet also counts as gone
        return f.read().split(")")[-1].split()[0] == "Z"


def test_typical_answers_never_start_a_grader_process():
    """Integers, fractions, decimals and short numeric expressions are decided in the parent:
    no grader process (and so no sympy) is started for them."""
    r = MathReward(MathRewardConfig(start_graders_early=False))
    try:
        responses = ["\\boxed{42}", "\\boxed{\\frac{3}{6}}", "\\boxed{0.25}", "\\boxed{2\\sqrt{3}}", "\\boxed{\\frac{\\pi}{4}}",
                     "\\boxed{1,234}", "Therefore, there are 17 ways.", "\\boxed{\\sqrt{13}}", "no answer here"]
        golds = [["42"], ["\\frac12"], ["\\frac14"], ["\\sqrt{12}"], ["\\frac{2\\pi}{8}"], ["1234"], ["17"], ["2\\sqrt{3}"], ["7"]]
        result = r.score(responses, golds)
        assert result.scores == [5.0] * 7 + [-5.0, -5.0]
        assert r.pool.stats["started"] == 0
    finally:
        r.close()


def test_start_launches_the_grader_processes_without_waiting():
    r = MathReward(MathRewardConfig(num_workers=2))
    try:
        t0 = time.monotonic()
        r.start()
        assert time.monotonic() - t0 < 1.0  # math-verify's import happens in the children, later
        assert r.pool.stats["started"] == 2
        assert r.score(["\\boxed{x+1}"], [["1+x"]]).scores == [5.0]  # needs sympy: waits for a child
        assert r.pool.stats["started"] == 2  # no further process was needed
    finally:
        r.close()
