"""Registers the `megatron` train backend (Megatron-Core is imported only when a backend loads)."""

from rlinf_core import hookimpl


@hookimpl
def register_train_backends(register):
    register("megatron", "rlinf_megatron.backend:MegatronTrainBackend")
