"""The `{{name}}` task: jsonl rows of a question and its answer, formatted as chat prompts.

Each row of a data file is a JSON object such as
``{"id": "reverse-000", "question": "cat", "answer": "tac"}`` (``data.prompt_key`` and
``data.answer_key`` name the fields; the answer may be a list of accepted answers).
The prompt is ``data.instruction`` followed by the question, sent as a user message
through the tokenizer's chat template (``data.apply_chat_template``).

Data paths: ``bundled:train.jsonl`` is the dataset shipped inside this package
(``{{module}}/data/``); anything else is a file path (relative to the working directory).

Errors name the file and line of a bad row; with ``data.skip_invalid`` such rows are
skipped and counted (``stats["skipped_invalid"]``, logged as ``data/skipped_invalid``).
Prompts over ``data.max_prompt_length`` tokens are dropped and counted
(``data/dropped_too_long``).
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from importlib import resources
from typing import Any, Iterator, List, Optional, Tuple

from rlinf_core import ConfigError, Example, Task
from rlinf_core.config import DataConfig, doc

BUNDLED = "bundled:"


@dataclass
class {{class_name}}DataConfig(DataConfig):
    """The `data` section when `data.task: {{name}}`: the core's fields plus this task's row fields and instruction."""

    prompt_key: str = doc("question", "Field of each row that holds the question.")
    answer_key: str = doc("answer", "Field of each row that holds the answer (a string or a list of accepted answers).")
    apply_chat_template: bool = doc(True, "Send the prompt as a user message through the tokenizer's chat template.")
    skip_invalid: bool = doc(False, "Skip (and count) malformed rows instead of stopping with an error.")
    instruction: str = doc(
        "Reverse the letters of the word. Reply with the reversed word only.",
        "Text put before each question in the prompt (empty: the question alone).",
    )


def bundled_path(name: str) -> str:
    """Path of a data file shipped in this package's ``data/`` folder."""
    folder = resources.files(__package__) / "data"
    target = folder / name
    if not target.is_file():
        shipped = sorted(p.name for p in folder.iterdir() if p.name.endswith(".jsonl"))
        raise ConfigError(f"'{BUNDLED}{name}' is not a dataset of {{package}}; it ships: {', '.join(shipped)}.")
    return str(target)


class {{class_name}}Task(Task):
    """Reads question/answer jsonl rows and tokenises the prompts."""

    config_class = {{class_name}}DataConfig
    config: {{class_name}}DataConfig
    default_reward = "{{name}}"

    def __init__(self, config: {{class_name}}DataConfig, tokenizer: Any):
        super().__init__(config, tokenizer)
        self.stats.update({"dropped_too_long": 0, "skipped_invalid": 0})

    def resolve(self, path: str) -> str:
        """``bundled:NAME`` -> the packaged file; any other path must exist."""
        if path.startswith(BUNDLED):
            return bundled_path(path[len(BUNDLED) :])
        if not os.path.isfile(path):
            raise ConfigError(
                f"Data file '{path}' (data.train_data_paths) does not exist; relative paths start at {os.getcwd()}. "
                f"'{BUNDLED}train.jsonl' is the dataset shipped with {{package}}."
            )
        return path

    def load(self, paths: List[str]) -> List[Example]:
        cfg = self.config
        if cfg.apply_chat_template and getattr(self.tokenizer, "chat_template", None) is None:
            raise ConfigError(
                "data.apply_chat_template is true but the tokenizer has no chat template; set it to false."
            )
        rows: List[Tuple[str, str, List[str]]] = []
        for spec in paths:
            rows.extend(self._read(self.resolve(str(spec))))
        examples = []
        for uid, text, answers in rows:
            ids = self.tokenizer(self._format(text), add_special_tokens=False)["input_ids"]
            if len(ids) > cfg.max_prompt_length:
                self.stats["dropped_too_long"] += 1
                continue
            examples.append(Example(uid=uid, prompt_ids=list(ids), answers=answers))
        if not examples:
            raise ConfigError(
                f"No usable examples in {', '.join(map(str, paths))}: {self.stats['dropped_too_long']} prompts are "
                f"longer than data.max_prompt_length={cfg.max_prompt_length} and {self.stats['skipped_invalid']} rows "
                "are invalid."
            )
        return examples

    def _format(self, question: str) -> str:
        text = f"{self.config.instruction}\n{question}" if self.config.instruction else question
        if not self.config.apply_chat_template:
            return text
        messages = [{"role": "user", "content": text}]
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def _read(self, path: str) -> List[Tuple[str, str, List[str]]]:
        cfg = self.config
        out = []
        with open(path, encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                row, problem = self._parse(line, cfg.prompt_key, cfg.answer_key)
                if problem:
                    if cfg.skip_invalid:
                        self.stats["skipped_invalid"] += 1
                        continue
                    raise ConfigError(f"{path} line {line_no}: {problem} (or set data.skip_invalid: true to skip such rows).")
                assert row is not None
                uid = str(row.get("id", f"{os.path.basename(path)}:{line_no}"))
                answer = row[cfg.answer_key]
                out.append((uid, row[cfg.prompt_key], [answer] if isinstance(answer, str) else list(answer)))
        return out

    @staticmethod
    def _parse(line: str, prompt_key: str, answer_key: str) -> Tuple[Optional[dict], str]:
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            return None, f"not valid JSON ({exc.msg})"
        if not isinstance(row, dict):
            return None, "not a JSON object"
        question = row.get(prompt_key)
        if not isinstance(question, str) or not question.strip():
            return None, f"field '{prompt_key}' (data.prompt_key) must be a non-empty string"
        answer = row.get(answer_key)
        ok = (isinstance(answer, str) and answer.strip()) or (
            isinstance(answer, list) and answer and all(isinstance(a, str) and a.strip() for a in answer)
        )
        if not ok:
            return None, f"field '{answer_key}' (data.answer_key) must be a non-empty string or list of strings"
        return row, ""

    def batches(self, examples: List[Example], batch_size: int, seed: int, epoch: int) -> Iterator[List[Example]]:
        """Full batches of one epoch, in an order fixed by (seed, epoch)."""
        order = list(range(len(examples)))
        if self.config.shuffle:
            random.Random(seed * 1_000_003 + epoch).shuffle(order)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield [examples[i] for i in order[start : start + batch_size]]
