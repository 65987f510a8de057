"""Find the final answer of a response (and of a reference solution).

Order of precedence, following the MATH dataset convention (Hendrycks et al. 2021) and the
``last_boxed_only_string`` helper used by verl, RLinf and AReaL:

1. **The last box**: ``\\boxed{...}`` (braces matched), ``\\fbox{...}`` or brace-less
   ``\\boxed 5``. Boxes right next to it, separated only by commas, "and"/"or", ``$`` or a
   variable assignment (``x = \\boxed{1}, x = \\boxed{2}``), are joined into one answer
   list ``1, 2`` (math-verify's ``extract_boxed_content`` joins boxes too, but also across
   arbitrary text such as "at first \\boxed{3}, on reflection \\boxed{5}"; we do not).
2. **With no box at all**, the final stated answer: the last "final answer is ...",
   "answer: ...", "answer is ...", "the correct choice is ..." or GSM8K's "#### ..."
   (Minerva's "Final Answer: The final answer is $x$. I hope it is correct." included;
   "$x=3$ or $x=-3$" after the phrase is a list). A bare last number is never taken
   (math-verify used directly does, which rewards truncated reasoning that happens to
   mention the gold). With no phrase either, the value stated by a concluding sentence
   ("Therefore, there are 17 ways.", :mod:`rlinf_math.prose`).
3. An empty box, or a last box that is never closed (a truncated response), is no answer;
   earlier boxes and phrases are not used as a fall-back.

:func:`extract_choice` reads a multiple-choice letter (``B``, ``(B)``, ``\\text{(C)}``,
"Answer: D"; the last one stated wins) for the math reward and for ``rlinf eval`` (GPQA).
:func:`gold_answer` reduces a reference solution (a worked MATH solution, a GSM8K rationale
or a bare answer) to its answer.

All scans are bounded: an answer longer than ``max_chars`` is reported as too long instead
of being parsed, and answer phrases are searched only in the last :data:`PHRASE_WINDOW`
characters, so a 1 MB response costs a few ``rfind``/regex passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

MAX_ANSWER_CHARS = 1000
PHRASE_WINDOW = 10_000  # answer phrases are looked for in the response's tail only
MAX_JOINED_BOXES = 10
_COMMANDS = ("\\boxed", "\\fbox")

# Extraction outcomes.
FOUND = "found"
NO_ANSWER = "no_answer"
TOO_LONG = "too_long"

# Where an answer came from.
FROM_BOX = "box"
FROM_BOXES = "boxes"  # several neighbouring boxes joined into a list
FROM_PHRASE = "phrase"
FROM_LAST_LINE = "last_line"  # a multiple-choice letter alone on the last line
FROM_CONCLUSION = "conclusion"  # the value a concluding sentence states (rlinf_math.prose)


@dataclass(frozen=True)
class Extraction:
    """The final answer of a response (``text`` is set only when ``status == FOUND``)."""

    status: str
    text: Optional[str] = None
    source: str = ""


# ----------------------------------------------------------------------------------------
# Boxes
# ----------------------------------------------------------------------------------------
def _last_command(text: str, end: int) -> Tuple[int, str]:
    """Position and name of the last ``\\boxed``/``\\fbox`` before ``end`` not followed by a
    letter (``\\boxedx`` is another macro), or (-1, "")."""
    best, best_cmd = -1, ""
    for cmd in _COMMANDS:
        stop = end
        while True:
            pos = text.rfind(cmd, 0, stop)
            if pos < 0:
                break
            after = pos + len(cmd)
            if after < len(text) and text[after].isalpha():
                stop = pos
                continue
            if pos > best:
                best, best_cmd = pos, cmd
            break
    return best, best_cmd


def group_end(text: str, open_pos: int, limit: int) -> int:
    """Index of the ``}`` closing the group opened at ``text[open_pos] == "{"``, -1 if it is
    not closed before ``limit``. Escaped characters (``\\{``, ``\\}``) never count."""
    depth = 0
    i = open_pos
    while i < limit:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _clean_box(content: str) -> str:
    content = content.strip()
    if content.endswith(".") and not content.endswith(".."):
        content = content[:-1].rstrip()
    return content


def _box_at(text: str, pos: int, cmd: str, max_chars: int) -> Tuple[str, Optional[str], int]:
    """(status, content, end index) of the box command found at ``pos``."""
    n = len(text)
    i = pos + len(cmd)
    j = i
    while j < n and j - i <= max_chars and text[j] in " \t":
        j += 1
    if j < n and text[j] == "{":
        limit = min(n, j + max_chars + 2)
        close = group_end(text, j, limit)
        if close < 0:
            return (TOO_LONG if limit < n else NO_ANSWER), None, n
        content = _clean_box(text[j + 1 : close])
        if not content:
            return NO_ANSWER, None, close + 1
        if len(content) > max_chars:
            return TOO_LONG, None, close + 1
        return FOUND, content, close + 1
    if j == i:
        return NO_ANSWER, None, i  # "\boxed" followed by neither a group nor a space
    # Brace-less form "\boxed 5": the token up to the next whitespace or "$".
    k = j
    stop = min(n, j + max_chars + 1)
    while k < stop and not text[k].isspace() and text[k] != "$":
        k += 1
    if k == stop and stop < n and not text[k].isspace() and text[k] != "$":
        return TOO_LONG, None, k
    content = _clean_box(text[j:k])
    return (FOUND, content, k) if content else (NO_ANSWER, None, k)


# What may stand between two boxes that form one answer list: spacing, math delimiters,
# commas/semicolons, "and"/"or" (plain or in \text{}), \quad, and a variable assignment.
_BETWEEN_BOXES = re.compile(
    r"(?:\s|\$|\\[()\[\]]|[,;]|\\quad|\\qquad|\\[,;: ]|\\text\{\s*(?:and|or|,)\s*\}"
    r"|\b(?:and|or)\b|[A-Za-z](?:_\{?\w{1,3}\}?)?\s*=)*"
)


def extract_boxed(text: str, max_chars: int = MAX_ANSWER_CHARS) -> Extraction:
    """The content of the last ``\\boxed{}``/``\\fbox{}``/``\\boxed x`` of ``text``, joined
    with the boxes right before it when only separators stand between them."""
    pos, cmd = _last_command(text, len(text))
    if pos < 0:
        return Extraction(NO_ANSWER)
    status, content, _ = _box_at(text, pos, cmd, max_chars)
    if status != FOUND or content is None:
        return Extraction(status)
    parts: List[str] = [content]
    start = pos
    total = len(content)
    for _ in range(MAX_JOINED_BOXES):  # bounded even when every box repeats the same content
        prev, prev_cmd = _last_command(text, start)
        if prev < 0 or start - prev > max_chars + 100:
            break
        p_status, p_content, p_end = _box_at(text, prev, prev_cmd, max_chars)
        if p_status != FOUND or p_content is None or p_end > start:
            break
        between = text[p_end:start]
        if len(between) > 80 or not _BETWEEN_BOXES.fullmatch(between):
            break
        total += len(p_content) + 2
        if total > max_chars:
            break
        if p_content != parts[0]:
            parts.insert(0, p_content)
        start = prev
    if len(parts) == 1:
        return Extraction(FOUND, content, FROM_BOX)
    return Extraction(FOUND, ", ".join(parts), FROM_BOXES)


def has_box(text: str) -> bool:
    """Whether ``text`` contains a box command at all (closed or not)."""
    return _last_command(text, len(text))[0] >= 0


# ----------------------------------------------------------------------------------------
# Answer phrases
# ----------------------------------------------------------------------------------------
# The anchors, longest first so "final answer is" wins over "answer is" at one position.
_ANCHOR = re.compile(
    r"final\s+answer\s*(?:is\b)?\s*:?|answer\s+is\b\s*:?|answer\s*:|####"
    r"|(?:correct|right|best)\s+(?:choice|option)\s+is\b\s*:?",
    re.IGNORECASE,
)
_MATH_DELIMS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"))
_NEXT_MATH = re.compile(r"\s*(?:,\s*(?:and|or)?|and|or)\s*\$([^$]{1,500})\$")
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n|\bI hope\b")
_IS = re.compile(r"\s(?:is|are|equals|=)\s", re.IGNORECASE)


def _after_anchor(tail: str, max_chars: int) -> Extraction:
    """The answer stated right after an anchor phrase."""
    s = tail.lstrip(" \t*:")
    if not s:
        return Extraction(NO_ANSWER)
    for open_d, close_d in _MATH_DELIMS:
        if s.startswith(open_d):
            end = s.find(close_d, len(open_d))
            if end < 0:
                return Extraction(NO_ANSWER)  # the math never closes: truncated
            parts = [s[len(open_d) : end]]
            rest = s[end + len(close_d) :]
            # "$x = 3$ or $x = -3$": a list of answers.
            while len(parts) < 10:
                m = _NEXT_MATH.match(rest)
                if not m:
                    break
                parts.append(m.group(1))
                rest = rest[m.end() :]
            return _finish_phrase(", ".join(p.strip() for p in parts), max_chars)
    cut = _SENTENCE_END.search(s, 0, max_chars + 200)
    sentence = s[: cut.start()] if cut else s[: max_chars + 200]
    if cut is None and len(s) > max_chars + 200:
        return Extraction(TOO_LONG)
    # "The largest $n$ is 34": a sentence rather than a value; take what it says the value is.
    if re.search(r"[A-Za-z]{2,}", sentence.replace("\\", " \\")) and not sentence.lstrip().startswith("\\"):
        hits = list(_IS.finditer(sentence))
        if hits:
            sentence = sentence[hits[-1].end() :]
    sentence = sentence.strip()
    for open_d, close_d in _MATH_DELIMS:
        if sentence.startswith(open_d):
            end = sentence.find(close_d, len(open_d))
            if end < 0:
                return Extraction(NO_ANSWER)
            sentence = sentence[len(open_d) : end]
            break
    return _finish_phrase(sentence, max_chars)


def _finish_phrase(text: str, max_chars: int) -> Extraction:
    text = text.strip().strip("*").strip()
    while text and text[-1] in ".,;:":
        text = text[:-1].rstrip()
    if not text:
        return Extraction(NO_ANSWER)
    if len(text) > max_chars:
        return Extraction(TOO_LONG)
    return Extraction(FOUND, text, FROM_PHRASE)


def _after_last_anchor(text: str) -> Optional[str]:
    """What follows the last answer phrase in the tail of ``text``, or None when there is none."""
    tail = text[max(0, len(text) - PHRASE_WINDOW) :]
    last = None
    for last in _ANCHOR.finditer(tail):
        pass
    return None if last is None else tail[last.end() :]


def extract_final_answer(text: str, max_chars: int = MAX_ANSWER_CHARS) -> Extraction:
    """The answer stated after the last answer phrase of ``text`` (no boxes involved)."""
    after = _after_last_anchor(text)
    return Extraction(NO_ANSWER) if after is None else _after_anchor(after, max_chars)


def extract_answer(text: str, max_chars: int = MAX_ANSWER_CHARS, phrases: bool = True) -> Extraction:
    """The final answer of a response: its last box(es); with no box at all and
    ``phrases``, the final stated answer."""
    if has_box(text):
        return extract_boxed(text, max_chars)
    if not phrases:
        return Extraction(NO_ANSWER)
    after = _after_last_anchor(text)
    if after is not None:
        return _after_anchor(after, max_chars)  # a phrase that states nothing (truncated) is no answer
    from rlinf_math.prose import concluding_answer  # here: prose -> forms -> this module

    value = concluding_answer(text)
    if value is None or len(value) > max_chars:
        return Extraction(NO_ANSWER)
    return Extraction(FOUND, value, FROM_CONCLUSION)


# ----------------------------------------------------------------------------------------
# Multiple choice
# ----------------------------------------------------------------------------------------
CHOICE_LETTERS = "ABCDEFGHIJ"
_WRAPPERS = re.compile(r"\\(?:text|textbf|textrm|textnormal|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
_CHOICE_ONLY = re.compile(r"\(?([A-Z])\)?[.:]?")
_CHOICE_LABELLED = re.compile(r"\(?([A-Z])\)[.:]?\s*\S.*", re.DOTALL)
_CHOICE_WORD = re.compile(r"(?:option|choice)\s+\(?([A-Z])\)?", re.IGNORECASE)


def choice_letter(text: str, letters: str = CHOICE_LETTERS, labelled: bool = True) -> Optional[str]:
    """The choice letter an answer names, or None: ``B``, ``(B)``, ``\\text{(B)}``,
    ``\\textbf{(B)}``, "option B", and (with ``labelled``) a labelled value ``(B) 12``."""
    if len(text) > 200:
        return None
    s = text
    for _ in range(3):  # unwrap \text{\textbf{(B)}}
        s2 = _WRAPPERS.sub(r"\1", s)
        if s2 == s:
            break
        s = s2
    s = s.replace("$", "").replace("*", "").replace("\\ ", " ").replace("~", " ").strip()
    m = _CHOICE_ONLY.fullmatch(s)
    if m and m.group(1) in letters:
        if not s.startswith("(") or s.count(")") == 1:  # "(B" alone is not a choice; "B)" is
            return m.group(1)
        return None
    if labelled:
        m = _CHOICE_LABELLED.fullmatch(s)
        if m and m.group(1) in letters:
            return m.group(1)
    m = _CHOICE_WORD.fullmatch(s)
    if m and m.group(1) in letters:
        return m.group(1)
    return None


def _last_line(text: str) -> str:
    tail = text[-300:].rstrip()
    return tail[tail.rfind("\n") + 1 :].strip()


def extract_choice(text: str, letters: str = "ABCD") -> Optional[str]:
    """The multiple-choice letter a response commits to, or None.

    The last box if there is one (``\\boxed{B}``, ``\\boxed{\\text{(C)}}``,
    ``\\boxed{\\textbf{(E)}\\ 12}``); else the last answer phrase ("the answer is (B)",
    "Answer: D"); else a letter alone on the last line. A letter merely mentioned ("both
    (A) and (C) look plausible") is not an answer. ``letters`` are the valid choices
    (GPQA: ``"ABCD"``; MMLU-Pro: ``"ABCDEFGHIJ"``).
    """
    found = extract_answer(text)
    if found.status == FOUND and found.text is not None:
        return choice_letter(found.text, letters)
    if found.status == NO_ANSWER and not has_box(text):
        return choice_letter(_last_line(text), letters, labelled=False)
    return None


# ----------------------------------------------------------------------------------------
# Reference solutions
# ----------------------------------------------------------------------------------------
_GSM8K = re.compile(r"####\s*([^\n]+)")


def gold_answer(solution: str, max_chars: int = MAX_ANSWER_CHARS) -> str:
    """A reference solution as the answer to compare against.

    Its last box(es) if it has any (a worked MATH solution uses only its boxed answer), else
    a GSM8K ``#### answer``, else a stated answer ("The answer is 5."), else the whole string
    without surrounding ``$``. Golds are
    trusted data, so the length cap is lifted for the box search.
    """
    if has_box(solution):
        found = extract_boxed(solution, max_chars=max(max_chars, len(solution)))
        if found.status == FOUND and found.text is not None:
            return found.text
    m = None
    for m in _GSM8K.finditer(solution):
        pass
    if m is not None:
        return m.group(1).strip()
    if _ANCHOR.search(solution):  # "The answer is 5."
        stated = extract_final_answer(solution, max(max_chars, len(solution)))
        if stated.status == FOUND and stated.text is not None:
            return stated.text
    text = solution.strip()
    while len(text) >= 2 and text.startswith("$") and text.endswith("$"):
        text = text[1:-1].strip()
    if text.startswith("\\(") and text.endswith("\\)") or text.startswith("\\[") and text.endswith("\\]"):
        text = text[2:-2].strip()
    return text
