"""Registers the GRPO family: grpo, dapo, dr_grpo, gspo, rloo, reinforce_pp (by reference: the
classes, and torch with them, are imported when a run uses one)."""

from rlinf_core import hookimpl

ALGORITHMS = {
    "grpo": "rlinf_grpo.algorithm:GRPO",
    "dapo": "rlinf_grpo.dapo:DAPO",
    "dr_grpo": "rlinf_grpo.dr_grpo:DrGRPO",
    "gspo": "rlinf_grpo.gspo:GSPO",
    "rloo": "rlinf_grpo.rloo:RLOO",
    "reinforce_pp": "rlinf_grpo.reinforce_pp:ReinforcePP",
}


@hookimpl
def register_algorithms(register):
    for name, ref in ALGORITHMS.items():
        register(name, ref)
