"""The evaluator: K samples per problem through a rollout backend, graded by a reward, scored.

Standalone (``rlinf eval``, a command of the math plugin) it runs the rollout backend and the
reward in this process (:mod:`rlinf_core.evaluation.local`); during training the runner hands
it its rollout and reward worker groups. Either way it only needs two functions:
``generate(prompt_ids, sampling, seed) -> texts`` and ``score(texts, golds) -> correct``. Each
(problem, sample) is one :class:`Item` with its own prompt, so a task may vary the prompt per
sample (the math plugin shuffles multiple-choice options). Reading benchmark files and
rendering prompts belong to the task's plugin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple

from rlinf_core.data import SamplingParams

GenerateFn = Callable[[List[List[int]], SamplingParams, int], List[str]]
ScoreFn = Callable[[List[str], List[List[str]]], List[bool]]


@dataclass
class EvalSettings:
    samples: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = -1
    max_new_tokens: int = 512
    seed: int = 0
    batch_size: int = 256  # prompts per generate call


@dataclass
class Item:
    problem: int  # index of the problem
    sample: int
    prompt_ids: List[int]
    golds: List[str]


def example_items(examples: Sequence[Any], samples: int) -> List[Item]:
    """Items from a task's already tokenised examples (validation data in the training format)."""
    return [Item(i, s, list(ex.prompt_ids), list(ex.answers)) for i, ex in enumerate(examples) for s in range(samples)]


def run_items(
    items: List[Item], settings: EvalSettings, generate: GenerateFn, score: ScoreFn, on_progress: Optional[Callable[[int], None]] = None
) -> Tuple[List[str], List[bool]]:
    """Generate and grade every item, in batches; returns (responses, verdicts) in item order."""
    sampling = SamplingParams(settings.temperature, settings.top_p, settings.top_k, settings.max_new_tokens)
    texts: List[str] = []
    verdicts: List[bool] = []
    for start in range(0, len(items), settings.batch_size):
        chunk = items[start : start + settings.batch_size]
        out = generate([it.prompt_ids for it in chunk], sampling, settings.seed * 1_000_003 + start)
        texts += out
        verdicts += score(out, [it.golds for it in chunk])
        if on_progress is not None:
            on_progress(len(chunk))
    return texts, verdicts


def per_problem(items: List[Item], verdicts: List[bool], num_problems: int, samples: int) -> List[List[bool]]:
    table: List[List[bool]] = [[False] * samples for _ in range(num_problems)]
    for it, ok in zip(items, verdicts):
        table[it.problem][it.sample] = bool(ok)
    return table
