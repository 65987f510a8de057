"""Registers the `deepspeed` train backend (DeepSpeed is imported only when a backend loads)."""

from rlinf_core import hookimpl


@hookimpl
def register_train_backends(register):
    register("deepspeed", "rlinf_deepspeed.backend:DeepSpeedTrainBackend")
