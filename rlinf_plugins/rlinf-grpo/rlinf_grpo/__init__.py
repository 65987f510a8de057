"""rlinf-grpo: the GRPO algorithm family (grpo, dapo, dr_grpo, gspo, rloo, reinforce_pp)."""

from typing import TYPE_CHECKING

from rlinf_core.lazy import lazy_exports

if TYPE_CHECKING:  # for type checkers and IDEs; at run time each name is imported on first use
    from rlinf_grpo.algorithm import GRPO
    from rlinf_grpo.config import GRPOConfig
    from rlinf_grpo.dapo import DAPO, DAPOConfig
    from rlinf_grpo.dr_grpo import DrGRPO, DrGRPOConfig
    from rlinf_grpo.gspo import GSPO, GSPOConfig
    from rlinf_grpo.reinforce_pp import ReinforcePP, ReinforcePPConfig
    from rlinf_grpo.rloo import RLOO, RLOOConfig

__getattr__, __dir__ = lazy_exports(__name__, {
    "GRPO": "rlinf_grpo.algorithm",
    "GRPOConfig": "rlinf_grpo.config",
    "DAPO": "rlinf_grpo.dapo",
    "DAPOConfig": "rlinf_grpo.dapo",
    "DrGRPO": "rlinf_grpo.dr_grpo",
    "DrGRPOConfig": "rlinf_grpo.dr_grpo",
    "GSPO": "rlinf_grpo.gspo",
    "GSPOConfig": "rlinf_grpo.gspo",
    "ReinforcePP": "rlinf_grpo.reinforce_pp",
    "ReinforcePPConfig": "rlinf_grpo.reinforce_pp",
    "RLOO": "rlinf_grpo.rloo",
    "RLOOConfig": "rlinf_grpo.rloo",
})

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
