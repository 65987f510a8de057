"""Short numeric LaTeX expressions evaluated without sympy: the fast path for typical answers.

``2\\sqrt{3}`` against ``\\sqrt{12}``, ``\\frac{\\pi}{4}`` against ``\\frac{2\\pi}{8}``,
``-\\frac{3}{2}+1`` against ``-\\frac12``: most answers that are not plain numbers are short
expressions in integers, ``+ - \\cdot \\times / \\div``, ``\\frac``, ``\\sqrt``, ``\\sqrt[n]``,
``\\pi``, integer powers and parentheses. :func:`fast_verdict` evaluates both sides with a
small recursive-descent parser (no ``eval``, no sympy) and decides:

- both sides rational: equal exactly (:class:`fractions.Fraction` arithmetic);
- otherwise both are evaluated with mpmath at :data:`DIGITS` significant digits and are
  equal when they agree to :data:`EQUAL_DIGITS` of them (a true zero difference loses only
  the last few; distinct closed forms this short do not agree to 40 digits), as the grader
  child decides exact values (:func:`rlinf_math.closeness.sympy_numeric_eq`, there to 50).

A plain decimal against such an expression is compared by :mod:`rlinf_math.closeness`
(``1.414214`` against ``\\sqrt{2}``), and tuples element by element (``(1, \\frac{5}{2})``
against ``(1, 2.5)``). Anything else (a variable, a decimal inside an expression, a set or an
interval, a factorial, a function, a negative number under a root, a power over
:data:`MAX_POWER`) returns None and goes to the grader processes as before. Inputs have
already passed :mod:`rlinf_math.guards`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import Any, List, Optional, Union

from rlinf_math.closeness import decimal_matches, decimals_match

__all__ = ["fast_verdict", "evaluate"]

DIGITS = 60
EQUAL_DIGITS = 40
MAX_POWER = 512
MAX_BITS = 4096  # an exact intermediate value larger than this is left to sympy

Value = Union[Fraction, Any]  # exact, or an mpmath number (imported on first use)

_TOKEN = re.compile(
    r"\s*(?:(\d+)|(\\frac|\\sqrt|\\pi|\\cdot|\\times|\\div)(?![a-zA-Z])|([-+*/^()\[\]{}]))"
)


class _Unsupported(Exception):
    """Not an expression this parser decides: leave it to the grader processes."""


def _tokens(text: str) -> List[str]:
    out: List[str] = []
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise _Unsupported
        out.append(m.group(1) or m.group(2) or m.group(3))
        pos = m.end()
    return out


def _real(value: Value) -> object:
    import mpmath

    return mpmath.mpf(value.numerator) / value.denominator if isinstance(value, Fraction) else value


def _check(value: Fraction) -> Fraction:
    if value.numerator.bit_length() > MAX_BITS or value.denominator.bit_length() > MAX_BITS:
        raise _Unsupported
    return value


def _root(value: Value, degree: int) -> Value:
    if degree < 1 or degree > 64:
        raise _Unsupported
    if isinstance(value, Fraction):
        if value < 0 and degree % 2 == 0:
            raise _Unsupported  # imaginary: sympy's business
        if value < 0:
            return -_root(-value, degree)
        num, den = _int_root(value.numerator, degree), _int_root(value.denominator, degree)
        if num is not None and den is not None:
            return Fraction(num, den)
    import mpmath

    real = _real(value)
    if real < 0:
        if degree % 2 == 0:
            raise _Unsupported
        return -mpmath.root(-real, degree)
    return mpmath.root(real, degree)


def _int_root(n: int, degree: int) -> Optional[int]:
    guess = round(n ** (1.0 / degree)) if n < 2**1000 else None
    if guess is None:
        return None
    for r in (guess - 1, guess, guess + 1):
        if r >= 0 and r**degree == n:
            return r
    return None


def _power(base: Value, exponent: Value) -> Value:
    if not isinstance(exponent, Fraction) or exponent.denominator != 1 or abs(exponent) > MAX_POWER:
        raise _Unsupported
    e = int(exponent)
    if isinstance(base, Fraction):
        if base == 0 and e < 0:
            raise _Unsupported
        return _check(base**e)
    return base**e


def _combine(a: Value, b: Value, op: str) -> Value:
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        if op == "/" and b == 0:
            raise _Unsupported
        return _check({"+": a + b, "-": a - b, "*": a * b}[op] if op != "/" else a / b)
    x, y = _real(a), _real(b)
    if op == "/" and y == 0:
        raise _Unsupported
    return {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y, "/": lambda: x / y}[op]()


class _Parser:
    def __init__(self, tokens: List[str]) -> None:
        self.t = tokens
        self.i = 0

    def peek(self) -> Optional[str]:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, expected: Optional[str] = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise _Unsupported
        self.i += 1
        return tok

    def expr(self) -> Value:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            value = _combine(value, self.term(), op)
        return value

    def term(self) -> Value:
        value = self.signed()
        while True:
            tok = self.peek()
            if tok in ("*", "\\cdot", "\\times", "/", "\\div"):
                self.take()
                value = _combine(value, self.signed(), "/" if tok in ("/", "\\div") else "*")
            elif tok is not None and (tok in ("\\frac", "\\sqrt", "\\pi", "(", "{") or (tok.isdigit() and self.t[self.i - 1] in ("\\pi", ")", "}"))):
                value = _combine(value, self.power(), "*")  # implicit product: 2\sqrt{3}, 3\pi
            else:
                return value

    def signed(self) -> Value:
        negative = False
        while self.peek() in ("+", "-"):
            negative ^= self.take() == "-"
        value = self.power()
        return -value if negative else value

    def power(self) -> Value:
        base = self.atom()
        if self.peek() == "^":
            self.take()
            if self.peek() == "{":
                exponent = self.group()
            else:
                tok = self.take()
                if not tok.isdigit():
                    raise _Unsupported
                exponent = Fraction(int(tok[0]))
                if len(tok) > 1:  # x^23 is x^2 3 in TeX
                    self.t.insert(self.i, tok[1:])
            if self.peek() == "^":
                raise _Unsupported  # chained superscripts
            base = _power(base, exponent)
        return base

    def group(self) -> Value:
        self.take("{")
        value = self.expr()
        self.take("}")
        return value

    def atom(self) -> Value:
        tok = self.take()
        if tok.isdigit():
            return Fraction(int(tok))
        if tok == "\\pi":
            return _mp_pi()
        if tok == "(":
            value = self.expr()
            self.take(")")
            return value
        if tok == "{":
            self.i -= 1
            return self.group()
        if tok == "\\frac":
            num = self.group()
            return _combine(num, self.group(), "/")
        if tok == "\\sqrt":
            degree = 2
            if self.peek() == "[":
                self.take()
                d = self.expr()
                self.take("]")
                if not isinstance(d, Fraction) or d.denominator != 1:
                    raise _Unsupported
                degree = int(d)
            return _root(self.group(), degree)
        raise _Unsupported


def _mp_pi() -> object:
    import mpmath

    return +mpmath.pi


def evaluate(text: str) -> Optional[Value]:
    """The value of a short numeric LaTeX expression (exact when rational), else None."""
    if len(text) > 200 or "." in text:
        return None
    import mpmath

    with mpmath.workdps(DIGITS):
        try:
            parser = _Parser(_tokens(text))
            value = parser.expr()
            if parser.peek() is not None:
                return None
            return value
        except (_Unsupported, ZeroDivisionError, OverflowError, ValueError, RecursionError):
            return None


_PLAIN_DECIMAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)")
_TUPLE = re.compile(r"\((.*)\)")


def _split_top_level(text: str) -> Optional[List[str]]:
    """``a, b, c`` split at commas outside brackets, or None when the brackets do not balance."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]] if depth == 0 else None


def _as_fraction(value: Value) -> Fraction:
    if isinstance(value, Fraction):
        return value
    mantissa, exponent = value.man_exp
    return Fraction(int(mantissa)) * Fraction(2) ** int(exponent)


def _scalar_verdict(pred: str, gold: str) -> Optional[bool]:
    pred, gold = pred.strip(), gold.strip()
    pred_decimal, gold_decimal = _PLAIN_DECIMAL.fullmatch(pred), _PLAIN_DECIMAL.fullmatch(gold)
    if pred_decimal and gold_decimal:
        return decimals_match(Decimal(pred), Decimal(gold))
    if pred_decimal or gold_decimal:
        written, other = (pred, gold) if pred_decimal else (gold, pred)
        value = evaluate(other)
        return None if value is None else decimal_matches(Decimal(written), _as_fraction(value))
    a = evaluate(pred)
    if a is None:
        return None
    b = evaluate(gold)
    if b is None:
        return None
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a == b
    import mpmath

    with mpmath.workdps(DIGITS):
        x, y = _real(a), _real(b)
        scale = max(abs(x), abs(y))
        if scale == 0:
            return True
        return bool(abs(x - y) <= scale * mpmath.mpf(10) ** (-EQUAL_DIGITS))


def fast_verdict(pred: str, gold: str) -> Optional[bool]:
    """Whether two short numeric expressions (or tuples of them) are equal, or None when this
    path cannot say. A plain decimal on either side is compared by :mod:`rlinf_math.closeness`."""
    p, g = _TUPLE.fullmatch(pred.strip()), _TUPLE.fullmatch(gold.strip())
    if p and g:
        ps, gs = _split_top_level(p.group(1)), _split_top_level(g.group(1))
        if ps is None or gs is None or len(ps) < 2 or len(gs) < 2:
            return None
        if len(ps) != len(gs):
            return False
        verdicts = [_scalar_verdict(a, b) for a, b in zip(ps, gs)]
        if False in verdicts:
            return False
        return None if None in verdicts else True
    if p or g:
        return None
    return _scalar_verdict(pred, gold)
