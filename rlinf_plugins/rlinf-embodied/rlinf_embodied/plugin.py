"""Registers the `embodied` flow (environment workers and a policy; rlinf_embodied.flow)."""

from rlinf_core import hookimpl


@hookimpl
def register_flows(register):
    register("embodied", "rlinf_embodied.flow:EmbodiedFlow")
