"""rlinf-grpo: the GRPO algorithm family (grpo, dapo, dr_grpo, gspo, rloo, reinforce_pp)."""

from rlinf_grpo.algorithm import GRPO
from rlinf_grpo.config import GRPOConfig
from rlinf_grpo.dapo import DAPO, DAPOConfig
from rlinf_grpo.dr_grpo import DrGRPO, DrGRPOConfig
from rlinf_grpo.gspo import GSPO, GSPOConfig
from rlinf_grpo.reinforce_pp import ReinforcePP, ReinforcePPConfig
from rlinf_grpo.rloo import RLOO, RLOOConfig

__all__ = [
    "DAPO",
    "GRPO",
    "GSPO",
    "RLOO",
    "DAPOConfig",
    "DrGRPO",
    "DrGRPOConfig",
    "GRPOConfig",
    "GSPOConfig",
    "RLOOConfig",
    "ReinforcePP",
    "ReinforcePPConfig",
]
