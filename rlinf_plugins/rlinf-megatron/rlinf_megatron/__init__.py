"""rlinf-megatron: the `megatron` train backend on Megatron-Core (GPUs only): tensor and pipeline
parallelism, the distributed optimizer, activation recompute, token-budget micro-batches and
offload between phases (:mod:`rlinf_megatron.backend`), over Hugging Face Qwen2 <-> GPTModel
weight conversion for any tensor/pipeline layout (:mod:`rlinf_megatron.convert`). README says
what has run where."""

from rlinf_megatron.config import MegatronActorConfig, MegatronParallelConfig

__all__ = ["MegatronActorConfig", "MegatronParallelConfig"]
