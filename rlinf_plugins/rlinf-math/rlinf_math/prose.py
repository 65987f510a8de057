"""The final answer stated in a concluding sentence, for responses with no box and no answer phrase.

A worked solution in the MATH style often ends "Therefore, there are 17 ways." or "Hence
$n = 9$." instead of boxing its answer. :func:`concluding_answer` reads such an ending, and
only such an ending (:mod:`rlinf_math.answer` calls it last):

- the response's **last sentence** must contain a conclusion word (therefore, thus, hence,
  so, consequently, in total, altogether, in all); what follows it is the clause read;
- the value is the clause's last ``$...$`` math; else what follows its last "is", "are",
  "equals", "=", "gives", "has" or "have" (up to a comma or "since"/"because"), when that
  holds a number or a spelled-out number; else the clause's only number;
- anything else (no conclusion word, two numbers and no verb, a long clause) is no answer.

This is stricter than extracting "the last number" (math-verify used directly, and Minerva's
fall-back), which pays truncated reasoning that happens to mention the gold: a number has to
be stated as the conclusion to count. The clause is bounded (:data:`MAX_CLAUSE_CHARS`).
"""

from __future__ import annotations

import re
from typing import Optional

from rlinf_math.forms import spelled_number

__all__ = ["concluding_answer"]

MAX_CLAUSE_CHARS = 200
_TAIL_CHARS = 2_000

_SENTENCE_BREAK = re.compile(r"[.!?](?=\s)|\n")
_CONCLUSION = re.compile(
    r"(?:^|(?<=[\s,;:]))(?:therefore|thus|hence|so|consequently|altogether|in\s+total|in\s+all)\b[\s,:]*",
    re.IGNORECASE,
)
_MATH = re.compile(r"\$([^$]{1,300})\$|\\\((.{1,300}?)\\\)")
_VERB = re.compile(r"\s(?:is|are|equals|=|gives|has|have)\s", re.IGNORECASE)
_STOP = re.compile(r",\s|\s(?:since|because|which|as)\s|\s\(", re.IGNORECASE)
_NUMBER_THEN_WORDS = re.compile(r"([+-]?\d[\d,]*(?:\.\d+)?(?:/\d+)?%?)(?:\s+[A-Za-z][A-Za-z .]*)?")
_NUMBER = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?(?:/\d+)?%?")


def _last_sentence(text: str) -> str:
    body = text[-_TAIL_CHARS:].rstrip().rstrip(".!").rstrip()
    start = 0
    for m in _SENTENCE_BREAK.finditer(body):
        if body.count("$", 0, m.start()) % 2 == 0:  # a break inside $...$ is not a sentence end
            start = m.end()
    return body[start:].strip()


def _value_after_verb(clause: str) -> Optional[str]:
    hits = list(_VERB.finditer(clause))
    if not hits:
        return None
    part = clause[hits[-1].end() :]
    stop = _STOP.search(part)
    part = (part[: stop.start()] if stop else part).strip()
    if not part or len(part) > 60:
        return None
    if re.search(r"\d", part):
        lead = _NUMBER_THEN_WORDS.fullmatch(part)  # "105 dollars left", "24 square units"
        return lead.group(1) if lead else part
    words = part.split()
    digits = spelled_number(words[0]) if words else None
    return digits if digits is not None and all(w.isalpha() for w in words) else None


def concluding_answer(text: str) -> Optional[str]:
    """The value a response's concluding sentence states (see the module docstring), else None."""
    sentence = _last_sentence(text)
    # The last conclusion word that has something after it ("Thus it travels 150 miles in total").
    clauses = [sentence[m.end() :].strip() for m in _CONCLUSION.finditer(sentence)]
    clause = next((c for c in reversed(clauses) if c), None)
    if clause is None or len(clause) > MAX_CLAUSE_CHARS:
        return None
    spans = [a or b for a, b in _MATH.findall(clause)]
    if spans:
        return spans[-1].strip()
    value = _value_after_verb(clause)
    if value is not None:
        return value
    numbers = _NUMBER.findall(clause)
    return numbers[0] if len(numbers) == 1 else None
