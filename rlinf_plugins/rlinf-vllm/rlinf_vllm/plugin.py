"""Registers the `vllm` rollout backend (vLLM itself is imported only when an engine loads)."""

from rlinf_core import hookimpl


@hookimpl
def register_rollout_backends(register):
    register("vllm", "rlinf_vllm.rollout:VLLMRollout")
