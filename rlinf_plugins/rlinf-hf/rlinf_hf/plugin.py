"""Registers the `hf` rollout backend."""

from rlinf_core import hookimpl
from rlinf_hf.rollout import HFRollout


@hookimpl
def register_rollout_backends(register):
    register("hf", HFRollout)
