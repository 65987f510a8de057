"""When two numbers are the same answer: exact values exactly, a written decimal by its digits.

The one numeric rule of the grader, used by :mod:`rlinf_math.numbers` (simple numbers, no
sympy) and by the grader child (:mod:`rlinf_math.grader_child`), which puts
:func:`sympy_numeric_eq` in place of math-verify's. The standard library only at import
(sympy is imported inside the sympy functions): the child loads this file by path.

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

from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

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


# ----------------------------------------------------------------------------------------
# The same rule on sympy values (the grader child only; sympy is imported there, not here)
# ----------------------------------------------------------------------------------------
def _written_decimal(value: Any) -> Any:
    """The decimal a model wrote, when ``value`` is one (``0.25``, ``-1.5``, ``1.5\\times 10^{20}``), else None.

    latex2sympy keeps a decimal as a 53-bit Float; its 15-digit ``str`` without trailing zeros is
    the digits as written (trailing zeros written by the model are lost, which only makes the
    decimal count as less precise)."""
    import sympy

    sign, scale = 1, 0
    if isinstance(value, sympy.Mul) and len(value.args) == 2:
        head, tail = value.args
        base, power = tail.as_base_exp() if isinstance(tail, sympy.Pow) else (tail, sympy.Integer(1))
        if isinstance(head, sympy.Float) and base == 10 and isinstance(power, sympy.Integer) and abs(power) < 400:
            value, scale = head, int(power)
        else:
            return None
    elif isinstance(-value, sympy.Float) and not isinstance(value, sympy.Float):
        value, sign = -value, -1
    if not isinstance(value, sympy.Float):
        return None
    text = str(value)
    mantissa, _, exponent = text.partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    try:
        written = Decimal(mantissa + ("e" + exponent if exponent else ""))
    except InvalidOperation:
        return None
    return (-written if sign < 0 else written).scaleb(scale)


def _as_fraction(value: Any, digits: int) -> Any:
    """A real sympy number as a Fraction good to ``digits`` significant digits, else None."""
    approx = value.evalf(digits)
    if not approx.is_real or not approx.is_finite:
        return None
    try:
        return Fraction(Decimal(str(approx)))
    except (InvalidOperation, ValueError):
        return None


def sympy_numeric_eq(a: Any, b: Any, float_rounding: int = 6, numeric_precision: int = 15) -> bool:
    """math-verify's ``sympy_numeric_eq`` with this module's rule (the grader child installs
    it): exact values exactly, a written decimal by its digits, and symbolic values left to
    math-verify's ``simplify`` step (its numeric step chops a small ``x``-coefficient to 0).
    The rounding arguments are math-verify's and are ignored."""
    import sympy
    from sympy import MatrixBase

    if isinstance(a, MatrixBase) and isinstance(b, MatrixBase):
        return a.shape == b.shape and all(sympy_numeric_eq(x, y) for x, y in zip(a, b))
    if not (isinstance(a, sympy.Expr) and isinstance(b, sympy.Expr)):
        return False
    if a.free_symbols or b.free_symbols or a.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        return False
    wa, wb = _written_decimal(a), _written_decimal(b)
    if wa is not None and wb is not None:
        return bool(decimals_match(wa, wb))
    if wa is not None or wb is not None:
        written, other = (wa, b) if wa is not None else (wb, a)
        value = _as_fraction(other, max(30, significant_digits(written) + 10))
        return value is not None and bool(decimal_matches(written, value))
    diff = a - b
    if diff.is_Rational:  # sympy did the exact arithmetic: 2^{100}-1 against 2^{100}
        return bool(diff == 0)
    if a.has(sympy.Float) or b.has(sympy.Float):  # a float inside an expression (1.5\\sqrt{2})
        relative = 1e-12  # equal up to float noise
    else:
        relative = 1e-50  # exact values: evalf finds a true zero, or the difference's own digits
    value = sympy.Abs(diff.evalf(30))
    if value == 0 or (isinstance(value, sympy.Float) and value._mpf_[1] == 0):
        return True
    scale = sympy.Max(sympy.Abs(a.evalf(30)), sympy.Abs(b.evalf(30)))
    return bool(value <= relative * scale)
