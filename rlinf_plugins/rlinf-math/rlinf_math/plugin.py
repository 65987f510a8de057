"""rlinf entry point of rlinf-math: the ``math`` task, the ``math`` reward, ``rlinf reward check``, ``rlinf eval`` and ``rlinf benchmark convert``."""

from typing import Any, Callable

from rlinf_core import hookimpl

from rlinf_math.reward import MathReward
from rlinf_math.task import MathTask


@hookimpl
def register_tasks(register: Callable[[str, type], None]) -> None:
    register("math", MathTask)


@hookimpl
def register_rewards(register: Callable[[str, type], None]) -> None:
    register("math", MathReward)


@hookimpl
def register_commands(cli: Any) -> None:
    from rlinf_math.cli import add_to
    from rlinf_math.eval_command import benchmark, eval_command

    add_to(cli)
    cli.add_command(eval_command)
    cli.add_command(benchmark)
