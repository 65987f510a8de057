"""Find the final answer of a response: the content of its last ``\\boxed{...}``.

Follows the convention of the MATH dataset (Hendrycks et al. 2021) and of the
``last_boxed_only_string`` helper used by verl, RLinf and AReaL: only the LAST
``\\boxed{...}`` (or ``\\fbox{...}``, or the brace-less ``\\boxed 5``) counts, with braces
matched so ``\\boxed{\\frac{1}{2}}`` gives ``\\frac{1}{2}``.

Deviations, all on the side of bounded work:
- Escaped braces (``\\{``/``\\}``) do not count for matching, so ``\\boxed{\\{1,2\\}}`` works.
- The scan stops after ``max_chars`` characters: a longer answer is reported as too long
  (the reward scores it incorrect) instead of being parsed. The cost is O(max_chars)
  whatever the response length (a 1 MB response costs one ``rfind``).
- A last box that is never closed (a truncated response) is no answer; earlier boxes are
  not used as a fall-back.
- One trailing period is dropped (``\\boxed 5.`` gives ``5``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

MAX_ANSWER_CHARS = 1000
_COMMANDS = ("\\boxed", "\\fbox")

# Extraction outcomes.
FOUND = "found"
NO_ANSWER = "no_answer"
TOO_LONG = "too_long"


@dataclass(frozen=True)
class Extraction:
    """The final answer of a response (``text`` is set only when ``status == FOUND``)."""

    status: str
    text: Optional[str] = None


def _last_command(text: str) -> tuple[int, str]:
    """Position and name of the last ``\\boxed``/``\\fbox`` not followed by a letter, or (-1, "")."""
    best, best_cmd = -1, ""
    for cmd in _COMMANDS:
        end = len(text)
        while True:
            pos = text.rfind(cmd, 0, end)
            if pos < 0:
                break
            after = pos + len(cmd)
            if after < len(text) and text[after].isalpha():  # e.g. \boxedsomething: not a box
                end = pos
                continue
            if pos > best:
                best, best_cmd = pos, cmd
            break
    return best, best_cmd


def _braced(text: str, open_pos: int, max_chars: int) -> Extraction:
    """Content of the group opening at ``text[open_pos] == "{"``, matching braces."""
    depth = 0
    i = open_pos
    limit = min(len(text), open_pos + max_chars + 2)
    while i < limit:
        ch = text[i]
        if ch == "\\":
            i += 2  # an escaped character (\{, \}, \\) never opens or closes a group
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return _finish(text[open_pos + 1 : i], max_chars)
        i += 1
    if limit < len(text):
        return Extraction(TOO_LONG)
    return Extraction(NO_ANSWER)  # never closed: a truncated response


def _finish(content: str, max_chars: int) -> Extraction:
    content = content.strip()
    if content.endswith(".") and not content.endswith(".."):
        content = content[:-1].rstrip()
    if not content:
        return Extraction(NO_ANSWER)
    if len(content) > max_chars:
        return Extraction(TOO_LONG)
    return Extraction(FOUND, content)


def extract_boxed(text: str, max_chars: int = MAX_ANSWER_CHARS) -> Extraction:
    """The content of the last ``\\boxed{}``/``\\fbox{}``/``\\boxed x`` of ``text``."""
    pos, cmd = _last_command(text)
    if pos < 0:
        return Extraction(NO_ANSWER)
    i = pos + len(cmd)
    n = len(text)
    j = i
    while j < n and j - i <= max_chars and text[j] in " \t":
        j += 1
    if j < n and text[j] == "{":
        return _braced(text, j, max_chars)
    if j == i:
        return Extraction(NO_ANSWER)  # "\boxed" followed by neither a group nor a space
    # Brace-less form "\boxed 5": the token up to the next whitespace or "$".
    k = j
    stop = min(n, j + max_chars + 1)
    while k < stop and not text[k].isspace() and text[k] != "$":
        k += 1
    if k == stop and stop < n and not text[k].isspace() and text[k] != "$":
        return Extraction(TOO_LONG)
    return _finish(text[j:k], max_chars)


def gold_answer(solution: str, max_chars: int = MAX_ANSWER_CHARS) -> str:
    """A reference solution as the answer to compare against: its boxed content if it has a
    box, else the whole (stripped) string with surrounding ``$`` removed."""
    found = extract_boxed(solution, max_chars=max(max_chars, len(solution)))
    if found.status == FOUND and found.text is not None:
        return found.text
    text = solution.strip()
    while len(text) >= 2 and text.startswith("$") and text.endswith("$"):
        text = text[1:-1].strip()
    return text
