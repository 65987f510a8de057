"""The numeric rule (rlinf_math.closeness), the fast path (rlinf_math.fastexpr) and the notations rewritten before comparison
(rlinf_math.forms, rlinf_math.prose), against hand-computed values."""

from decimal import Decimal
from fractions import Fraction

import pytest

from rlinf_math.closeness import decimal_matches, decimals_match, significant_digits
from rlinf_math.fastexpr import evaluate, fast_verdict
from rlinf_math.forms import brace_arguments, canonical_matrix, repeating_decimal, spelled_number
from rlinf_math.prose import concluding_answer


@pytest.mark.parametrize("text, digits", [("0.333333", 6), ("0.0500", 3), ("1.5E+20", 2), ("0", 1), ("120.0", 4)])
def test_significant_digits(text, digits):
    assert significant_digits(Decimal(text)) == digits


@pytest.mark.parametrize(
    "written, value, same",
    [
        ("0.333333", Fraction(1, 3), True),  # rounded (and truncated) to 6 digits
        ("0.666667", Fraction(2, 3), True),  # rounded
        ("0.666666", Fraction(2, 3), True),  # truncated
        ("0.33333", Fraction(1, 3), False),  # 5 digits: must be exact
        ("0.25", Fraction(1, 4), True),  # exact, any length
        ("2.99999", Fraction(3), False),  # neither 3 rounded nor truncated
        ("999999.9", Fraction(1000000), False),
        ("0.000000001", Fraction(1, 2**30), False),  # 1 digit, not exact: the magnitude never helps
        ("1.0E-9", Fraction(2, 10**9), False),
        ("1.00000E-9", Fraction(1, 10**9) + Fraction(1, 10**20), True),  # relative: 6 digits at 1e-9
        ("1.00000E-9", Fraction(2, 10**9), False),
        ("-0.142857", Fraction(-1, 7), True),
        ("0.142857", Fraction(-1, 7), False),
        ("1234567.0000001", Fraction(1234567), False),  # 14 digits written, the last one wrong
    ],
)
def test_decimal_matches(written, value, same):
    assert decimal_matches(Decimal(written), value) is same


def test_decimals_match_takes_the_coarser_side():
    assert decimals_match(Decimal("2.5"), Decimal("2.50"))
    assert decimals_match(Decimal("0.333333"), Decimal("0.3333333333"))
    assert not decimals_match(Decimal("0.3333"), Decimal("0.3333333333"))  # 4 digits: exact only
    assert not decimals_match(Decimal("0.0001"), Decimal("0.0002"))


@pytest.mark.parametrize(
    "raw, braced",
    [
        ("\\frac123", "\\frac{1}{2}\\cdot 3"),  # TeX: 3/2, not 1/23
        ("\\frac112", "\\frac{1}{1}\\cdot 2"),
        ("\\frac\\pi2", "\\frac{\\pi}{2}"),
        ("\\frac 1 2", "\\frac {1} {2}"),
        ("\\frac{1}2", "\\frac{1}{2}"),
        ("\\sqrt23", "\\sqrt{2}3"),
        ("\\sqrt[3]8", "\\sqrt[3]{8}"),
        ("\\frac{\\frac12}{3}", "\\frac{\\frac{1}{2}}{3}"),
        ("\\binom52", "\\binom{5}{2}"),
        ("\\frac{1}{2", "\\frac{1}{2"),  # unbalanced: left for the parser to refuse
    ],
)
def test_brace_arguments(raw, braced):
    assert brace_arguments(raw) == braced


@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("\\begin{pmatrix}1\\\\2\\\\3\\end{pmatrix}", "(1, 2, 3)"),  # a column vector is a tuple
        ("\\begin{bmatrix} 1 \\\\ 2 \\end{bmatrix}", "(1, 2)"),
        ("(\\begin{matrix}1\\\\2\\end{matrix})", "(1, 2)"),
        ("[\\begin{array}{c}1\\\\2\\end{array}]", "(1, 2)"),
        ("\\begin{pmatrix}1&2&3\\end{pmatrix}", "\\begin{pmatrix}1&2&3\\end{pmatrix}"),  # a row stays a matrix
        ("\\begin{bmatrix}1 & 2\\\\3 & 4\\end{bmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}"),
        ("\\begin{vmatrix}1&2\\\\3&4\\end{vmatrix}", "\\begin{vmatrix}1&2\\\\3&4\\end{vmatrix}"),  # a determinant
        ("(\\begin{matrix}1\\\\2\\end{matrix}]", "(\\begin{matrix}1\\\\2\\end{matrix}]"),  # mismatched
    ],
)
def test_canonical_matrix(raw, canonical):
    assert canonical_matrix(raw) == canonical


@pytest.mark.parametrize(
    "raw, fraction",
    [
        ("0.\\overline{3}", "\\frac{1}{3}"),
        ("0.1\\overline{6}", "\\frac{1}{6}"),  # 0.1666...
        ("1.\\overline{27}", "\\frac{14}{11}"),  # 1 + 27/99
        ("0.58\\overline{3}", "\\frac{7}{12}"),  # 58/100 + 3/900
        ("0.\\overline{9}", "1"),
        ("-0.(16)", "-\\frac{16}{99}"),
        ("0.\\dot{3}", "\\frac{1}{3}"),
        ("0.33", None),
    ],
)
def test_repeating_decimal(raw, fraction):
    assert repeating_decimal(raw) == fraction


@pytest.mark.parametrize(
    "raw, digits",
    [("\\text{three}", "3"), ("twelve", "12"), ("\\text{forty-two}", "42"), ("\\text{zero}", "0"),
     ("one hundred", "100"), ("three hundred and five", "305"), ("hundred", None), ("three apples", None)],
)
def test_spelled_number(raw, digits):
    assert spelled_number(raw) == digits


@pytest.mark.parametrize(
    "response, answer",
    [
        ("We count them. Therefore, there are 17 ways.", "17"),
        ("The sides are 4 and 6, so the area is 24 square units.", "24"),
        ("It goes 60 miles per hour for 2.5 hours. Thus the train travels 150 miles in total.", "150"),
        ("Testing, $n=8$ fails and $n=9$ works. Hence $n = 9$.", "n = 9"),
        ("She spent 95. Therefore she has 105 dollars left.", "105"),
        ("Only two arrangements work. Therefore there are two ways.", "2"),
        ("By Vieta the sum is $-b/a = 2$, so the sum of the roots is $2$.", "2"),
        ("So we try 3 and then 4.", None),  # two numbers, no verb: no answer
        ("The first term is 3. We continue with the second", None),  # no conclusion in the last sentence
        ("Therefore, the answer follows from the lemma.", None),  # a conclusion stating nothing
    ],
)
def test_concluding_answer(response, answer):
    assert concluding_answer(response) == answer


@pytest.mark.parametrize(
    "pred, gold, same",
    [
        ("2\\sqrt{3}", "\\sqrt{12}", True),
        ("2\\sqrt{3}", "\\sqrt{13}", False),
        ("\\frac{\\pi}{4}", "\\frac{2\\pi}{8}", True),
        ("-\\frac{3}{2}+1", "-\\frac{1}{2}", True),
        ("(1+\\sqrt{2})^{2}", "3+2\\sqrt{2}", True),
        ("\\frac{\\sqrt{6}-\\sqrt{2}}{4}", "\\frac{1}{\\sqrt{6}+\\sqrt{2}}", True),
        ("\\sqrt[3]{8}", "2", True),
        ("2^{-3}", "\\frac{1}{8}", True),
        ("2^{100}-1", "2^{100}", False),  # exact: one apart at 1e30
        ("\\frac{\\pi}{2^{40}}", "\\frac{\\pi}{2^{41}}", False),  # relative, not absolute
        ("3\\times 4", "12", True),
        ("12 \\div 4", "3", True),
    ],
)
def test_fast_verdict(pred, gold, same):
    assert fast_verdict(pred, gold) is same


@pytest.mark.parametrize(
    "text",
    ["x+1", "\\frac{1}{20!}", "1.5\\sqrt{2}", "\\sqrt{-4}", "2^{1000}", "(1,2)", "\\frac{1}{0}", "2 3", "\\sin 3", "2^{2^{10}}"],
)
def test_fast_path_leaves_the_rest_to_sympy(text):
    assert evaluate(text) is None
