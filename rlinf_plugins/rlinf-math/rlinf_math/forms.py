"""Notations rewritten into one form before comparison: what TeX means, not how it was typed.

Used by :mod:`rlinf_math.normalize`; linear scans and bounded regexes only, like the rest of
normalisation (nothing here parses or evaluates mathematics).

- :func:`brace_arguments`: TeX's brace-less arguments made explicit, as TeX reads them: an
  argument is one character or one control word, so ``\\frac123`` is ``\\frac{1}{2}\\cdot 3``
  (3/2, not 1/23), ``\\frac112`` is ``\\frac{1}{1}\\cdot 2`` (the product is written out:
  math-verify reads ``\\frac{1}{1}2`` as a mixed number) and ``\\sqrt23`` is ``\\sqrt{2}3``.
  math-verify's parser reads ``\\frac123`` as 1/23 (and so matched it with ``\\frac{1}{23}``).
- :func:`canonical_matrix`: ``pmatrix``, ``bmatrix``, ``Bmatrix``, and ``matrix``/``array``
  inside ``(...)`` or ``[...]`` are one notation. A one-column matrix (a column vector) is
  the tuple ``(a, b, c)`` (MATH writes vectors as columns, and a tuple names the same
  vector); any other matrix, a one-row matrix included, stays a matrix, written as
  ``pmatrix``. So a row vector never equals a column vector or a tuple (the grader used to
  turn both into the same tuple). ``vmatrix`` is a determinant and is left alone.
- :func:`repeating_decimal`: ``0.\\overline{3}``, ``0.1\\overline{6}``, ``1.\\overline{27}``
  (also ``\\dot{3}`` for one repeating digit, and ``0.(3)``) become the exact fraction.
- :func:`spelled_number`: ``\\text{three}``, ``twelve``, ``\\text{forty-two}``, ``one
  hundred``: whole numbers zero to 999 spelled out, alone, become digits.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import List, Optional

from rlinf_math.answer import group_end

__all__ = ["brace_arguments", "canonical_matrix", "repeating_decimal", "spelled_number"]

MAX_BRACED_CHARS = 2_000
# Commands whose required arguments TeX reads one token at a time; sqrt has an optional [n].
_ARGUMENTS = {"frac": 2, "binom": 2, "sqrt": 1}
_SHORTHAND_COMMAND = re.compile(r"\\(frac|binom|sqrt)(?![a-zA-Z])")


def _argument_end(s: str, i: int) -> int:
    """End of the single-token argument starting at ``s[i]`` (after spaces), or -1."""
    if i >= len(s):
        return -1
    if s[i] == "\\":
        j = i + 1
        if j < len(s) and s[j].isalpha():
            while j < len(s) and s[j].isalpha():
                j += 1
            return j
        return j + 1 if j < len(s) else -1
    return -1 if s[i] in "{}[]()^_&|" else i + 1


def brace_arguments(s: str) -> str:
    """``s`` with every brace-less argument of ``\\frac``, ``\\binom`` and ``\\sqrt`` braced."""
    if len(s) > MAX_BRACED_CHARS or not _SHORTHAND_COMMAND.search(s):
        return s  # (a longer text is not an answer; each command scans its groups, so bound the work)
    inserts: List[tuple] = []  # (position, text), applied to the original string
    for m in _SHORTHAND_COMMAND.finditer(s):
        i = m.end()
        if m.group(1) == "sqrt":
            while i < len(s) and s[i] == " ":
                i += 1
            if i < len(s) and s[i] == "[":
                close = s.find("]", i)
                if close < 0:
                    break
                i = close + 1
        braced = False
        for _ in range(_ARGUMENTS[m.group(1)]):
            while i < len(s) and s[i] == " ":
                i += 1
            if i < len(s) and s[i] == "{":
                close = group_end(s, i, len(s))
                if close < 0:
                    return s  # unbalanced: leave it as it is, the parser will refuse it
                i = close + 1
                continue
            end = _argument_end(s, i)
            if end < 0:
                break
            inserts.append((i, "{"))
            inserts.append((end, "}"))
            i, braced = end, True
        if braced and m.group(1) != "sqrt" and i < len(s) and s[i].isalnum():
            # \frac112 is (1/1)*2: math-verify reads \frac{1}{1}2 as the mixed number 1 + 2.
            inserts.append((i, "\\cdot "))
    if not inserts:
        return s
    out, last = [], 0
    for pos, text in sorted(inserts, key=lambda t: t[0]):
        out.append(s[last:pos])
        out.append(text)
        last = pos
    out.append(s[last:])
    return "".join(out)


_MATRIX = re.compile(
    r"\\begin\{(?P<env>[pbB]matrix)\}(?P<body>.*)\\end\{(?P=env)\}"
    r"|(?P<open>[(\[])\s*\\begin\{(?P<env2>matrix|array)\}(?:\{[lcr| ]*\})?(?P<body2>.*)\\end\{(?P=env2)\}\s*(?P<close>[)\]])",
    re.DOTALL,
)


def canonical_matrix(s: str) -> str:
    """A matrix answer in one notation: a column vector as a tuple, any other matrix as ``pmatrix``."""
    m = _MATRIX.fullmatch(s)
    if m is None:
        return s
    if m.group("open") and (m.group("open") + m.group("close")) not in ("()", "[]"):
        return s
    body = m.group("body") if m.group("body") is not None else m.group("body2")
    if "\\begin" in body:
        return s  # a nested environment: leave it to the parser
    rows = [r.strip() for r in body.split("\\\\")]
    while rows and not rows[-1]:
        rows.pop()  # a trailing \\ ends the last row
    if not rows:
        return s
    cells = [[c.strip() for c in r.split("&")] for r in rows]
    if len(rows) >= 2 and all(len(r) == 1 for r in cells):
        return "(" + ", ".join(r[0] for r in cells) + ")"
    return "\\begin{pmatrix}" + "\\\\".join("&".join(r) for r in cells) + "\\end{pmatrix}"


_REPEATING = re.compile(
    r"([+-]?)(\d*)\.(\d*)(?:\\overline\s*\{\s*(\d{1,12})\s*\}|\\overline\s*(\d)|\\dot\s*\{\s*(\d)\s*\}|\\dot\s*(\d)"
    r"|\((\d{1,12})\))"
)


def repeating_decimal(s: str) -> Optional[str]:
    """``0.1\\overline{6}`` as ``\\frac{1}{6}``, when ``s`` is exactly a repeating decimal."""
    m = _REPEATING.fullmatch(s.replace(" ", ""))
    if m is None:
        return None
    sign, whole, fixed = m.group(1), m.group(2) or "0", m.group(3)
    cycle = next(g for g in m.groups()[3:] if g)
    if len(whole) > 12 or len(fixed) > 12:
        return None
    # x = whole.fixed(cycle)(cycle)...: the cycle is worth cycle / (10^len - 1), shifted past the fixed digits.
    value = Fraction(int(whole + fixed), 10 ** len(fixed)) + Fraction(int(cycle), (10 ** len(cycle) - 1) * 10 ** len(fixed))
    if sign == "-":
        value = -value
    if value.denominator == 1:
        return str(value.numerator)
    return f"{'-' if value < 0 else ''}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


MAX_SPELLED_CHARS = 60  # "nine hundred and ninety-nine" is 28
_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
        "sixteen seventeen eighteen nineteen".split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SPELLED = re.compile(r"\\text\s*\{([A-Za-z -]+)\}|([A-Za-z -]+)")


def _below_hundred(words: List[str]) -> Optional[int]:
    if len(words) == 1 and words[0] in _ONES:
        return _ONES.index(words[0])
    if len(words) == 1 and words[0] in _TENS:
        return _TENS[words[0]]
    if len(words) == 2 and words[0] in _TENS and words[1] in _ONES[1:10]:
        return _TENS[words[0]] + _ONES.index(words[1])
    return None


def spelled_number(s: str) -> Optional[str]:
    """The digits of a whole number below 1000 spelled out alone (``\\text{three}``), else None."""
    if len(s) > MAX_SPELLED_CHARS:
        return None
    m = _SPELLED.fullmatch(s.strip())
    if m is None:
        return None
    words = (m.group(1) or m.group(2)).lower().replace("-", " ").split()
    if "hundred" in words:
        at = words.index("hundred")
        hundreds = _below_hundred(words[:at]) if at == 1 else None
        rest = [w for w in words[at + 1 :] if w != "and"]
        tail = _below_hundred(rest) if rest else 0
        if hundreds is None or not 1 <= hundreds <= 9 or tail is None:
            return None
        return str(100 * hundreds + tail)
    value = _below_hundred(words)
    return None if value is None else str(value)
