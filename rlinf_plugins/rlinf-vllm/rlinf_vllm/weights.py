"""Weight sync into a live vLLM engine: the trainer's state dict in buckets
(:func:`rlinf_core.engine_rollout.weight_buckets`), loaded in place.

Follows RLinf (arXiv:2509.15965) and its vLLM worker: the engine is never restarted; each
bucket goes to every engine worker through ``LLM.collective_rpc`` and is loaded by the model's
own ``load_weights`` (which maps Hugging Face names onto vLLM's fused layers), and the prefix
cache is reset afterwards by the caller (RLinf PR #96: KV blocks computed with the old weights
decayed rewards).

Loading uses vLLM 0.32's layerwise reload (``vllm.model_executor.model_loader.reload``): one
``initialize_layerwise_reload`` before the first bucket, ``finalize_layerwise_reload`` after
the last, so a layer whose weights span two buckets is processed (e.g. repacked for the CPU
GEMM kernels) once, when complete. This is what vLLM's own ``Worker.reload_weights`` does in a
single call; splitting it bounds the memory of one transfer.

Deviation, measured here: the reload's documented limitation 2 ("tied parameters only reflect
processing from one of the parent layers") leaves the CPU build's packed copy of a tied
``lm_head`` stale: logits kept the old weights while the embedding changed. :func:`finish`
re-runs the embedding layers' processing, which repacks from the shared weight (a no-op on
GPUs, where those layers keep no packed copy).

The worker functions run inside vLLM's worker (``self`` is the worker): module-level functions
so that a multi-process engine pickles them by reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List

if TYPE_CHECKING:
    import torch


# -- run inside vLLM's worker (through LLM.collective_rpc) ----------------------------------
def begin(worker) -> None:
    from vllm.model_executor.model_loader.reload import initialize_layerwise_reload

    initialize_layerwise_reload(worker.model_runner.get_model())


def load(worker, bucket: Dict[str, "torch.Tensor"]) -> List[str]:
    """Load one bucket; returns the names of the parameters it filled (vLLM's names)."""
    loaded = worker.model_runner.get_model().load_weights(bucket.items())
    return sorted(loaded) if loaded is not None else []


def finish(worker) -> None:
    from vllm.model_executor.layers.vocab_parallel_embedding import UnquantizedEmbeddingMethod
    from vllm.model_executor.model_loader.reload import finalize_layerwise_reload

    model = worker.model_runner.get_model()
    finalize_layerwise_reload(model, worker.model_config)
    for module in model.modules():
        method = getattr(module, "quant_method", None)
        if isinstance(method, UnquantizedEmbeddingMethod):
            method.process_weights_after_loading(module)  # the tied lm_head's packed copy (see above)
