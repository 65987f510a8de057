"""Cheap checks that keep runaway inputs away from sympy.

Everything here is a linear scan of a string of at most ``max_answer_chars`` characters; it
never parses or evaluates mathematics. :func:`refuse` names the first problem found, and an
answer it refuses is scored incorrect without reaching the grader processes (counted in
``reward/guard_rejections``). The per-verdict deadline of :mod:`rlinf_math.grader_pool` stays
the backstop for anything these heuristics miss.

No peer grader has these checks: math-verify bounds work only with ``signal.alarm`` (which
cannot interrupt big-integer arithmetic in C and does not work off the main thread), and
verl/RLinf/Qwen only run verdicts under a process timeout. The limits sit well above what
answers need (in the test corpus the deepest answer nests 3 levels and the longest has 13
operators/commands), and well below where parsing or sympy takes seconds:

- nesting deeper than :data:`MAX_DEPTH` braces/brackets/parentheses (parse time grows
  exponentially with nesting: ten nested ``\\frac`` already take seconds), more than
  :data:`MAX_TOKENS` operators/separators/commands or :data:`MAX_UNIONS` ``\\cup``;
- a digit string longer than :data:`MAX_DIGIT_RUN` (Python refuses to convert more than
  4,300 digits to ``int`` anyway);
- exponent towers: three or more stacked exponents (``10^{10^{10^{10}}}``); two
  (``a^{b^{c}}``) when ``b^c`` is a number over :data:`MAX_EXPONENT`; a literal exponent over
  :data:`MAX_EXPONENT` (``2^{1000000000}``), or over :data:`MAX_GROUP_EXPONENT` on a bracketed
  expression (``(x+1)^{400}``); superscripts chained without braces
  (``10^10^10``, an error in LaTeX itself); more than :data:`MAX_CARETS` powers;
- factorials of numbers over :data:`MAX_FACTORIAL`, of expressions containing powers,
  factorials or large numbers (``(10^6)!``, ``((100!)!)!``), and runs of three or more ``!``;
- ``\\binom``/``\\Gamma``/``\\sum``/``\\prod``/``\\sqrt[n]`` with a large power or a number
  over :data:`MAX_FACTORIAL` in them;
- control characters, lone surrogates, U+FFFD, bidi overrides and zero-width characters;
- TeX primitives that define, read, write or run things (``\\def``, ``\\input``,
  ``\\write18``, ``\\catcode`` ...), and Python-looking code (``__import__``, ``eval(`` ...).
  Nothing in rlinf runs TeX or evaluates model text: these answers are refused because they
  are never a mathematical answer, and refusing them keeps them out of logs and parsers.
"""

from __future__ import annotations

import math
import re
from typing import Optional

MAX_DEPTH = 8  # math-verify's ANTLR parse time grows exponentially with brace nesting
MAX_DIGIT_RUN = 400
MAX_EXPONENT = 100_000
MAX_GROUP_EXPONENT = 60  # (x+1)^{400} takes sympy seconds to compare
MAX_FACTORIAL = 5_000
MAX_CARETS = 40
MAX_TOKENS = 120  # operators, separators and commands: sets of 150 elements take seconds
MAX_UNIONS = 12

_TEX_PRIMITIVES = re.compile(
    r"\\(?:def|edef|gdef|xdef|let|futurelet|newcommand|renewcommand|providecommand|DeclareMathOperator"
    r"|input|include|includeonly|write|immediate|openout|openin|closeout|read|readline|newwrite|newread"
    r"|catcode|csname|endcsname|expandafter|usepackage|documentclass|special|directlua|latelua|loop"
    r"|repeat|afterassignment|uppercase|lowercase|jobname|shipout)(?![a-zA-Z])"
)
_CODE = re.compile(
    r"__|(?<![\\a-zA-Z])(?:eval|exec|compile|open|import|__import__|getattr|setattr|globals|locals|system"
    r"|subprocess)\s*\(|(?<![\\a-zA-Z])(?:import\s+[a-z_]|lambda\s*[:a-z_(])|\*\*"
)
# NUL and other control characters, lone surrogates, U+FFFD (a decoding error upstream), bidi
# overrides and zero-width characters:
# an answer that contains them is malformed (or disguised), never a number to read past them.
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufffd]"
)
# "10^10^10": LaTeX reads 10^1 0^1 0, a model means a tower; either way not an answer to parse.
_UNBRACED_MULTIDIGIT = re.compile(r"\^\s*\d\d")
_DIGIT_RUN = re.compile(r"\d{%d,}" % (MAX_DIGIT_RUN + 1))
_SCI_BIG = re.compile(r"\d[eE][+-]?\d{4,}")
_CHAINED_SUPERSCRIPT = re.compile(r"\^\s*(?:\{[^{}]*\}|\\[a-zA-Z]+|[^\s{\\])\s*\^")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_FACTORIAL_OF_NUMBER = re.compile(r"(\d+)\s*!")
_BANG_RUN = re.compile(r"!\s*!\s*!")
_TOKENS = re.compile(r"[-+*/=<>,&|^_]|\\[a-zA-Z]+|\\\\")
_HEAVY_COMMANDS = re.compile(r"\\(?:binom|dbinom|tbinom|choose|Gamma|sum|prod|sqrt\s*\[|int|lim|operatorname\s*\{\s*lcm)")


def _depth(s: str) -> int:
    depth = best = 0
    for ch in s:
        if ch in "{([":
            depth += 1
            if depth > best:
                best = depth
        elif ch in "})]":
            depth = max(0, depth - 1)
    return best


def _operand_after(s: str, i: int) -> tuple[str, int]:
    """The operand of ``^`` at ``s[i-1]``: a braced group or one token; (text, end index)."""
    n = len(s)
    while i < n and s[i] == " ":
        i += 1
    if i >= n:
        return "", i
    if s[i] == "{":
        depth = 0
        j = i
        while j < n:
            if s[j] == "\\":
                j += 2
                continue
            if s[j] == "{":
                depth += 1
            elif s[j] == "}":
                depth -= 1
                if depth == 0:
                    return s[i + 1 : j], j + 1
            j += 1
        return s[i + 1 :], n
    if s[i] == "\\":
        j = i + 1
        while j < n and s[j].isalpha():
            j += 1
        return s[i:j], j
    if s[i] == "-" and i + 1 < n:
        inner, end = _operand_after(s, i + 1)
        return "-" + inner, end
    return s[i], i + 1


def _tower_height(s: str, budget: list) -> int:
    """How many exponents are stacked in ``s`` (``a^{b^{c}}`` is 2)."""
    best = 0
    i = 0
    n = len(s)
    while i < n:
        budget[0] -= 1
        if budget[0] < 0:
            return 99  # pathological input: treat as a tower
        if s[i] == "^":
            operand, end = _operand_after(s, i + 1)
            best = max(best, 1 + _tower_height(operand, budget))
            i = max(end, i + 1)
        else:
            i += 1
    return best


def _plain_value(s: str) -> Optional[float]:
    """The value of a plain (signed) number, else None."""
    t = s.strip().lstrip("-+").strip()
    if _NUMBER.fullmatch(t):
        try:
            return float(t)
        except (OverflowError, ValueError):
            return math.inf
    return None


def _exponent_problem(s: str) -> Optional[str]:
    if s.count("^") > MAX_CARETS:
        return "too many powers"
    if len(_UNBRACED_MULTIDIGIT.findall(s)) >= 2:
        return "chained superscripts"
    if _CHAINED_SUPERSCRIPT.search(s):
        return "chained superscripts"
    height = _tower_height(s, [20 * len(s) + 100])
    if height >= 3:
        return "exponent tower"
    i = s.find("^")
    while i >= 0:
        operand, end = _operand_after(s, i + 1)
        value = _plain_value(operand)
        if value is not None and value > MAX_EXPONENT:
            return "huge exponent"
        k = i - 1
        while k >= 0 and s[k] == " ":
            k -= 1
        if value is not None and value > MAX_GROUP_EXPONENT and k >= 0 and s[k] in ")}]":
            return "large power of an expression"
        if "^" in operand:
            # a^{b^{c}}: refuse when b^c is a large number.
            j = operand.find("^")
            base = _plain_value(operand[:j]) if j > 0 else None
            inner, _ = _operand_after(operand, j + 1)
            power = _plain_value(inner)
            if base is not None and power is not None and base > 1:
                if power * math.log10(base) > math.log10(MAX_EXPONENT):
                    return "exponent tower"
            elif base is None and power is not None and power > 64:
                return "exponent tower"
        i = s.find("^", max(end, i + 1))
    return None


def _factorial_problem(s: str) -> Optional[str]:
    if "!" not in s:
        return None
    if _BANG_RUN.search(s):
        return "iterated factorial"
    for m in _FACTORIAL_OF_NUMBER.finditer(s):
        if len(m.group(1)) > 6 or int(m.group(1)) > MAX_FACTORIAL:
            return "huge factorial"
    i = s.find("!")
    while i >= 0:
        j = i - 1
        while j >= 0 and s[j] == " ":
            j -= 1
        if j >= 0 and s[j] in ")}":
            # factorial of a group: refuse if the group holds a power, a factorial or a big number
            close = s[j]
            opener = "(" if close == ")" else "{"
            depth = 0
            k = j
            while k >= 0:
                if s[k] == close:
                    depth += 1
                elif s[k] == opener:
                    depth -= 1
                    if depth == 0:
                        break
                k -= 1
            group = s[max(k, 0) : j + 1]
            if "^" in group or "!" in group or any(
                float(x) > MAX_FACTORIAL for x in _NUMBER.findall(group) if len(x) < 30
            ) or any(len(x) >= 30 for x in _NUMBER.findall(group)):
                return "huge factorial"
        i = s.find("!", i + 1)
    return None


def _power_values(s: str) -> list:
    """log10 of each numeric power ``a^{b}`` in ``s`` (``10^{8}`` gives 8.0)."""
    out = []
    i = s.find("^")
    while i >= 0:
        j = i
        while j > 0 and (s[j - 1].isdigit() or s[j - 1] == "."):
            j -= 1
        base = _plain_value(s[j:i]) if j < i else None
        operand, end = _operand_after(s, i + 1)
        power = _plain_value(operand)
        if base is not None and power is not None and base > 1:
            out.append(power * math.log10(base))
        i = s.find("^", max(end, i + 1))
    return out


def _heavy_command_problem(s: str) -> Optional[str]:
    if not _HEAVY_COMMANDS.search(s):
        return None
    if "^" in s and _tower_height(s, [20 * len(s) + 100]) >= 2:
        return "power inside a sum, product, binomial or root"
    if any(m > math.log10(MAX_EXPONENT) for m in _power_values(s)):
        return "large power inside a sum, product, binomial or root"
    for x in _NUMBER.findall(s):
        if len(x) > 12 or float(x) > MAX_FACTORIAL:
            return "large number inside a sum, product, binomial or root"
    return None


def refuse(text: str, max_chars: int = 1000) -> Optional[str]:
    """Why ``text`` must not reach sympy, or None when it may."""
    if len(text) > max_chars:
        return "too long"
    if _CONTROL.search(text):
        return "control or format characters"
    if _TEX_PRIMITIVES.search(text):
        return "TeX primitive"
    if _CODE.search(text):
        return "program code"
    if _DIGIT_RUN.search(text):
        return "digit string too long"
    if _SCI_BIG.search(text):
        return "huge exponent"
    if _depth(text) > MAX_DEPTH:
        return "nesting too deep"
    if len(_TOKENS.findall(text)) > MAX_TOKENS:
        return "too many terms"
    if text.count("\\cup") > MAX_UNIONS:
        return "too many unions"
    if "^" in text:
        problem = _exponent_problem(text)
        if problem:
            return problem
    problem = _factorial_problem(text)
    if problem:
        return problem
    return _heavy_command_problem(text)
