"""rlinf entry point of rlinf-math: registers the ``math`` task and the ``math`` reward."""

from typing import Callable

from rlinf_core import hookimpl

from rlinf_math.reward import MathReward
from rlinf_math.task import MathTask


@hookimpl
def register_tasks(register: Callable[[str, type], None]) -> None:
    register("math", MathTask)


@hookimpl
def register_rewards(register: Callable[[str, type], None]) -> None:
    register("math", MathReward)
