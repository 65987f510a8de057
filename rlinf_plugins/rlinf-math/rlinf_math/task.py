"""The ``math`` task: AReaL-boba style prompts with boxed reference solutions.

Rows follow the AReaL-boba format that RLinf trains on
(``{"prompt": "<｜User｜>...<｜Assistant｜><think>\\n", "task": "math", "query_id": "...",
"solutions": ["\\\\boxed{x}"]}``), from ``.jsonl`` or ``.parquet`` files
(:mod:`rlinf_math.rows`). ``data.prompt_key``/``data.answer_key`` pick the fields.

- Without ``data.apply_chat_template`` the prompt is a string already in the model's chat
  format (as in AReaL-boba) and is tokenised as is, without special tokens added.
- With it, the prompt is a list of ``{"role", "content"}`` messages rendered by the
  tokenizer's chat template with the generation prompt appended, then tokenised.
- Answers stay as given (``"\\\\boxed{7}"``); the reward extracts the boxed content.

Deviations from RLinf: prompts over ``data.max_prompt_length`` tokens are dropped and
counted (``stats["dropped_too_long"]``) instead of truncated; a malformed row stops loading
with its file and line unless ``data.skip_invalid`` (then ``stats["skipped_invalid"]``).
Counters accumulate over every :meth:`MathTask.load` call of the instance.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Tuple

from rlinf_core import ConfigError, Example, Task
from rlinf_core.config import DataConfig, doc

from rlinf_math.rows import BadRow, Row, read_rows, where

_SKIP_HINT = "or set data.skip_invalid: true to skip (and count) such rows"
_TOKENIZE_CHUNK = 1024


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _describe(value: Any) -> str:
    """``an int``, ``a dict``, ``null``: how a JSON value's type reads in a message."""
    if value is None:
        return "null"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


@dataclass
class MathDataConfig(DataConfig):
    """The ``data`` section with the math task's row fields."""

    prompt_key: str = doc("prompt", "Field of each row that holds the prompt (a string, or a list of chat messages).")
    answer_key: str = doc("solutions", "Field of each row that holds the reference answer(s); a string is a list of one.")
    apply_chat_template: bool = doc(
        False, "Send list-of-messages prompts through tokenizer.apply_chat_template(add_generation_prompt=True)."
    )
    skip_invalid: bool = doc(False, "Skip (and count) malformed rows instead of stopping with an error.")


class MathTask(Task):
    """Reads AReaL-boba math rows, formats and tokenises the prompts, keeps the solutions."""

    config_class = MathDataConfig
    default_reward = "math"

    def __init__(self, config: MathDataConfig, tokenizer: Any):
        super().__init__(config, tokenizer)
        self.stats.update({"dropped_too_long": 0, "skipped_invalid": 0})

    # -- loading ---------------------------------------------------------------------------
    def load(self, paths: List[str]) -> List[Example]:
        """Read, check and tokenise every row of ``paths`` (in order)."""
        cfg = self.config
        if not paths:
            raise ConfigError(
                "No data files to load: set data.train_data_paths (and data.val_data_paths) to .jsonl or "
                ".parquet files."
            )
        if cfg.apply_chat_template and getattr(self.tokenizer, "chat_template", None) is None:
            raise ConfigError(
                "data.apply_chat_template is true but the tokenizer has no chat template "
                "(tokenizer.chat_template is None). Use a checkpoint whose tokenizer defines one, or set "
                "data.apply_chat_template: false and store prompts as already-formatted strings."
            )
        for key in ("dropped_too_long", "skipped_invalid"):
            self.stats.setdefault(key, 0)

        rows: List[Tuple[str, str, List[str]]] = []  # (uid, prompt text, answers)
        for path in paths:
            for row in read_rows(str(path), self._config_field(str(path))):
                parsed = self._check(row)
                if parsed is not None:
                    rows.append(parsed)

        examples: List[Example] = []
        for start in range(0, len(rows), _TOKENIZE_CHUNK):
            chunk = rows[start : start + _TOKENIZE_CHUNK]
            ids = self.tokenizer([text for _, text, _ in chunk], add_special_tokens=False)["input_ids"]
            for (uid, _, answers), prompt_ids in zip(chunk, ids):
                if len(prompt_ids) > cfg.max_prompt_length:
                    self.stats["dropped_too_long"] += 1
                    continue
                examples.append(Example(uid=uid, prompt_ids=list(prompt_ids), answers=answers))

        if not examples:
            raise ConfigError(
                f"No usable examples in {', '.join(map(str, paths))}: {len(rows)} valid rows, "
                f"{self.stats['dropped_too_long']} dropped as longer than data.max_prompt_length="
                f"{cfg.max_prompt_length} tokens, {self.stats['skipped_invalid']} skipped as invalid "
                "(so far). Check the files, data.prompt_key / data.answer_key, or raise data.max_prompt_length."
            )
        return examples

    def _config_field(self, path: str) -> str:
        def norm(paths: Any) -> List[str]:
            return [os.path.abspath(str(p)) for p in (paths or [])]

        here = os.path.abspath(path)
        if here in norm(self.config.train_data_paths):
            return "data.train_data_paths"
        if here in norm(self.config.val_data_paths):
            return "data.val_data_paths"
        return ""

    def _invalid(self, message: str) -> None:
        if self.config.skip_invalid:
            self.stats["skipped_invalid"] += 1
            return
        raise ConfigError(message)

    def _check(self, row: Any) -> Optional[Tuple[str, str, List[str]]]:
        """(uid, prompt text, answers) of a valid row; None for a skipped invalid one."""
        if isinstance(row, BadRow):
            self._invalid(f"{where(row.path, row.line)} {row.reason}. Fix the file, {_SKIP_HINT}.")
            return None
        assert isinstance(row, Row)
        loc = where(row.path, row.line)
        if self.config.prompt_key not in row.data:
            benchmark = self._benchmark_row(row, loc)
            if benchmark is not None:
                return benchmark
        prompt, problem = self._prompt_text(row, loc)
        if problem:
            self._invalid(problem)
            return None
        answers, problem = self._answers(row, loc)
        if problem:
            self._invalid(problem)
            return None
        query_id = row.data.get("query_id")
        uid = str(query_id) if query_id is not None else f"{os.path.basename(row.path)}:{row.line}"
        return uid, prompt, answers

    def _benchmark_row(self, row: Row, loc: str) -> Optional[Tuple[str, str, List[str]]]:
        """A row in a benchmark's layout (AIME24/25 ``problem``/``question`` + ``answer``; GPQA's or
        our multiple choice), so that data.val_data_paths takes the files ``rlinf eval`` takes;
        rendered as RLinf evaluates R1-distill models (``r1-math``, ``r1-gpqa``), or with the chat
        template under data.apply_chat_template. Deviation from ``rlinf eval``, which shuffles the
        choices per sample: here each problem has one order (seeded by its id), and its gold is
        that order's letter. None when the row is in no such layout (the usual missing-field
        error follows)."""
        from rlinf_math.benchmarks import read_problem, shuffled_choices
        from rlinf_math.prompts import render

        uid = str(row.data.get("id", row.data.get("Record ID", f"{os.path.basename(row.path)}:{row.line}")))
        try:
            problem = read_problem(row.data, uid, loc)
        except ConfigError:
            return None
        chat = self.config.apply_chat_template
        if problem.kind == "choice":
            choices, letter = shuffled_choices(problem, 0, 0)
            return uid, render("chat" if chat else "r1-gpqa", problem.text, self.tokenizer, choices), [letter]
        fmt = "raw" if problem.formatted else "chat" if chat else "r1-math"
        return uid, render(fmt, problem.text, self.tokenizer), [problem.answer]

    def _missing(self, row: Row, loc: str, key: str, option: str) -> str:
        fields = ", ".join(sorted(map(str, row.data))) or "none"
        return (
            f"{loc} has no field '{key}' ({option}). Its fields are: {fields}. Set {option} to the field that "
            f"holds it, {_SKIP_HINT}."
        )

    def _prompt_text(self, row: Row, loc: str) -> Tuple[str, str]:
        """(prompt text to tokenise, "") or ("", error message)."""
        key = self.config.prompt_key
        if key not in row.data:
            return "", self._missing(row, loc, key, "data.prompt_key")
        prompt = row.data[key]
        if not self.config.apply_chat_template:
            if isinstance(prompt, str) and prompt:
                return prompt, ""
            if _is_messages(prompt):
                hint = "It is a list of chat messages: set data.apply_chat_template: true to render it"
            else:
                hint = f"Point data.prompt_key at a string field, {_SKIP_HINT}"
            kind = "an empty string" if prompt == "" else _describe(prompt)
            return "", (
                f"{loc}: field '{key}' (data.prompt_key) is {kind}, but without data.apply_chat_template the "
                f"prompt must be a non-empty string. {hint}."
            )
        if not _is_messages(prompt):
            return "", (
                f"{loc}: field '{key}' (data.prompt_key) is {_describe(prompt)}, but with "
                "data.apply_chat_template: true the prompt must be a non-empty list of chat messages "
                '({"role": ..., "content": ...} with string values). Set data.apply_chat_template: false for '
                f"prompts stored as formatted strings, {_SKIP_HINT}."
            )
        try:
            text = self.tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
        except Exception as exc:  # a Jinja error in the template or in the messages
            return "", (
                f"{loc}: the tokenizer's chat template failed on field '{key}' (data.prompt_key): "
                f"{type(exc).__name__}: {exc}. Fix the messages, {_SKIP_HINT}."
            )
        if not isinstance(text, str):
            raise ConfigError(
                f"tokenizer.apply_chat_template(tokenize=False) returned {_describe(text)}, not a string; "
                "the math task needs a Hugging Face tokenizer with a text chat template."
            )
        return text, ""

    def _answers(self, row: Row, loc: str) -> Tuple[List[str], str]:
        """(answers, "") or ([], error message)."""
        key = self.config.answer_key
        if key not in row.data:
            return [], self._missing(row, loc, key, "data.answer_key")
        value = row.data[key]
        if isinstance(value, str) and value.strip():
            return [value], ""
        if isinstance(value, list) and value and all(isinstance(a, str) and a.strip() for a in value):
            return list(value), ""
        if isinstance(value, list) and value:
            kinds = sorted({_type_name(a) for a in value if not isinstance(a, str)})
            kind = f"a list holding {'/'.join(kinds)} values" if kinds else "a list with an empty string"
        elif isinstance(value, (list, str)):
            kind = "empty"
        else:
            kind = _describe(value)
        return [], (
            f"{loc}: field '{key}' (data.answer_key) is {kind}, but the reference answer must be a non-empty "
            f'string or a non-empty list of strings (e.g. ["\\\\boxed{{7}}"]). Fix the data, point '
            f"data.answer_key at the right field, {_SKIP_HINT}."
        )

    # -- batching --------------------------------------------------------------------------
    def batches(self, examples: List[Example], batch_size: int, seed: int, epoch: int) -> Iterator[List[Example]]:
        """Full batches of one epoch; the order depends only on (seed, epoch) when shuffling."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        order = list(range(len(examples)))
        if self.config.shuffle:
            random.Random(seed * 1000003 + epoch).shuffle(order)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield [examples[i] for i in order[start : start + batch_size]]


def _is_messages(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in value
        )
    )

