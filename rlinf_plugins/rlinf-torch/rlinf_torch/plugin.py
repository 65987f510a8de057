"""Registers the `torch` train backend."""

from rlinf_core import hookimpl


@hookimpl
def register_train_backends(register):
    register("torch", "rlinf_torch.backend:TorchTrainBackend")
