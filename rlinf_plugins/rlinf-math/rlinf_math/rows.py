"""Read the rows of a ``.jsonl`` or ``.parquet`` data file, each with its 1-based position.

The files follow the AReaL-boba layout (one JSON object per line, or one parquet row per
record): ``{"prompt": ..., "task": "math", "query_id": ..., "solutions": [...]}``. This
module only reads; checking the fields is the task's job. A line that is not a JSON object
is yielded as a :class:`BadRow` so the caller can raise or skip it. Blank lines of a
``.jsonl`` are ignored (a trailing newline is common); ``.json.gz``/CSV are not supported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Union

from rlinf_core.errors import ConfigError

SUFFIXES = (".jsonl", ".parquet")


@dataclass
class Row:
    """A record and where it came from (``line`` is 1-based: the line of a jsonl, the row of a parquet)."""

    path: str
    line: int
    data: Dict[str, Any]


@dataclass
class BadRow:
    """A record that could not be read as a JSON object, and why."""

    path: str
    line: int
    reason: str


def where(path: str, line: int) -> str:
    """``file.jsonl line 3`` / ``file.parquet row 3``."""
    unit = "row" if path.endswith(".parquet") else "line"
    return f"{path} {unit} {line}"


def read_rows(path: str, config_field: str = "") -> Iterator[Union[Row, BadRow]]:
    """Every record of ``path`` in file order; a missing/unreadable file is a ConfigError.

    ``config_field`` (e.g. ``data.train_data_paths``) is named in the errors when known.
    """
    origin = f" (from {config_field})" if config_field else ""
    if not path.endswith(SUFFIXES):
        raise ConfigError(
            f"Data file '{path}'{origin} has an unsupported extension; the math task reads "
            f"{' and '.join(SUFFIXES)} files."
        )
    if not os.path.isfile(path):
        raise ConfigError(
            f"Data file '{path}'{origin} does not exist. Fix the path in "
            f"{config_field or 'data.train_data_paths / data.val_data_paths'} (relative paths start at the "
            f"working directory, here {os.getcwd()})."
        )
    if path.endswith(".parquet"):
        return _parquet_rows(path, origin)
    return _jsonl_rows(path, origin)


def _jsonl_rows(path: str, origin: str) -> Iterator[Union[Row, BadRow]]:
    try:
        handle = open(path, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Data file '{path}'{origin} cannot be read: {exc.strerror or exc}.") from exc
    with handle:
        lineno = 0
        while True:
            try:
                text = handle.readline()
            except UnicodeDecodeError as exc:
                raise ConfigError(
                    f"Data file '{path}'{origin} is not UTF-8 text (after line {lineno}): {exc.reason}. "
                    "Save it as UTF-8 JSON lines."
                ) from exc
            if not text:
                return
            lineno += 1
            if not text.strip():
                continue
            try:
                data = json.loads(text.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                yield BadRow(path, lineno, f"is not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(data, dict):
                yield BadRow(path, lineno, f"is a JSON {type(data).__name__}, not an object with named fields")
                continue
            yield Row(path, lineno, data)


def _parquet_rows(path: str, origin: str) -> Iterator[Union[Row, BadRow]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for a broken file
        raise ConfigError(f"Data file '{path}'{origin} cannot be read as parquet: {exc}") from exc
    lineno = 0
    for batch in parquet.iter_batches(batch_size=4096):
        for data in batch.to_pylist():
            lineno += 1
            yield Row(path, lineno, data)
