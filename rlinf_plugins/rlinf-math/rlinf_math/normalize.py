"""Normalise an extracted answer before it is compared: the things math-verify misses.

Runs on the answer string (already cut to at most ``max_answer_chars``) with linear-time
regexes and scans only; nothing here parses or evaluates mathematics.

What it does, and where each rule comes from:

- Characters: Unicode spaces become spaces and Unicode math (``−``, ``×``, ``π``, ``°``,
  ``≤`` ...) becomes LaTeX. Control and format characters (NUL, bidi overrides, zero-width,
  lone surrogates) are kept, so that :mod:`rlinf_math.guards` refuses the answer rather than
  reading ``1\\x002`` as 12.
- Styling: ``\\dfrac``/``\\tfrac``/``\\cfrac`` -> ``\\frac`` (Hendrycks ``strip_string``),
  ``\\left``/``\\right``, ``\\displaystyle``, ``\\mathbf``/``\\textbf`` dropped, ``\\mbox``,
  ``\\textnormal``, ``\\mathrm``... read as ``\\text``.
- Spacing macros (``\\,`` ``\\;`` ``\\!`` ``\\quad`` ``~`` ...) and thousands separators
  (``1,000``, ``1{,}000``, ``10,\\!000``, ``1\\,000``, ``1 000``): a separator is only taken
  as one between groups of exactly three digits of a single number, so ``32, 349`` stays a
  list of two numbers (as math-verify's own tests expect).
- Degrees (``^\\circ``, ``°``, "degrees"), dollar signs, ``\\%``/"percent"/"pct": removed and,
  for percents, remembered. math-verify reads ``28\\%`` as ``28/100`` but compares it with
  an integer as ``28``; Qwen2.5-Math's grader (and RLinf's copy) accepts any answer equal to
  the gold, gold/100 or gold*100, a false positive for "12.5" against "0.125". Here the side
  that *wrote* a percent sign may be read either way (``28\\%`` is 28 or 0.28), the other
  side is taken literally.
- Units: a trailing ``\\text{ cm}^2``-style unit, or a bare unit word after a number
  ("3 apples", "125 miles"), is removed (Hendrycks ``_remove_right_units``, verl's
  ``math_dapo`` unit list) and remembered; when both sides name a *known* physical unit and
  they differ (5 m against 5 cm) the answer is wrong, which no peer grader checks.
- Forms: e-notation ``3e5`` -> ``3\\times 10^{5}``; ``x \\in [1,2)`` -> ``[1,2)``; a leading
  ``\\approx``; ``\\langle 1, 2 \\rangle`` and one-row/one-column matrices -> the tuple
  ``(1, 2)`` (Qwen2.5-Math's grader also matches a ``pmatrix`` against a tuple);
  ``\\tan 45^\\circ`` -> ``\\tan \\frac{45\\pi}{180}`` (degrees inside a trig function are an
  angle, not a unit to drop);
  ``\\varnothing``/``\\{\\}`` -> ``\\emptyset``; mixed numbers ``2\\frac{1}{2}`` -> ``\\frac{5}{2}``;
  a choice label before a value (``\\textbf{(B)}\\ 12``) is dropped; leading ``+`` and zeros.

Simple numbers are read and compared in :mod:`rlinf_math.numbers`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

from rlinf_math.answer import group_end
from rlinf_math.forms import brace_arguments, canonical_matrix, repeating_decimal, spelled_number

__all__ = ["Normalized", "normalize", "units_conflict"]


@dataclass(frozen=True)
class Normalized:
    """A normalised answer: LaTeX text plus what was stripped from it."""

    text: str
    percent: bool = False  # a percent sign was removed
    unit: Optional[Tuple[str, int]] = None  # known physical unit removed: (canonical name, power)
    raw_unit: str = ""  # any unit text removed (for explanations)

    @property
    def key(self) -> str:
        """The text without whitespace: equal keys are equal answers."""
        return _WS.sub("", self.text)


# ----------------------------------------------------------------------------------------
# Characters
# ----------------------------------------------------------------------------------------
def _char_table() -> Dict[int, Optional[str]]:
    # Control and format characters are kept: the guards refuse answers containing them.
    table: Dict[int, Optional[str]] = {ord("\t"): " ", ord("\n"): " ", ord("\r"): " "}
    for cp in [0xA0, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x202F, 0x3000]:
        table[cp] = " "
    table.update(
        {
            0x2212: "-", 0x2013: "-", 0x2014: "-", 0x00D7: "\\times ", 0x00F7: "\\div ",
            0x00B7: "\\cdot ", 0x22C5: "\\cdot ", 0x221A: "\\sqrt", 0x03C0: "\\pi ",
            0x221E: "\\infty ", 0x00B0: "^\\circ", 0x2264: "\\le ", 0x2265: "\\ge ",
            0x2260: "\\ne ", 0x222A: "\\cup ", 0x2229: "\\cap ", 0x2205: "\\emptyset ",
            0x00BD: "\\frac{1}{2}", 0x00BC: "\\frac{1}{4}", 0x00BE: "\\frac{3}{4}",
            0x00B2: "^2", 0x00B3: "^3", 0xFF08: "(", 0xFF09: ")", 0xFF0C: ",",
        }
    )
    return table


_CHARS = _char_table()
_WS = re.compile(r"\s+")


# ----------------------------------------------------------------------------------------
# Brace-aware rewriting of \cmd{...}
# ----------------------------------------------------------------------------------------
def _rewrite_groups(s: str, pattern: "re.Pattern[str]", fn: Callable[[str, str], str]) -> str:
    """Replace each ``\\name{content}`` matched by ``pattern`` (which ends at the ``{``)
    with ``fn(name, content)``; braces matched, left to right, one pass."""
    out = []
    pos = 0
    while True:
        m = pattern.search(s, pos)
        if m is None:
            break
        open_pos = m.end() - 1
        close = group_end(s, open_pos, len(s))
        if close < 0:
            break
        out.append(s[pos : m.start()])
        out.append(fn(m.group(1), s[open_pos + 1 : close]))
        pos = close + 1
    out.append(s[pos:])
    return "".join(out)


_BOLD = re.compile(r"\\(mathbf|textbf|boldsymbol|bm|pmb)\s*\{")
_TEXTLIKE = re.compile(r"\\(mbox|textnormal|textrm|textit|textsf|texttt|mathrm|mathit|mathsf|operatorname|hbox)\s*\{")


def _as_text(name: str, content: str) -> str:
    if name in ("mathrm", "mathit", "operatorname") and len(content.strip()) == 1:
        return content.strip()  # \mathrm{e}, \mathrm{d}, \mathrm{i}: a symbol
    return "\\text{" + content + "}"


# ----------------------------------------------------------------------------------------
# Rules
# ----------------------------------------------------------------------------------------
_OUTER_DELIMS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"))
_STYLE = re.compile(r"\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits)(?![a-zA-Z])")
_LEFT_RIGHT_DOT = re.compile(r"\\(?:left|right)\s*\.")
_LEFT_RIGHT = re.compile(r"\\(?:left|right|middle|[bB]igg?[lrm]?)(?![a-zA-Z])\s*")
_FRAC_VARIANTS = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
_BINOM_VARIANTS = re.compile(r"\\[dt]binom(?![a-zA-Z])")
_DOLLAR = re.compile(r"\\text\s*\{\s*\\\$\s*\}|\\\$|\\text\s*\{\s*\$\s*\}")
_TRIG = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc)(?![a-zA-Z])")
_DEGREE_ANGLE = re.compile(r"(\d+(?:\.\d+)?)\s*\^\s*(?:\{\s*\\circ\s*\}|\\circ)")
_APPROX_PREFIX = re.compile(r"^(?:\\approx|\\sim|\\simeq|=)\s*")
_ANGLE_BRACKETS = re.compile(r"\\langle\s*|\s*\\rangle")
_DEGREES = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ\s*$|\\degree(?![a-zA-Z])|\^\s*\{\s*o\s*\}\s*$")
_PERCENT = re.compile(
    r"\\%|%|\s*\\text\s*\{\s*(?:percent|percentage|pct|per\s*cent)\s*\}|\s*\b(?:percent|percentage|pct|per\s*cent)\b",
    re.IGNORECASE,
)
# Thousands separators between digit groups of one number.
_THOUSANDS_BRACED = re.compile(r"(?<=\d)\s*\{\s*,\s*\}\s*(?=\d{3}(?!\d))")
_THOUSANDS_BANG = re.compile(r"(?<=\d),\s*\\!\s*(?=\d{3}(?!\d))")
_THOUSANDS_THIN = re.compile(r"(?<=\d)(?:(?<!\\)\\[,:; ]|~)\s*(?=\d{3}(?!\d))")
# Not after a backslash: "\\ " is a matrix row break followed by a space.
_SPACING = re.compile(
    r"(?<!\\)\\(?:,|;|:|!| |quad|qquad|enspace|thinspace|medspace|thickspace|negthinspace|hfill)(?![a-zA-Z])|~"
)
_LONE_BACKSLASH = re.compile(r"(?<!\\)\\$")
_HSPACE = re.compile(r"\\h?space\s*\{[^{}]*\}")
_WHOLE_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[+-]?\d{1,3}(?: \d{3})+(?:\.\d+)?")
_SCI_E = re.compile(r"([+-]?\d+(?:\.\d+)?)\s*[eE]\s*([+-]?\d{1,3})")
_CDOT_TEN = re.compile(r"\\cdot\s*10\s*\^")
_IN_PREFIX = re.compile(r"^[A-Za-z]\s*\\in\s*")
_EMPTY_SET = re.compile(r"\\varnothing(?![a-zA-Z])|\\\{\s*\\\}|^\{\s*\}$")
_MIXED = re.compile(r"([+-]?)(\d{1,9})\s*\\frac\s*\{(\d{1,9})\}\s*\{(\d{1,9})\}|([+-]?)(\d{1,9}) (\d{1,9})/(\d{1,9})")
_CHOICE_LABEL = re.compile(r"^(?:\\text\s*\{\s*\(([A-J])\)\s*\}|\(([A-J])\)|([A-J])\))\s*(?=[^\s}])")
_TEXT_NUMBER = re.compile(r"\\text\s*\{\s*([+-]?[\d.,]+)\s*\}")
_TEXT_NUMBER_UNIT = re.compile(r"\\text\s*\{\s*([+-]?[\d.,]+)\s+([A-Za-z][A-Za-z .]*)\}")
_TRAILING_TEXT = re.compile(r"\\text\s*\{([^{}]*)\}\s*(\^\s*\{?\s*[23]\s*\}?)?\s*$")
_UNIT_WORDS = re.compile(
    r"(?:^|(?<=[\s\d}]))((?:square|sq\.?|cubic|cu\.?)\s+)?([A-Za-z]+\.?)\s*(\^\s*\{?\s*[23]\s*\}?)?\s*$"
)
_AND_OR_TEXT = re.compile(r",?\s*\\text\s*\{\s*(?:and|or)\s*\}\s*")
_LEADING_PLUS = re.compile(r"^\+(?=\d)")

# Known physical units: alias -> canonical name. Only these take part in unit comparisons.
_PHYSICAL = {
    "mm": "mm", "millimeter": "mm", "millimetre": "mm", "cm": "cm", "centimeter": "cm", "centimetre": "cm",
    "m": "m", "meter": "m", "metre": "m", "km": "km", "kilometer": "km", "kilometre": "km",
    "in": "in", "inch": "in", "inches": "in", "ft": "ft", "foot": "ft", "feet": "ft", "yd": "yd", "yard": "yd",
    "mi": "mi", "mile": "mi", "mg": "mg", "g": "g", "gram": "g", "kg": "kg", "kilogram": "kg", "lb": "lb",
    "pound": "lb", "oz": "oz", "ounce": "oz", "ml": "ml", "milliliter": "ml", "millilitre": "ml", "l": "l",
    "liter": "l", "litre": "l", "gal": "gal", "gallon": "gal", "s": "s", "sec": "s", "second": "s",
    "min": "min", "minute": "min", "h": "h", "hr": "h", "hour": "h", "day": "day", "week": "week",
    "month": "month", "yr": "yr", "year": "yr", "mph": "mph", "kmh": "kmh", "kph": "kmh",
    "degree": "deg", "deg": "deg", "radian": "rad", "rad": "rad", "dollar": "usd", "cent": "cent",
    "acre": "acre", "hectare": "ha",
}
# Counted things and other words that are units in word problems (verl's math_dapo list and
# Hendrycks' units, extended); a bare one is only dropped after a plain number.
_COUNT_WORDS = {
    "unit", "point", "way", "student", "people", "person", "apple", "orange", "book", "ball", "coin",
    "marble", "card", "page", "ticket", "child", "children", "dog", "cat", "car", "tree", "candy", "candies",
    "cookie", "pencil", "egg", "edge", "face", "vertex", "vertices", "meal", "digit", "game", "handshake",
    "chair", "seat", "piece", "slice", "bag", "bottle", "box", "time", "step", "integer", "number",
    "multiple", "triangle", "square", "rectangle", "row", "column", "letter", "word", "day", "friend",
    "sheep", "cow", "horse", "bird", "fish", "flower", "stamp", "sticker", "toy", "cup", "glass", "hat",
    "shirt", "sock", "shoe", "minute", "gift", "cake", "pie", "pizza", "house", "room", "floor", "team",
    "player", "member", "worker", "men", "women", "man", "woman", "boy", "girl", "kid",
}
_NOT_UNITS = {"and", "or", "if", "for", "all", "none", "no", "yes", "odd", "even", "undefined", "i", "e", "x", "y", "z", "n", "k"}


def _singular(word: str) -> str:
    w = word.lower().rstrip(".")
    if w in _PHYSICAL or w in _COUNT_WORDS:
        return w
    for suffix in ("es", "s"):
        if w.endswith(suffix) and (w[: -len(suffix)] in _PHYSICAL or w[: -len(suffix)] in _COUNT_WORDS):
            return w[: -len(suffix)]
    return w


def _unit_of(words: str, power_text: Optional[str]) -> Tuple[Optional[Tuple[str, int]], bool]:
    """(canonical physical unit or None, whether ``words`` read as a unit at all)."""
    toks = words.replace("~", " ").replace("\\", " ").split()
    if not toks or len(toks) > 3:
        return None, False
    power = 1
    if toks[0].lower().rstrip(".") in ("square", "sq"):
        power, toks = 2, toks[1:]
    elif toks[0].lower().rstrip(".") in ("cubic", "cu"):
        power, toks = 3, toks[1:]
    if not toks or any(not re.fullmatch(r"[A-Za-z]+\.?", t) for t in toks):
        return None, False
    if power_text:
        power = int(re.sub(r"\D", "", power_text))
    if len(toks) == 1:
        w = _singular(toks[0])
        if w in _NOT_UNITS:
            return None, False
        if w in _PHYSICAL:
            return (_PHYSICAL[w], power), True
        return None, True
    # "miles per hour", "square units": a unit phrase, not a known physical unit.
    if any(t.lower() in _NOT_UNITS for t in toks):
        return None, False
    return None, True


def _numericish(s: str) -> bool:
    """Digits and operators only, once LaTeX commands are set aside ("12", "36\\pi", "\\frac{1}{2}")."""
    bare = re.sub(r"\\[a-zA-Z]+", "", s)
    return bool(re.search(r"\d", bare)) and not re.search(r"[A-Za-z]", bare)


def _strip_units(s: str) -> Tuple[str, Optional[Tuple[str, int]], str]:
    unit: Optional[Tuple[str, int]] = None
    raw = ""
    m = _TEXT_NUMBER_UNIT.fullmatch(s)
    if m:  # \text{12 cm}
        s = m.group(1) + " " + m.group(2).strip()
    for _ in range(2):  # "5 \text{ cm}^2" then maybe "per ..." leftovers
        m = _TRAILING_TEXT.search(s)
        if m and m.start() > 0:
            rest = s[: m.start()].rstrip()
            words = m.group(1).strip().strip("~").strip()
            if rest and not rest.endswith(("+", "-", "=", "(", "{", ",", "\\")):
                found, is_unit = _unit_of(words, m.group(2))
                if is_unit or (words and re.fullmatch(r"[A-Za-z][A-Za-z .]*", words) and words.lower() not in _NOT_UNITS):
                    s, raw = rest, words
                    unit = unit or found
                    continue
        m = _UNIT_WORDS.search(s)
        if m and m.start() > 0:
            rest = s[: m.start()].rstrip()
            words = ((m.group(1) or "") + m.group(2)).strip()
            found, is_unit = _unit_of(words, m.group(3))
            # A one-letter unit needs a space before it: "4m" is more likely 4 times m.
            spaced = len(m.group(2).rstrip(".")) > 1 or (m.start() > 0 and s[m.start() - 1].isspace())
            if is_unit and spaced and _numericish(rest) and (found is not None or _singular(m.group(2)) in _COUNT_WORDS):
                s, raw = rest, words
                unit = unit or found
                continue
        break
    return s, unit, raw


def normalize(answer: str) -> Normalized:
    """The normalised form of an extracted answer (see the module docstring)."""
    s = answer.translate(_CHARS)
    s = _WS.sub(" ", s).strip()
    # Surrounding math delimiters and a final period.
    for _ in range(2):
        for open_d, close_d in _OUTER_DELIMS:
            if len(s) >= len(open_d) + len(close_d) and s.startswith(open_d) and s.endswith(close_d):
                s = s[len(open_d) : len(s) - len(close_d)].strip()
    s = s.rstrip(" .").replace("\\text{.}", "")
    s = _DOLLAR.sub("", s)  # before bare "$" go, or "\$5" would leave a backslash
    s = s.replace("$", "")

    s = _STYLE.sub("", s)
    s = _LEFT_RIGHT_DOT.sub("", s)
    s = _LEFT_RIGHT.sub("", s)
    s = _FRAC_VARIANTS.sub("\\\\frac", s)
    s = _BINOM_VARIANTS.sub("\\\\binom", s)
    s = brace_arguments(s)
    if "\\" in s:
        s = _rewrite_groups(s, _BOLD, lambda name, content: content)
        s = _rewrite_groups(s, _TEXTLIKE, _as_text)
    s = _DOLLAR.sub("", s)  # again: \mbox{\$} has just become \text{\$}

    # Percent before units: "28 percent" is a percent, not 28 of the unit "percent".
    s, n_percent = _PERCENT.subn("", s)
    percent = n_percent > 0
    if _TRIG.search(s):  # \tan 45^\circ: an angle in degrees inside a function, not a unit
        s = _DEGREE_ANGLE.sub(lambda m: f"\\frac{{{m.group(1)}\\pi}}{{180}}", s)
    s = _DEGREES.sub("", s).strip()

    # Thousands separators, then the remaining spacing macros.
    s = _THOUSANDS_BRACED.sub("", s)
    s = _THOUSANDS_BANG.sub("", s)
    s = _THOUSANDS_THIN.sub("", s)
    s = s.replace("\\!", "")
    s = _HSPACE.sub(" ", s)
    s = _SPACING.sub(" ", s)
    s = _AND_OR_TEXT.sub(", ", s)
    s = _LONE_BACKSLASH.sub("", _WS.sub(" ", s).strip()).strip()

    m = _TEXT_NUMBER.fullmatch(s)
    if m:  # \text{12}
        s = m.group(1)
    s = spelled_number(s) or s
    s, unit, raw_unit = _strip_units(s)
    s = _DEGREES.sub("", s).strip()
    s = _CHOICE_LABEL.sub("", s, count=1)
    s = _IN_PREFIX.sub("", s)
    s = _APPROX_PREFIX.sub("", s)
    if "\\langle" in s:
        s = _ANGLE_BRACKETS.sub(lambda m: "(" if "langle" in m.group(0) else ")", s)
    s = canonical_matrix(s)
    s = _EMPTY_SET.sub("\\\\emptyset", s)
    s = _CDOT_TEN.sub("\\\\times 10^", s)
    s = _LEADING_PLUS.sub("", s).strip().rstrip(".").strip()

    if _WHOLE_THOUSANDS.fullmatch(s):
        s = s.replace(",", "").replace(" ", "")
    m = _SCI_E.fullmatch(s)
    if m:
        s = f"{m.group(1)}\\times 10^{{{int(m.group(2))}}}"
    m = _MIXED.fullmatch(s)
    if m:
        groups = m.groups()[:4] if m.group(2) else m.groups()[4:]  # 2\frac{1}{2} or 2 1/2
        sign, whole, num, den = groups[0], int(groups[1]), int(groups[2]), int(groups[3])
        if den:
            s = f"{'-' if sign == '-' else ''}\\frac{{{whole * den + num}}}{{{den}}}"
    s = repeating_decimal(s) or s
    return Normalized(text=s, percent=percent, unit=unit, raw_unit=raw_unit)


def units_conflict(a: Normalized, b: Normalized) -> bool:
    """Both answers name a known physical unit, and not the same one (5 m vs 5 cm)."""
    return a.unit is not None and b.unit is not None and a.unit != b.unit
