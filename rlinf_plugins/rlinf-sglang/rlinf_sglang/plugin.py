"""Registers the `sglang` rollout backend (SGLang itself is imported only when an engine loads)."""

from rlinf_core import hookimpl


@hookimpl
def register_rollout_backends(register):
    register("sglang", "rlinf_sglang.rollout:SGLangRollout")
