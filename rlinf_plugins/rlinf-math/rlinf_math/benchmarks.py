"""Benchmark files for ``rlinf eval``, in the field layouts of their public releases.

Rows are read from ``.jsonl`` or ``.parquet``; each row's layout is recognised by its fields:

- math, AIME24 (HuggingFaceH4/aime_2024, math-ai/aime24) and AIME25 (math-ai/aime25,
  opencompass/AIME2025): ``problem`` or ``question`` (or ``Problem``), and ``answer`` (or ``Answer``);
- multiple choice, ours: ``question``, ``choices``, ``answer`` as a letter ("B"), an index (1) or
  the choice's text;
- multiple choice, GPQA's release (Idavidrein/gpqa, GPQA-diamond): ``Question``,
  ``Correct Answer``, ``Incorrect Answer 1`` .. ``3``;
- AReaL-boba training rows: ``prompt`` (already formatted, so used as the prompt as it is) and
  ``solutions`` (the first is the reference).

Choices are shuffled per sample from a seed, so a model cannot profit from a fixed position; the
gold letter moves with its choice. Errors name the file and line (or parquet row).
Anything else: convert it to the first layout (one JSON object per line).
"""

from __future__ import annotations

import json
import os
import random
import string
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Tuple

from rlinf_core.errors import ConfigError

LETTERS = string.ascii_uppercase


@dataclass
class Problem:
    uid: str
    kind: str  # "math" or "choice"
    text: str  # the problem or question
    answer: str  # math: the reference answer; choice: the correct choice's text
    choices: Optional[List[str]] = None
    formatted: bool = False  # the text is a finished prompt (AReaL-boba rows): no prompt format applied


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


GPQA_WRONG = ("Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")


def _records(path: str) -> Iterator[Tuple[str, Any]]:
    """``(where, record)`` for every row of a jsonl or parquet file; a bad line is a ConfigError."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for a broken file
            raise ConfigError(f"Benchmark file '{path}' cannot be read as parquet: {exc}") from exc
        for row_no, row in enumerate(table.to_pylist(), 1):
            yield f"{path}, row {row_no}", row
        return
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}, line {line_no}"
            try:
                yield where, json.loads(line)
            except ValueError as exc:
                raise ConfigError(f"{where}: not valid JSON ({exc}).") from exc


def _first(row: dict, *keys: str) -> Any:
    return next((row[k] for k in keys if row.get(k) is not None), None)


def read_problem(row: Any, uid: str, where: str) -> Problem:
    """One row in any of the layouts in the module docstring."""
    if not isinstance(row, dict):
        raise ConfigError(f"{where}: a row must be an object with named fields, got {type(row).__name__}.")
    if "choices" in row:
        if not isinstance(row.get("question"), str) or not isinstance(row["choices"], list) or len(row["choices"]) < 2:
            raise ConfigError(f"{where}: a multiple-choice row needs `question` (string) and `choices` (2+ strings).")
        choices = [str(c) for c in row["choices"]]
        return Problem(uid, "choice", row["question"], _choice_answer({**row, "choices": choices}, where), choices)
    if "Correct Answer" in row:
        if not isinstance(row.get("Question"), str) or any(not isinstance(row.get(k), str) for k in GPQA_WRONG):
            raise ConfigError(f"{where}: a GPQA row needs `Question`, `Correct Answer` and {', '.join(map(repr, GPQA_WRONG))}.")
        choices = [str(row["Correct Answer"]).strip()] + [row[k].strip() for k in GPQA_WRONG]
        return Problem(uid, "choice", row["Question"], choices[0], choices)
    if isinstance(row.get("prompt"), str) and isinstance(row.get("solutions"), list) and row["solutions"]:
        return Problem(uid, "math", row["prompt"], str(row["solutions"][0]), formatted=True)
    text, answer = _first(row, "problem", "question", "Problem"), _first(row, "answer", "Answer")
    if isinstance(text, str) and answer is not None:
        return Problem(uid, "math", text, str(answer))
    raise ConfigError(
        f"{where}: expected a math row (`problem` or `question`, and `answer`), a multiple-choice row "
        f"(`question`, `choices`, `answer`), a GPQA row (`Question`, `Correct Answer`, `Incorrect Answer 1-3`) "
        f"or an AReaL-boba row (`prompt`, `solutions`); got keys {sorted(row)}."
    )


def load_benchmark(path: str) -> Benchmark:
    """Read a benchmark file (jsonl or parquet); its layout is recognised per row by its fields."""
    if not os.path.isfile(path):
        raise ConfigError(f"Benchmark file '{path}' does not exist.")
    if not path.endswith((".jsonl", ".parquet")):
        raise ConfigError(f"Benchmark file '{path}': rlinf eval reads .jsonl and .parquet files.")
    problems: List[Problem] = []
    for n, (where, row) in enumerate(_records(path), 1):
        fallback = f"{os.path.basename(path)}:{n}"
        uid = str(_first(row, "id", "query_id", "ID", "Record ID") or fallback) if isinstance(row, dict) else fallback
        problems.append(read_problem(row, uid, where))
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
