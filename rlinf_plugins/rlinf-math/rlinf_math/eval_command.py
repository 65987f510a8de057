"""``rlinf eval``: score a checkpoint on benchmark files (avg@K, pass@k), with per-problem output.

A command of the math plugin (its benchmark layouts, prompt formats and the math reward) over
the core's generic evaluator; registered through ``register_commands``."""

from __future__ import annotations

import os
from typing import Optional, Tuple

import click

from rlinf_math.cli import CONTEXT
from rlinf_math.prompts import FORMATS


@click.command("eval", context_settings=CONTEXT)
@click.option(
    "--model", "model_path", required=True,
    help="Hugging Face checkpoint folder, or a run's checkpoint (<output_dir>/checkpoints/best or .../step_000080).",
)
@click.option("--benchmark", "benchmarks", multiple=True, required=True, help="Benchmark jsonl (repeat for several).")
@click.option("--samples", "-k", default=1, show_default=True, type=click.IntRange(min=1), help="Samples per problem (K).")
@click.option("--temperature", default=0.0, show_default=True, type=click.FloatRange(min=0), help="0 = greedy.")
@click.option("--top-p", default=1.0, show_default=True, type=click.FloatRange(0, 1, min_open=True))
@click.option("--max-new-tokens", default=512, show_default=True, type=click.IntRange(min=1))
@click.option("--prompt-format", default="chat", show_default=True, type=click.Choice(FORMATS))
@click.option("--output", "output_dir", default=None, help="Folder for per-problem jsonl and summary json.")
@click.option("--backend", default="hf", show_default=True, help="Rollout backend plugin.")
@click.option("--reward", "reward_name", default="math", show_default=True, help="Reward plugin that grades answers.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(min=1), help="Prompts per generate call.")
def eval_command(
    model_path: str, benchmarks: Tuple[str, ...], samples: int, temperature: float, top_p: float, max_new_tokens: int,
    prompt_format: str, output_dir: Optional[str], backend: str, reward_name: str, seed: int, batch_size: int,
) -> None:
    """Evaluate a checkpoint: avg@K (RLinf's pass@1 estimate) and unbiased pass@k per benchmark.

    Math rows have `problem` and `answer` (AIME24/AIME25); multiple-choice rows have
    `question`, `choices` and `answer` (GPQA-diamond), choices shuffled per sample.
    RLinf's setting: --samples 32 --temperature 0.6 --top-p 0.95 --prompt-format r1-math.
    """
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from rlinf_core.checkpoint import model_folder
    from rlinf_core.evaluation.evaluator import EvalSettings
    from rlinf_core.evaluation.local import local_functions
    from rlinf_core.evaluation.scores import ks_for
    from rlinf_core.models import load_tokenizer
    from rlinf_core.plugins import get_registry

    from rlinf_math.bench_eval import evaluate_benchmark
    from rlinf_math.benchmarks import load_benchmark
    from rlinf_math.choices import no_letter_note

    loaded = [load_benchmark(path) for path in benchmarks]  # every file checked before any model loads
    model_path = model_folder(model_path)
    tokenizer = load_tokenizer(model_path, "--model")
    settings = EvalSettings(samples, temperature, top_p, -1, max_new_tokens, seed, batch_size)
    generate, score, close = local_functions(model_path, backend, reward_name, get_registry())
    console = Console(stderr=True)
    summaries = []
    try:
        with Progress(console=console, transient=True) as progress:
            for bench in loaded:
                task = progress.add_task(bench.name, total=len(bench.problems) * samples)
                out = os.path.join(output_dir, bench.name) if output_dir else None
                summaries.append(
                    evaluate_benchmark(bench, tokenizer, settings, prompt_format, generate, score, out,
                                       lambda n, t=task: progress.advance(t, n))
                )
    finally:
        close()
    table = Table(title=f"{os.path.basename(os.path.normpath(model_path))}: K={samples}, T={temperature}, top-p={top_p}")
    metrics = [f"avg@{samples}"] + [f"pass@{k}" for k in ks_for(samples) if k > 1]
    for col in ["benchmark", "problems", *metrics, "samples/s"]:
        table.add_column(col, justify="right" if col != "benchmark" else "left")
    for s in summaries:
        table.add_row(s["benchmark"], str(s["problems"]), *[f"{100 * s[m]:.1f}" for m in metrics], f"{s['samples_per_s']:.1f}")
    Console().print(table)
    for s in summaries:
        note = no_letter_note(s, samples)  # a bare 0.0 on multiple choice would leave the user guessing
        if note:
            click.echo(note)
    if output_dir:
        click.echo(f"per-problem results and summaries: {output_dir}")


@click.group("benchmark", context_settings=CONTEXT)
def benchmark() -> None:
    """Benchmark files for `rlinf eval` and data.val_data_paths."""


@benchmark.command("convert", context_settings=CONTEXT)
@click.argument("source", type=click.Path(dir_okay=False))
@click.argument("output", type=click.Path(dir_okay=False))
@click.option("--problem", "problem_field", required=True, help="Field holding the problem (or question).")
@click.option("--answer", "answer_field", required=True, help="Field holding the answer (multiple choice: letter, 0-based index or text).")
@click.option("--id", "id_field", default=None, help="Field holding a unique id (default: the row number).")
@click.option("--choices", default=None, help="Comma-separated fields holding the options, in order (multiple choice).")
def convert_command(
    source: str, output: str, problem_field: str, answer_field: str, id_field: Optional[str], choices: Optional[str]
) -> None:
    """Convert SOURCE (.jsonl, .json, .parquet or .csv) into OUTPUT (.jsonl) in the benchmark layout."""
    from rlinf_math.convert import FieldMap, convert

    fields = FieldMap(problem_field, answer_field, id_field, [c.strip() for c in (choices or "").split(",") if c.strip()])
    n = convert(source, output, fields)
    click.echo(f"wrote {n} {'multiple-choice' if fields.choices else 'math'} rows to {output}")
