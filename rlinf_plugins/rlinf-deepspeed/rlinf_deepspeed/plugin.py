"""Registers the `deepspeed` train backend (DeepSpeed is imported only when a backend loads)."""

from rlinf_core import hookimpl
from rlinf_deepspeed.backend import DeepSpeedTrainBackend


@hookimpl
def register_train_backends(register):
    register("deepspeed", DeepSpeedTrainBackend)
