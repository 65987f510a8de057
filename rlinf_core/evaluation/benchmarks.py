"""Benchmark files: math (``problem``, ``answer``) and multiple choice (``question``, ``choices``, ``answer``).

Math rows follow the AIME24/AIME25 layout; multiple-choice rows follow GPQA-diamond's, with
``answer`` the correct choice as a letter ("B"), an index (1) or the choice's text. Choices
are shuffled per sample from a seed, so a model cannot profit from a fixed position; the
gold letter moves with its choice. Errors name the file and line.
"""

from __future__ import annotations

import json
import os
import random
import string
from dataclasses import dataclass
from typing import List, Optional

from rlinf_core.errors import ConfigError

LETTERS = string.ascii_uppercase


@dataclass
class Problem:
    uid: str
    kind: str  # "math" or "choice"
    text: str  # the problem or question
    answer: str  # math: the reference answer; choice: the correct choice's text
    choices: Optional[List[str]] = None


@dataclass
class Benchmark:
    name: str
    path: str
    problems: List[Problem]


def _choice_answer(row: dict, where: str) -> str:
    choices, answer = row["choices"], row["answer"]
    if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer < len(choices):
        return choices[answer]
    if isinstance(answer, str) and len(answer.strip()) == 1 and answer.strip().upper() in LETTERS[: len(choices)]:
        return choices[LETTERS.index(answer.strip().upper())]
    if isinstance(answer, str) and answer in choices:
        return answer
    raise ConfigError(f"{where}: `answer` {answer!r} is neither a letter, an index nor the text of one of the {len(choices)} choices.")


def load_benchmark(path: str) -> Benchmark:
    """Read a benchmark jsonl; its kind is decided per row by the keys it has."""
    if not os.path.isfile(path):
        raise ConfigError(f"Benchmark file '{path}' does not exist.")
    problems: List[Problem] = []
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}, line {line_no}"
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ConfigError(f"{where}: not valid JSON ({exc}).") from exc
            uid = str(row.get("id", row.get("query_id", f"{os.path.basename(path)}:{line_no}")))
            if "choices" in row:
                if not isinstance(row.get("question"), str) or not isinstance(row["choices"], list) or len(row["choices"]) < 2:
                    raise ConfigError(f"{where}: a multiple-choice row needs `question` (string) and `choices` (2+ strings).")
                choices = [str(c) for c in row["choices"]]
                problems.append(Problem(uid, "choice", row["question"], _choice_answer({**row, "choices": choices}, where), choices))
            elif isinstance(row.get("problem"), str) and "answer" in row:
                problems.append(Problem(uid, "math", row["problem"], str(row["answer"])))
            else:
                raise ConfigError(
                    f"{where}: expected a math row (`problem`, `answer`) or a multiple-choice row "
                    f"(`question`, `choices`, `answer`); got keys {sorted(row)}."
                )
    if not problems:
        raise ConfigError(f"Benchmark file '{path}' has no problems.")
    name = os.path.splitext(os.path.basename(path))[0]
    return Benchmark(name=name, path=path, problems=problems)


def shuffled_choices(problem: Problem, seed: int, sample: int) -> tuple:
    """(choices in this sample's order, the gold letter): deterministic in (seed, problem, sample)."""
    assert problem.choices is not None
    order = list(range(len(problem.choices)))
    random.Random(f"{seed}:{problem.uid}:{sample}").shuffle(order)
    choices = [problem.choices[i] for i in order]
    return choices, LETTERS[choices.index(problem.answer)]
