"""rlinf-torch: the PyTorch train backend (single process, DDP or FSDP2)."""

from rlinf_torch.backend import TorchActorConfig, TorchTrainBackend

__all__ = ["TorchActorConfig", "TorchTrainBackend"]
