"""rlinf entry point of rlinf-math: the ``math`` task and reward (by reference: imported when a run uses
them), ``rlinf reward check``, ``rlinf eval`` and ``rlinf benchmark convert``."""

from typing import Any

from rlinf_core import hookimpl
from rlinf_core.hookspecs import Register


@hookimpl
def register_tasks(register: Register) -> None:
    register("math", "rlinf_math.task:MathTask")


@hookimpl
def register_rewards(register: Register) -> None:
    register("math", "rlinf_math.reward:MathReward")


@hookimpl
def register_commands(cli: Any) -> None:
    from rlinf_math.cli import add_to
    from rlinf_math.eval_command import benchmark, eval_command

    add_to(cli)
    cli.add_command(eval_command)
    cli.add_command(benchmark)
