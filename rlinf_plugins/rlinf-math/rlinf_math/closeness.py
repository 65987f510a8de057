"""When two numbers are the same answer: exact values exactly, a written decimal by its digits.

The one numeric rule of the grader, used by :mod:`rlinf_math.numbers` (simple numbers, no
sympy) and by the grader child (:mod:`rlinf_math.grader_child`), which puts it in place of
math-verify's ``sympy_numeric_eq``. Standard library only: the child loads this file by path.

- **Both sides exact** (integers, fractions, roots, pi, factorials ...): equal only when
  equal. No tolerance, so ``1/20!`` is not ``2/20!`` and ``2^{60}`` is not ``2^{60}+1``.
- **A written decimal against an exact value**: equal when the decimal is that value
  rounded, or truncated, to the digits written, and at least :data:`MIN_SIGNIFICANT`
  significant digits were written (``0.333333`` and ``0.666666`` are 1/3 and 2/3;
  ``1.41421`` is sqrt 2). A shorter decimal must be exact: ``0.25`` is 1/4, but ``3.14`` is
  not pi and ``0.33`` is not 1/3. The tolerance is relative by construction: it is one unit
  in the last written digit, whatever the magnitude, so ``1.0\\times10^{-9}`` is not
  ``2\\times10^{-9}`` and ``0.000000001`` is not ``2^{-30}``.
- **Two written decimals**: equal when equal as numbers, or when the less precise one is
  the other rounded or truncated and has at least :data:`MIN_SIGNIFICANT` digits.

Deviation from math-verify 0.9 (which RLinf's reward calls): it rounds both sides to 6
decimal *places* when one is a float, so every pair of values below 5e-7 is equal and large
values need 6 places more than their integer part; and it decides exact values with
``evalf(chop=True)``, which chops any difference below about 1e-15 to zero, so ratios of
factorials or of large powers of two that differ by a factor of two passed as equal.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

MIN_SIGNIFICANT = 6


def significant_digits(written: Decimal) -> int:
    """How many significant digits a decimal was written with (``0.0500`` has 3)."""
    digits = written.as_tuple().digits
    stripped = len(digits)
    for d in digits:
        if d != 0:
            break
        stripped -= 1
    return max(stripped, 1)


def _unit_in_last_place(written: Decimal) -> Fraction:
    exponent = written.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"not a finite decimal: {written!r}")
    return Fraction(10) ** exponent


def decimal_matches(written: Decimal, value: Fraction) -> bool:
    """Whether a decimal as written is ``value`` (exact, or rounded/truncated to its digits)."""
    if not written.is_finite():
        return False
    shown = Fraction(written)
    if shown == value:
        return True
    if significant_digits(written) < MIN_SIGNIFICANT:
        return False
    ulp = _unit_in_last_place(written)
    if abs(value - shown) * 2 <= ulp:  # rounded to the nearest
        return True
    # Truncated: same sign, and the value lies less than one unit beyond the digits shown.
    return (shown >= 0) == (value >= 0) and 0 < abs(value) - abs(shown) < ulp


def decimals_match(a: Decimal, b: Decimal) -> bool:
    """Two written decimals: equal, or the less precise one is the other cut to its digits."""
    if not (a.is_finite() and b.is_finite()):
        return False
    if Fraction(a) == Fraction(b):
        return True
    coarse, fine = (a, b) if _unit_in_last_place(a) >= _unit_in_last_place(b) else (b, a)
    return decimal_matches(coarse, Fraction(fine))
