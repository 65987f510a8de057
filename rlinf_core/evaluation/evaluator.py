"""The evaluator: K samples per problem through a rollout backend, graded by a reward, scored.

Standalone (``rlinf eval``) it runs the rollout backend and the reward in this process;
during training the runner hands it its rollout and reward worker groups. Either way it
only needs two functions: ``generate(prompt_ids, sampling, seed) -> texts`` and
``score(texts, golds) -> correct``. Each (problem, sample) is one prompt: multiple-choice
samples see their own shuffled choice order, so their prompts differ.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from rlinf_core.data import SamplingParams
from rlinf_core.evaluation.benchmarks import Benchmark, shuffled_choices
from rlinf_core.evaluation.choices import letter_counts
from rlinf_core.evaluation.prompts import render
from rlinf_core.evaluation.scores import summarize

GenerateFn = Callable[[List[List[int]], SamplingParams, int], List[str]]
ScoreFn = Callable[[List[str], List[List[str]]], List[bool]]


@dataclass
class EvalSettings:
    samples: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = -1
    max_new_tokens: int = 512
    prompt_format: str = "chat"
    seed: int = 0
    batch_size: int = 256  # prompts per generate call


@dataclass
class Item:
    problem: int  # index of the problem
    sample: int
    prompt_ids: List[int]
    golds: List[str]


def benchmark_items(bench: Benchmark, tokenizer: Any, settings: EvalSettings) -> List[Item]:
    """One item per (problem, sample), prompts rendered in ``settings.prompt_format``."""
    items = []
    for p_idx, problem in enumerate(bench.problems):
        for s in range(settings.samples):
            if problem.kind == "choice":
                choices, letter = shuffled_choices(problem, settings.seed, s)
                text, golds = render(settings.prompt_format, problem.text, tokenizer, choices), [letter]
            else:
                fmt = "raw" if problem.formatted else settings.prompt_format
                text, golds = render(fmt, problem.text, tokenizer), [problem.answer]
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            items.append(Item(p_idx, s, ids, golds))
    return items


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


def evaluate_benchmark(
    bench: Benchmark, tokenizer: Any, settings: EvalSettings, generate: GenerateFn, score: ScoreFn,
    output_dir: Optional[str] = None, on_progress: Optional[Callable[[int], None]] = None,
) -> Dict[str, Any]:
    """Score one benchmark; with ``output_dir``, write ``<name>.jsonl`` (per problem) and ``<name>.summary.json``."""
    start = time.perf_counter()
    items = benchmark_items(bench, tokenizer, settings)
    texts, verdicts = run_items(items, settings, generate, score, on_progress)
    table = per_problem(items, verdicts, len(bench.problems), settings.samples)
    seconds = time.perf_counter() - start
    summary: Dict[str, Any] = {
        "benchmark": bench.name,
        "file": bench.path,
        "problems": len(bench.problems),
        **summarize(table),
        "seconds": round(seconds, 3),
        "samples_per_s": round(len(items) / seconds, 2),
        **letter_counts(bench, [it.problem for it in items], texts),  # for the "no choice letter" note
        "settings": asdict(settings),
    }
    if output_dir is not None:
        os.makedirs(output_dir, exist_ok=True)
        with open(os.path.join(output_dir, f"{bench.name}.jsonl"), "w", encoding="utf-8") as fh:
            by_problem: Dict[int, List[Tuple[Item, str, bool]]] = {}
            for it, text, ok in zip(items, texts, verdicts):
                by_problem.setdefault(it.problem, []).append((it, text, ok))
            for p_idx, problem in enumerate(bench.problems):
                rows = by_problem[p_idx]
                fh.write(json.dumps({
                    "id": problem.uid, "kind": problem.kind, "problem": problem.text, "answer": problem.answer,
                    "num_correct": sum(ok for _, _, ok in rows), "samples": len(rows),
                    "responses": [{"gold": it.golds[0], "correct": ok, "response": text} for it, text, ok in rows],
                }) + "\n")
        with open(os.path.join(output_dir, f"{bench.name}.summary.json"), "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2)
    return summary
