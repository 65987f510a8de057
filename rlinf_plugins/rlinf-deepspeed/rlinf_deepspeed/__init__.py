"""rlinf-deepspeed: the `deepspeed` train backend (ZeRO stages 0-3, CPU offload)."""

from rlinf_deepspeed.backend import DeepSpeedTrainBackend
from rlinf_deepspeed.config import DeepSpeedActorConfig, ZeroConfig

__all__ = ["DeepSpeedActorConfig", "DeepSpeedTrainBackend", "ZeroConfig"]
