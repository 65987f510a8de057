"""Registers the `megatron` train backend (Megatron-Core is imported only when a backend loads)."""

from rlinf_core import hookimpl
from rlinf_megatron.backend import MegatronTrainBackend


@hookimpl
def register_train_backends(register):
    register("megatron", MegatronTrainBackend)
