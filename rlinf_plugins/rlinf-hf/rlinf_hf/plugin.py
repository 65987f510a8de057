"""Registers the `hf` rollout backend."""

from rlinf_core import hookimpl


@hookimpl
def register_rollout_backends(register):
    register("hf", "rlinf_hf.rollout:HFRollout")
