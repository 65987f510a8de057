"""Registers the `sglang` rollout backend (SGLang itself is imported only when an engine loads)."""

from rlinf_core import hookimpl
from rlinf_sglang.rollout import SGLangRollout


@hookimpl
def register_rollout_backends(register):
    register("sglang", SGLangRollout)
