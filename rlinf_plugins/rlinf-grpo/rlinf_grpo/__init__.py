"""rlinf-grpo: the GRPO algorithm plugin."""

from rlinf_grpo.algorithm import GRPO
from rlinf_grpo.config import GRPOConfig

__all__ = ["GRPO", "GRPOConfig"]
