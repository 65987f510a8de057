"""SGLang rollout backend: ``group_size`` samples per prompt from token ids, with the sampled
tokens' log-probs, the trainer's weights loaded into the live engine after every step, and the
engine's memory released while the actor trains on the same GPUs.

Follows RLinf's SGLang rollout (arXiv:2509.15965) through SGLang's public ``Engine`` API:
``generate(input_ids=..., return_logprob=True)`` without a tokenizer in the engine;
``update_weights_from_tensor`` bucket by bucket (:func:`rlinf_core.engine_rollout.weight_buckets`)
and one ``flush_cache`` after the last bucket (RLinf PR #96: KV computed with the old weights
decayed rewards); ``release_memory_occupation`` / ``resume_memory_occupation`` for collocated
mode. Deviations: see :mod:`rlinf_sglang.sampling` (log-probs under top-p/top-k). Not run on
hardware yet (no GPU where it was written): the README says what has run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple

import torch

from rlinf_core.plan.memory import MemoryEstimate, ModelShape, rollout_memory
from rlinf_core import RolloutBackend, RolloutRequest, TrajectoryBatch
from rlinf_core.engine_rollout import (
    Sampling,
    check_extra_sampling,
    checkpoint_eos_ids,
    row_seeds,
    sample_groups,
    torch_dtype,
    weight_buckets,
)
from rlinf_core.models import load_tokenizer
from rlinf_sglang import engine as eng
from rlinf_sglang.config import SGLangRolloutConfig
from rlinf_sglang.sampling import OWNED_FIELDS, parse_output, sampling_params

if TYPE_CHECKING:
    import sglang

class SGLangRollout(RolloutBackend):
    config_class = SGLangRolloutConfig
    config: SGLangRolloutConfig

    @classmethod
    def estimate_memory(cls, config: SGLangRolloutConfig, shape: ModelShape, rows: int, max_tokens: int,
                        device_bytes: float) -> MemoryEstimate:
        """SGLang takes ``mem_fraction_static`` of each GPU for weights and KV cache at start-up."""
        if device_bytes:
            return MemoryEstimate({"engine (mem_fraction_static)": config.mem_fraction_static * device_bytes})
        return rollout_memory(shape, config.model.precision, 0, 1 / config.tensor_parallel_size)

    @classmethod
    def check_config(cls, config: SGLangRolloutConfig) -> None:
        eng.check_servable(config)
        from sglang.srt.sampling.sampling_params import SamplingParams

        check_extra_sampling(config.extra_sampling, SamplingParams.__struct_fields__, OWNED_FIELDS, "SGLang sampling_params")

    def load(self) -> None:
        self.check_config(self.config)
        path = self.config.model.model_path
        self.tokenizer = load_tokenizer(path, "rollout.model.model_path")
        self.eos_ids = checkpoint_eos_ids(path, self.tokenizer)
        self.engine: "sglang.Engine" = eng.start_engine(self.config, seed=self.rank)
        self.released: List[str] = []  # memory tags released by offload()

    def generate(self, request: RolloutRequest) -> TrajectoryBatch:
        if self.released:
            raise RuntimeError("sglang rollout: generate() after offload(): call update_weights() and onload() first")
        return sample_groups(request, self.config, self.tokenizer, self._run)

    def _run(self, prompts: List[List[int]], s: Sampling, seed: int) -> Tuple[List[List[int]], List[List[float]], List[bool]]:
        params = [sampling_params(s, self.eos_ids, self.config.extra_sampling, r) for r in row_seeds(seed, len(prompts))]
        outs = self.engine.generate(input_ids=prompts, sampling_params=params, return_logprob=True)
        parsed = [parse_output(o) for o in outs]  # SGLang returns a batch's outputs in request order
        return [p[0] for p in parsed], [p[1] for p in parsed], [p[2] for p in parsed]

    def update_weights(self, state_dict: Dict[str, torch.Tensor]) -> None:
        if "weights" in self.released:  # collocated mode: weights back before loading into them
            self.engine.resume_memory_occupation(tags=["weights"])
            self.released.remove("weights")
        self.load_weights(state_dict, self.config.weight_bucket_mb * 2**20)
        self.flush_cache()

    def load_weights(self, state_dict: Dict[str, torch.Tensor], bucket_bytes: int) -> int:
        """Load ``state_dict`` into the live engine in buckets of at most ``bucket_bytes``
        (without the cache flush that :meth:`update_weights` adds); returns the bucket count."""
        count = 0
        for bucket in weight_buckets(state_dict, bucket_bytes, torch_dtype(self.config.model.precision)):
            _check(self.engine.update_weights_from_tensor(named_tensors=list(bucket.items()), flush_cache=False),
                   "update_weights_from_tensor")
            count += 1
        return count

    def flush_cache(self) -> None:
        """Forget every cached KV block (computed with the previous weights; RLinf PR #96)."""
        _check(self.engine.flush_cache(), "flush_cache")

    def offload(self) -> None:
        if self.released or not self.config.release_memory:
            return
        self.engine.release_memory_occupation(tags=["kv_cache", "weights"])
        self.released = ["kv_cache", "weights"]

    def onload(self) -> None:
        if not self.released:
            return
        self.engine.resume_memory_occupation(tags=list(self.released))
        self.released = []
        self.flush_cache()


def _check(result: Any, what: str) -> None:
    """SGLang answers a control call with ``(success, message)`` or an object with ``success``."""
    if isinstance(result, tuple):
        ok, message = result[0], result[1] if len(result) > 1 else ""
    else:
        ok, message = getattr(result, "success", result), getattr(result, "message", "")
    if ok is False:
        raise RuntimeError(f"sglang rollout: {what} failed: {message}")
