"""Registers the `math-tiny` preparer and the `sft` algorithm."""

from rlinf_core import hookimpl
from rlinf_math_tiny.preparer import MathTinyPreparer
from rlinf_math_tiny.sft import SFT


@hookimpl
def register_preparers(register):
    register("math-tiny", MathTinyPreparer)


@hookimpl
def register_algorithms(register):
    register("sft", SFT)
