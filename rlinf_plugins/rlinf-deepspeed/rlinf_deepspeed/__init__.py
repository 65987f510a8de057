"""rlinf-deepspeed: the `deepspeed` train backend (ZeRO stages 0-3, CPU offload)."""

from typing import TYPE_CHECKING

from rlinf_core.lazy import lazy_exports

if TYPE_CHECKING:  # for type checkers and IDEs; at run time each name is imported on first use
    from rlinf_deepspeed.backend import DeepSpeedTrainBackend
    from rlinf_deepspeed.config import DeepSpeedActorConfig, ZeroConfig

__getattr__, __dir__ = lazy_exports(__name__, {
    "DeepSpeedTrainBackend": "rlinf_deepspeed.backend",
    "DeepSpeedActorConfig": "rlinf_deepspeed.config",
    "ZeroConfig": "rlinf_deepspeed.config",
})

__all__ = ["DeepSpeedActorConfig", "DeepSpeedTrainBackend", "ZeroConfig"]
