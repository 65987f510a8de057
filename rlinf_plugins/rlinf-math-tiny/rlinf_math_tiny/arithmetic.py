"""Two-digit addition problems in the AReaL-boba format, with worked demonstrations.

The demonstrations add column by column. A share of the ones with a carry are written with
a systematic mistake, the carry forgotten ("7 + 8 = 15, write 5. 4 + 3 = 7." -> 75 for
47 + 38), so the SFT warm start learns the mistake as the more likely continuation. The
verifier reward knows better than the demonstrations: that is what GRPO has to learn from
(after the issue's advice; plain SFT-then-GRPO on clean data mostly sharpens sampling).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Dict, List, Tuple


@dataclass(frozen=True)
class Problem:
    a: int
    b: int

    @property
    def answer(self) -> int:
        return self.a + self.b

    @property
    def question(self) -> str:
        return f"What is {self.a} + {self.b}?"

    @property
    def uid(self) -> str:
        return f"add-{self.a}-{self.b}"

    @property
    def has_carry(self) -> bool:
        return self.a % 10 + self.b % 10 >= 10


def worked_answer(p: Problem, forget_carry: bool = False) -> str:
    """Column addition ending in a boxed result; ``forget_carry`` drops the ones' carry."""
    ones = p.a % 10 + p.b % 10
    carry = ones // 10 if not forget_carry else 0
    tens_a, tens_b = p.a // 10, p.b // 10
    steps = f"{p.a % 10} + {p.b % 10} = {ones}, write {ones % 10}"
    steps += " carry 1. " if ones >= 10 and not forget_carry else ". "
    tens = tens_a + tens_b + carry
    steps += f"{tens_a} + {tens_b} + 1 = {tens}." if carry else f"{tens_a} + {tens_b} = {tens}."
    result = tens * 10 + ones % 10
    return f"{steps} \\boxed{{{result}}}"


def split_problems(num_test: int, seed: int) -> Tuple[List[Problem], List[Problem]]:
    """All 8,100 pairs of two-digit numbers, shuffled; the first ``num_test`` are held out."""
    problems = [Problem(a, b) for a in range(10, 100) for b in range(10, 100)]
    random.Random(seed).shuffle(problems)
    return problems[num_test:], problems[:num_test]


def boba_row(p: Problem) -> Dict[str, object]:
    """One row in the AReaL-boba format; the prompt is a chat message list."""
    return {
        "prompt": [{"role": "user", "content": p.question}],
        "task": "math",
        "query_id": p.uid,
        "solutions": [f"\\boxed{{{p.answer}}}"],
    }


def write_jsonl(path: str, rows: List[Dict[str, object]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


def demonstrations(problems: List[Problem], mistake_rate: float, seed: int) -> List[Tuple[Problem, str]]:
    """One worked answer per problem; carry problems get the forgotten-carry version at ``mistake_rate``."""
    rng = random.Random(seed + 1)
    return [(p, worked_answer(p, forget_carry=p.has_carry and rng.random() < mistake_rate)) for p in problems]
