"""Why a multiple-choice benchmark scored 0: did any response name a choice letter at all?

Multiple-choice samples are graded against the gold *letter* (the reward reads "\\boxed{B}",
"Answer: B", a letter alone on the last line, ...). A model never taught to answer with a
letter, like the math-tiny model, which writes ``\\boxed{110}``, scores 0 there, and the bare
0.0 in the table says nothing about why. So ``rlinf eval`` counts the responses that name a
valid letter anywhere, a deliberately lenient test (the reward is stricter and pluggable):
when none does and the score is 0, a one-line note says so. A response that names a letter
without committing to it is counted, so the note is only shown when it is certainly true.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence

from rlinf_math.benchmarks import LETTERS, Benchmark

# A capital letter standing alone: "B", "(B)", "B)", "\boxed{B}", "Answer: B." but not the B of "Bob".
_LONE_CAPITAL = re.compile(r"(?<![A-Za-z0-9])([A-Z])(?![A-Za-z0-9])")


def names_a_choice(text: str, num_choices: int) -> bool:
    """Whether ``text`` holds one of the first ``num_choices`` letters as a word of its own."""
    valid = LETTERS[:num_choices]
    return any(m.group(1) in valid for m in _LONE_CAPITAL.finditer(text))


def letter_counts(bench: Benchmark, problem_of: Sequence[int], texts: List[str]) -> Dict[str, int]:
    """``{"choice_responses": n, "choice_responses_naming_a_letter": m}`` over the
    multiple-choice problems' responses (``problem_of[i]`` is the problem of ``texts[i]``);
    empty when the benchmark has no multiple-choice problem."""
    n = m = 0
    for p_idx, text in zip(problem_of, texts):
        problem = bench.problems[p_idx]
        if problem.kind != "choice" or problem.choices is None:
            continue
        n += 1
        m += names_a_choice(text, len(problem.choices))
    return {"choice_responses": n, "choice_responses_naming_a_letter": m} if n else {}


def no_letter_note(summary: Dict[str, Any], samples: int) -> Optional[str]:
    """The one-line note for a benchmark whose choice responses named no letter and scored 0, else None."""
    if not summary.get("choice_responses") or summary.get("choice_responses_naming_a_letter"):
        return None
    if summary.get(f"avg@{samples}", 0.0) > 0.0:
        return None  # a reward that matched choices some other way: nothing to explain
    return (
        f"note: {summary['benchmark']}: none of its {summary['choice_responses']} multiple-choice responses names a "
        f"choice letter, so none can match the gold letter (the model answers in another form; see docs/evaluation.md)."
    )
