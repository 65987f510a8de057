"""Registers the `ppo` algorithm."""

from rlinf_core import hookimpl


@hookimpl
def register_algorithms(register):
    register("ppo", "rlinf_ppo.algorithm:PPO")
