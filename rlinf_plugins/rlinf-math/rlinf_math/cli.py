"""``rlinf reward check RESPONSE GOLD...``: grade one response and say why.

Registered by the rlinf-math plugin through the ``register_commands`` hook as a ``reward``
click group (joined to an existing ``reward`` group if another plugin made one). It runs
the same batch API as the ``math`` reward (:class:`rlinf_math.grading.MathGrader`), so what
it prints is what training would score. Printed strings are cut to a few hundred
characters; parsed expressions are never printed.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Tuple

import click

from rlinf_math.grading import DEFAULT_TIMEOUT_S

CONTEXT = {"help_option_names": ["-h", "--help"]}
_SHOW = 300


def _cut(text: Any) -> str:
    from rlinf_math.grading import clip

    return "-" if text is None else clip(str(text), _SHOW)


@click.command("check", context_settings=CONTEXT)
@click.argument("response")
@click.argument("golds", metavar="GOLD...", nargs=-1, required=True)
@click.option("--timeout", "timeout_s", type=float, default=DEFAULT_TIMEOUT_S, show_default=True, help="Deadline per verdict (s).")
@click.option("--box-only", is_flag=True, help="Require a \\boxed{} answer (no 'The final answer is ...').")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
def check(response: str, golds: Tuple[str, ...], timeout_s: float, box_only: bool, as_json: bool) -> None:
    """Grade RESPONSE against one or more GOLD answers with the math grader.

    RESPONSE and GOLD are text (a GOLD may be a whole worked solution: its boxed answer is
    used); `-` reads RESPONSE from stdin. Prints the verdict, the extracted answers and why.
    Example: rlinf reward check 'so x = \\boxed{\\frac{1}{2}}' 0.5
    """
    from rlinf_math.grading import MathGrader

    if response == "-":
        response = sys.stdin.read()
    with MathGrader(num_workers=1, timeout_s=timeout_s, answer_phrases=not box_only) as grader:
        verdict = grader.explain(response, list(golds))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "correct": verdict.correct,
                    "reason": verdict.reason,
                    "why": verdict.why,
                    "answer": verdict.answer,
                    "source": verdict.source,
                    "normalized": verdict.normalized,
                    "golds": list(verdict.golds),
                }
            )
        )
        return
    click.echo(f"verdict:    {'correct' if verdict.correct else 'incorrect'}")
    where = {"box": "last \\boxed{}", "boxes": "neighbouring boxes", "phrase": "final-answer phrase",
             "last_line": "choice letter on the last line"}.get(verdict.source, "")
    click.echo(f"answer:     {_cut(verdict.answer)}" + (f"   (from the {where})" if where else ""))
    click.echo(f"normalised: {_cut(verdict.normalized)}")
    for i, gold in enumerate(verdict.golds, 1):
        click.echo(f"gold {i}:     {_cut(gold)}")
    click.echo(f"why:        {verdict.why}")


@click.group("reward", context_settings=CONTEXT)
def reward() -> None:
    """Check answers with the math grader of rlinf-math."""


reward.add_command(check)


def add_to(cli: Any) -> None:
    """Add ``reward check`` to the ``rlinf`` click group."""
    existing = getattr(cli, "commands", {}).get("reward")
    if isinstance(existing, click.Group):
        existing.add_command(check)
    else:
        cli.add_command(reward)
