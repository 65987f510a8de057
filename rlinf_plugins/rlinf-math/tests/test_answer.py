"""Extraction, multiple choice, normalisation and guards (no grader processes involved)."""

from __future__ import annotations

import time

import pytest

from rlinf_math import extract_answer, extract_choice, gold_answer, normalize
from rlinf_math.answer import FOUND, FROM_BOXES, FROM_PHRASE, NO_ANSWER, TOO_LONG, extract_final_answer
from rlinf_math.guards import refuse
from rlinf_math.numbers import number, numbers_equal


@pytest.mark.parametrize(
    "text, status, answer",
    [
        ("The roots are \\boxed{2} and \\boxed{3}.", FOUND, "2, 3"),
        ("$\\boxed{1}\\boxed{2}$", FOUND, "1, 2"),
        ("so $x = \\boxed{-1}$, $x = \\boxed{4}$", FOUND, "-1, 4"),
        ("first \\boxed{3}, on reflection the count is \\boxed{5}", FOUND, "5"),  # text between: not a list
        ("Part (a): \\boxed{3}. Part (b): \\boxed{7}.", FOUND, "7"),
        ("\\boxed{5} and \\boxed{5}", FOUND, "5"),  # repeated boxes collapse
        ("Final Answer: The final answer is $28\\%$. I hope it is correct.", FOUND, "28\\%"),
        ("Final Answer: The largest $n$ is 34.", FOUND, "34"),
        ("Answer: 42", FOUND, "42"),
        ("**Answer:** $\\frac{1}{2}$", FOUND, "\\frac{1}{2}"),
        ("The answer is 5. Actually, the answer is 6.", FOUND, "6"),
        ("The answer is $x=3$ or $x=-3$.", FOUND, "x=3, x=-3"),
        ("Natalia sold 72 clips.\n#### 72", FOUND, "72"),
        ("The final answer is: 3", FOUND, "3"),
        ("Hence the answer is", NO_ANSWER, None),
        ("the final answer is $\\frac{1}{", NO_ANSWER, None),  # math never closed: truncated
        ("I get \\boxed{3}. So the final answer is \\boxed{", NO_ANSWER, None),  # no fall-back
        ("The answer is 3, see \\boxed{}", NO_ANSWER, None),  # a box exists: phrases are not used
        ("Let me compute 2+3 = 5. Then", NO_ANSWER, None),  # a bare number is never an answer
    ],
)
def test_extract_answer(text, status, answer):
    found = extract_answer(text)
    assert (found.status, found.text) == (status, answer)


def test_extraction_sources_and_bounds():
    assert extract_answer("\\boxed{2} and \\boxed{3}").source == FROM_BOXES
    assert extract_answer("Answer: 3").source == FROM_PHRASE
    assert extract_answer("Answer: 3", phrases=False).status == NO_ANSWER
    assert extract_final_answer("Answer: " + "9" * 2000).status == TOO_LONG
    huge = "Answer: " * 200_000 + "x" * 1_000_000
    start = time.monotonic()
    extract_answer(huge)
    extract_answer("\\boxed{1} " * 100_000)
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize(
    "text, letters, letter",
    [
        ("so the answer is $\\boxed{B}$", "ABCD", "B"),
        ("\\boxed{(B)}", "ABCD", "B"),
        ("$\\boxed{\\text{(C)}}$", "ABCD", "C"),
        ("\\boxed{\\textbf{(E)}\\ 12}", "ABCDE", "E"),
        ("Answer: D", "ABCD", "D"),
        ("I first thought (A), but checking again, the answer is (B).", "ABCD", "B"),
        ("The answer is (B).\nWait, no. The final answer is (A).", "ABCD", "A"),  # the last one stated
        ("After computing, the answer is C. Option A is wrong.", "ABCD", "C"),
        ("Lots of reasoning.\n\n(C)", "ABCD", "C"),  # alone on the last line
        ("Both (A) and (C) look plausible.", "ABCD", None),  # mentioned, not answered
        ("Answer: F", "ABCD", None),  # not a valid choice
        ("Answer: A) 12", "ABCD", "A"),
        ("Comparing all four, the correct choice is B.", "ABCD", "B"),
        ("\\boxed{42}", "ABCD", None),
    ],
)
def test_extract_choice(text, letters, letter):
    assert extract_choice(text, letters) == letter


def test_gold_answer():
    assert gold_answer("\\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert gold_answer(" $12$ ") == "12"
    assert gold_answer("x = 3") == "x = 3"
    solution = "The perimeter is $24$, the semiperimeter $12$, so $r = \\boxed{2}$."
    assert gold_answer(solution) == "2"
    assert gold_answer("48/2 = <<48/2=24>>24 clips.\n#### 72") == "72"
    assert gold_answer("The answer is 5.") == "5"


@pytest.mark.parametrize(
    "raw, text, percent, unit",
    [
        ("15\\mbox{ cm}^2", "15", False, ("cm", 2)),
        ("\\$16,\\!386.20", "16386.20", False, None),
        ("14{,}916", "14916", False, None),
        ("1\\,000\\,000", "1000000", False, None),
        ("32, 349", "32, 349", False, None),  # a list of two numbers, not a thousands separator
        ("28 percent", "28", True, None),
        ("90^\\circ", "90", False, None),
        ("\\dfrac{3}{4}", "\\frac{3}{4}", False, None),
        ("2\\frac{1}{2}", "\\frac{5}{2}", False, None),
        ("3e5", "3\\times 10^{5}", False, None),
        ("x \\in [-2,7]", "[-2,7]", False, None),
        ("\\textbf{(B)}\\ 12", "12", False, None),
        ("\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", False, None),
        ("\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}", "(2, 1)", False, None),  # a column vector is a tuple
        ("\\begin{pmatrix} 2 & 1 \\end{pmatrix}", "\\begin{pmatrix}2&1\\end{pmatrix}", False, None),  # a row is not
        ("\\left(\\begin{matrix} 2 \\\\ 1 \\end{matrix}\\right)", "(2, 1)", False, None),
        ("\\frac123", "\\frac{1}{2}\\cdot 3", False, None),  # TeX: one token per argument
        ("\\sqrt[3]8", "\\sqrt[3]{8}", False, None),
        ("0.1\\overline{6}", "\\frac{1}{6}", False, None),
        ("0.(3)", "\\frac{1}{3}", False, None),
        ("\\text{twenty-one}", "21", False, None),
        ("4 4/9", "\\frac{40}{9}", False, None),
        ("25 per cent", "25", True, None),
        ("\\langle 1, 2 \\rangle", "(1, 2)", False, None),
        ("\\approx 3.14", "3.14", False, None),
        ("\\tan 45^\\circ", "\\tan \\frac{45\\pi}{180}", False, None),
        ("\u22127", "-7", False, None),
        ("3 apples", "3", False, None),
        ("\\text{Evelyn}", "\\text{Evelyn}", False, None),
    ],
)
def test_normalize(raw, text, percent, unit):
    n = normalize(raw)
    assert (n.text, n.percent, n.unit) == (text, percent, unit)


def test_numbers_compare_exactly_or_at_six_places():
    assert numbers_equal(normalize("0.333333"), normalize("\\frac{1}{3}")) is True
    assert numbers_equal(normalize("0.33"), normalize("\\frac{1}{3}")) is False
    assert numbers_equal(normalize("\\frac{2}{4}"), normalize("0.5")) is True
    assert numbers_equal(normalize("28\\%"), normalize("0.28")) is True  # the percent side may be /100
    assert numbers_equal(normalize("28"), normalize("0.28")) is False  # no percent sign: literal
    assert numbers_equal(normalize("12.5"), normalize("0.125")) is False
    assert numbers_equal(normalize("x"), normalize("1")) is None
    assert number("1.5\\times 10^{-3}").value * 1000 == 1.5


@pytest.mark.parametrize(
    "text",
    [
        "10^{10^{10^{10}}}", "9^{9^{9}}", "2^{1000000000}", "10^{-10^{10}}", "10^10^10^10", "1e999999",
        "1000000!", "(10^{6})!", "10!!!", "((100!)!)!", "\\binom{10^{9}}{5}", "\\Gamma(10^{8})",
        "\\sum_{i=1}^{10^{10}} i", "(x+1)^{1000}", "{" * 20 + "1" + "}" * 20, "9" * 500,
        "+".join(["1"] * 200), "\\input{/etc/passwd}", "\\immediate\\write18{ls}", "\\def\\x{1}",
        "__import__('os')", "eval('1')", "1\x002", "\u202e7", "\ud800",
    ],
)
def test_guards_refuse(text):
    assert refuse(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{15+2\\sqrt{33}}", "2^{10}", "e^{x^2}", "2^{2^{5}}", "5!",
        "\\binom{8}{3}", "\\sum_{k=1}^{n} k^3", "(x+1)^{2}", "10^{-3}", "6.02\\times10^{23}",
        "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}", "[-1, -\\frac{1}{2}) \\cup (1, \\infty)", "\\lambda + 1",
    ],
)
def test_guards_allow_ordinary_answers(text):
    assert refuse(text) is None
