"""rlinf-torch: the PyTorch train backend (single process, DDP or FSDP2)."""

from typing import TYPE_CHECKING

from rlinf_core.lazy import lazy_exports

if TYPE_CHECKING:  # for type checkers and IDEs; at run time each name is imported on first use
    from rlinf_torch.backend import TorchActorConfig, TorchTrainBackend

__getattr__, __dir__ = lazy_exports(__name__, {
    "TorchActorConfig": "rlinf_torch.backend",
    "TorchTrainBackend": "rlinf_torch.backend",
})

__all__ = ["TorchActorConfig", "TorchTrainBackend"]
