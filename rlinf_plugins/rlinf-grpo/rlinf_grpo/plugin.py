"""Registers the `grpo` algorithm."""

from rlinf_core import hookimpl
from rlinf_grpo.algorithm import GRPO


@hookimpl
def register_algorithms(register):
    register("grpo", GRPO)
