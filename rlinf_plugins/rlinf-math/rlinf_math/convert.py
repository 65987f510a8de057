"""``rlinf benchmark convert``: any table of problems into the benchmark layout ``rlinf eval`` and
``data.val_data_paths`` read, by naming its fields.

Reads ``.jsonl``, ``.json`` (a list of objects), ``.parquet`` or ``.csv``; writes one JSON object
per line: ``{"id", "problem", "answer"}`` (math) or ``{"id", "question", "choices", "answer"}``
(multiple choice, ``--choices`` naming the option fields in order). Every written row is read
back with :func:`rlinf_math.benchmarks.read_problem`, so the output loads; a bad row stops the
conversion naming its file and row, and nothing is written (the output appears only complete).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from rlinf_core.errors import ConfigError
from rlinf_core.files import atomic_file

from rlinf_math.benchmarks import read_problem


@dataclass
class FieldMap:
    problem: str
    answer: str
    id: Optional[str] = None
    choices: Sequence[str] = ()


def read_table(path: str) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """``(where, row)`` for each row of a jsonl, json, parquet or csv file."""
    if not os.path.isfile(path):
        raise ConfigError(f"Input file '{path}' does not exist.")
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        for n, row in enumerate(pq.read_table(path).to_pylist(), 1):
            yield f"{path}, row {n}", row
    elif path.endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as fh:
            for n, row in enumerate(csv.DictReader(fh), 2):  # line 1 is the header
                yield f"{path}, line {n}", row
    elif path.endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            rows = json.load(fh)
        if not isinstance(rows, list):
            raise ConfigError(f"'{path}' holds a {type(rows).__name__}; a .json input must be a list of objects.")
        for n, row in enumerate(rows, 1):
            yield f"{path}, item {n}", row
    elif path.endswith(".jsonl"):
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield f"{path}, line {n}", json.loads(line)
                    except ValueError as exc:
                        raise ConfigError(f"{path}, line {n}: not valid JSON ({exc}).") from exc
    else:
        raise ConfigError(f"'{path}': convert reads .jsonl, .json, .parquet and .csv files.")


def _field(row: Any, name: str, where: str) -> Any:
    if not isinstance(row, dict) or row.get(name) in (None, ""):
        fields = ", ".join(sorted(map(str, row))) if isinstance(row, dict) else type(row).__name__
        raise ConfigError(f"{where}: no value in field '{name}'. Its fields are: {fields}.")
    return row[name]


def convert_row(row: Any, fields: FieldMap, where: str, n: int) -> Dict[str, Any]:
    """One row in our layout, checked to load as a benchmark row."""
    uid = str(_field(row, fields.id, where)) if fields.id else str(n)
    answer = _field(row, fields.answer, where)
    if fields.choices:
        out: Dict[str, Any] = {
            "id": uid, "question": str(_field(row, fields.problem, where)),
            "choices": [str(_field(row, c, where)) for c in fields.choices],
            "answer": answer if isinstance(answer, int) and not isinstance(answer, bool) else str(answer),
        }
    else:
        out = {"id": uid, "problem": str(_field(row, fields.problem, where)), "answer": str(answer)}
    read_problem(out, uid, where)
    return out


def convert(src: str, dst: str, fields: FieldMap) -> int:
    """Write ``src``'s rows to ``dst`` in our layout; returns the number of rows."""
    if os.path.exists(dst):
        raise ConfigError(f"Output '{dst}' exists; choose another path (nothing was written).")
    rows: List[Dict[str, Any]] = [convert_row(row, fields, where, n) for n, (where, row) in enumerate(read_table(src), 1)]
    if not rows:
        raise ConfigError(f"'{src}' has no rows (nothing was written).")
    ids = [r["id"] for r in rows]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ConfigError(f"ids repeat in '{src}' ({', '.join(repeated[:5])}): name a unique field with --id, or leave it out.")
    with atomic_file(dst, suffix=".partial") as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return len(rows)
