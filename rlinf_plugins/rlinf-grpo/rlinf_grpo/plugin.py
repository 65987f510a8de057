"""Registers the GRPO family: grpo, dapo, dr_grpo, gspo, rloo, reinforce_pp."""

from rlinf_core import hookimpl
from rlinf_grpo.algorithm import GRPO
from rlinf_grpo.dapo import DAPO
from rlinf_grpo.dr_grpo import DrGRPO
from rlinf_grpo.gspo import GSPO
from rlinf_grpo.reinforce_pp import ReinforcePP
from rlinf_grpo.rloo import RLOO

ALGORITHMS = {"grpo": GRPO, "dapo": DAPO, "dr_grpo": DrGRPO, "gspo": GSPO, "rloo": RLOO, "reinforce_pp": ReinforcePP}


@hookimpl
def register_algorithms(register):
    for name, cls in ALGORITHMS.items():
        register(name, cls)
