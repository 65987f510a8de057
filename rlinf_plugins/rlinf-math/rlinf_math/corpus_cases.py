"""Readers for the grader's labelled case files (``tests/corpus/*.jsonl`` of this plugin): the
corpus tests and ``benchmarks/grader.py`` read the same cases the same way.

A case has ``gold`` (one answer or a list) and either a ``response`` or, for the hostile cases
too large to store, ``prefix + unit * count + middle + close * close_count + suffix``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Union


def load_cases(path: Union[str, Path]) -> List[Dict[str, Any]]:
    """The cases of one jsonl file, blank lines skipped."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def case_response(case: Dict[str, Any]) -> str:
    """A case's response, built from its parts when it is stored compressed."""
    if "response" in case:
        return case["response"]
    return (
        case["prefix"] + case["unit"] * case["count"] + case.get("middle", "")
        + case.get("close", "") * case.get("close_count", 0) + case.get("suffix", "")
    )


def case_golds(case: Dict[str, Any]) -> List[str]:
    """A case's gold answers as a list."""
    return case["gold"] if isinstance(case["gold"], list) else [case["gold"]]
