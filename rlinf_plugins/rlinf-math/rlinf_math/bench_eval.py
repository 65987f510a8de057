"""One benchmark through the core's evaluator: a prompt per (problem, sample) in the chosen
prompt format (multiple-choice options shuffled per sample), avg@K and pass@k, and per-problem
output files. Used by ``rlinf eval``."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from typing import Any, Callable, Dict, List, Optional, Tuple

from rlinf_core.evaluation.evaluator import EvalSettings, GenerateFn, Item, ScoreFn, per_problem, run_items
from rlinf_core.evaluation.scores import summarize

from rlinf_math.benchmarks import Benchmark, shuffled_choices
from rlinf_math.choices import letter_counts
from rlinf_math.prompts import render


def benchmark_items(bench: Benchmark, tokenizer: Any, settings: EvalSettings, prompt_format: str) -> List[Item]:
    """One item per (problem, sample), prompts rendered in ``prompt_format``."""
    items = []
    for p_idx, problem in enumerate(bench.problems):
        for s in range(settings.samples):
            if problem.kind == "choice":
                choices, letter = shuffled_choices(problem, settings.seed, s)
                text, golds = render(prompt_format, problem.text, tokenizer, choices), [letter]
            else:
                fmt = "raw" if problem.formatted else prompt_format
                text, golds = render(fmt, problem.text, tokenizer), [problem.answer]
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            items.append(Item(p_idx, s, ids, golds))
    return items


def _write_outputs(
    output_dir: str, bench: Benchmark, items: List[Item], texts: List[str], verdicts: List[bool], summary: Dict[str, Any]
) -> None:
    """``<name>.jsonl`` (one line per problem with every response) and ``<name>.summary.json``."""
    os.makedirs(output_dir, exist_ok=True)
    by_problem: Dict[int, List[Tuple[Item, str, bool]]] = {}
    for it, text, ok in zip(items, texts, verdicts):
        by_problem.setdefault(it.problem, []).append((it, text, ok))
    with open(os.path.join(output_dir, f"{bench.name}.jsonl"), "w", encoding="utf-8") as fh:
        for p_idx, problem in enumerate(bench.problems):
            rows = by_problem[p_idx]
            fh.write(json.dumps({
                "id": problem.uid, "kind": problem.kind, "problem": problem.text, "answer": problem.answer,
                "num_correct": sum(ok for _, _, ok in rows), "samples": len(rows),
                "responses": [{"gold": it.golds[0], "correct": ok, "response": text} for it, text, ok in rows],
            }) + "\n")
    with open(os.path.join(output_dir, f"{bench.name}.summary.json"), "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2)


def evaluate_benchmark(
    bench: Benchmark, tokenizer: Any, settings: EvalSettings, prompt_format: str, generate: GenerateFn, score: ScoreFn,
    output_dir: Optional[str] = None, on_progress: Optional[Callable[[int], None]] = None,
) -> Dict[str, Any]:
    """Score one benchmark; with ``output_dir``, write its per-problem jsonl and summary json."""
    start = time.perf_counter()
    items = benchmark_items(bench, tokenizer, settings, prompt_format)
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
        "settings": {**asdict(settings), "prompt_format": prompt_format},
    }
    if output_dir is not None:
        _write_outputs(output_dir, bench, items, texts, verdicts, summary)
    return summary
