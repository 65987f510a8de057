"""Registers the `math-tiny` preparer and the `sft` algorithm."""

from rlinf_core import hookimpl


@hookimpl
def register_preparers(register):
    register("math-tiny", "rlinf_math_tiny.preparer:MathTinyPreparer")


@hookimpl
def register_algorithms(register):
    register("sft", "rlinf_math_tiny.sft:SFT")
