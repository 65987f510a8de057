"""Registers the `ppo` algorithm."""

from rlinf_core import hookimpl


@hookimpl
def register_algorithms(register):
    from rlinf_ppo.algorithm import PPO

    register("ppo", PPO)
