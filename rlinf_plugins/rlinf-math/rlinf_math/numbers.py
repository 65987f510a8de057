"""Simple numbers, read and compared without sympy: the grader's fast path.

:func:`number` reads integers, decimals, ``a/b``, ``\\frac{a}{b}``, ``a\\times 10^{b}`` and
``10^{b}`` from a normalised answer (:mod:`rlinf_math.normalize`, which has already braced
TeX's ``\\frac12``);
:func:`numbers_equal` decides two of them with :mod:`rlinf_math.closeness` (exact values
exactly, a written decimal by its digits), so typical answers never start sympy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Optional

from rlinf_math.closeness import decimal_matches, decimals_match
from rlinf_math.normalize import Normalized

__all__ = ["Number", "number", "numbers_equal"]

_MAX_DIGITS = 400

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_FRAC = re.compile(r"([+-]?)\\frac\s*\{\s*([+-]?\d+)\s*\}\s*\{\s*([+-]?\d+)\s*\}")
_SLASH = re.compile(r"([+-]?\d+)\s*/\s*(\d+)")
_TIMES_TEN = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))\s*\\times\s*10\s*\^\s*(?:\{\s*([+-]?\d{1,3})\s*\}|([0-9]))")
_TEN_POW = re.compile(r"10\s*\^\s*(?:\{\s*([+-]?\d{1,3})\s*\}|([0-9]))")
_PAREN = re.compile(r"\(\s*([^()]*)\s*\)")


@dataclass(frozen=True)
class Number:
    """An exact value, and the decimal as written when it was written as one."""

    value: Fraction
    written: Optional[Decimal] = None

    @property
    def decimal(self) -> bool:
        return self.written is not None

    def over_100(self) -> "Number":
        return Number(self.value / 100, self.written.scaleb(-2) if self.written is not None else None)


def number(text: str) -> Optional[Number]:
    """The value of ``text`` if it is a simple number, else None."""
    s = text.replace(" ", "")
    if len(s) > _MAX_DIGITS:
        return None
    m = _PAREN.fullmatch(s)
    if m:
        s = m.group(1)
    if _DECIMAL.fullmatch(s):
        return Number(Fraction(s), Decimal(s) if "." in s else None)
    m = _FRAC.fullmatch(s)
    if m:
        num, den = int(m.group(2)), int(m.group(3))
        if den == 0:
            return None
        value = Fraction(num, den)
        return Number(-value if m.group(1) == "-" else value)
    m = _SLASH.fullmatch(s)
    if m:
        den = int(m.group(2))
        return Number(Fraction(int(m.group(1)), den)) if den else None
    m = _TIMES_TEN.fullmatch(s)
    if m:
        exp = int(m.group(2) or m.group(3))
        mantissa = m.group(1)
        written = Decimal(mantissa).scaleb(exp) if "." in mantissa else None
        return Number(Fraction(mantissa) * Fraction(10) ** exp, written)
    m = _TEN_POW.fullmatch(s)
    if m:
        return Number(Fraction(10) ** int(m.group(1) or m.group(2)))
    return None


def _same(a: Number, b: Number) -> bool:
    if a.written is not None and b.written is not None:
        return decimals_match(a.written, b.written)
    if a.written is not None:
        return decimal_matches(a.written, b.value)
    if b.written is not None:
        return decimal_matches(b.written, a.value)
    return a.value == b.value


def numbers_equal(pred: Normalized, gold: Normalized) -> Optional[bool]:
    """The verdict when both answers are simple numbers (None otherwise).

    See :mod:`rlinf_math.closeness` for when two numbers are equal. A side that wrote a
    percent sign may also be read as value/100.
    """
    p, g = number(pred.text), number(gold.text)
    if p is None or g is None:
        return None
    preds = [p]
    golds = [g]
    if pred.percent and not gold.percent:
        preds.append(p.over_100())
    if gold.percent and not pred.percent:
        golds.append(g.over_100())
    return any(_same(a, b) for a in preds for b in golds)
