"""Registers the `torch` train backend."""

from rlinf_core import hookimpl
from rlinf_torch.backend import TorchTrainBackend


@hookimpl
def register_train_backends(register):
    register("torch", TorchTrainBackend)
