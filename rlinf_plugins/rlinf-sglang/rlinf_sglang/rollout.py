"""SGLang rollout backend: ``group_size`` samples per prompt from token ids, with the sampled
tokens' log-probs, the trainer's weights loaded into the live engine after every step, and the
engine's memory released while the actor trains on the same GPUs.

Follows RLinf's SGLang rollout (arXiv:2509.15965) through SGLang's public ``Engine`` API:
``generate(input_ids=..., return_logprob=True)`` without a tokenizer in the engine;
``update_weights_from_tensor`` bucket by bucket (:func:`rlinf_core.engine_rollout.weight_buckets`)
and one ``flush_cache`` after the last bucket (RLinf PR #96: KV computed with the old weights
decayed rewards); ``release_memory_occupation`` / ``resume_memory_occupation`` for collocated
mode; the engine-neutral half (tokenizer, EOS ids, the order of a weight sync) is
:class:`rlinf_core.engine_rollout.EngineRollout`. Deviations: see :mod:`rlinf_sglang.sampling`
(log-probs under top-p/top-k). Not run on hardware yet (no GPU where it was written): the README
says what has run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple

import torch

from rlinf_core.plan.memory import MemoryEstimate, ModelShape, rollout_memory
from rlinf_core.engine_rollout import EngineRollout, Sampling, check_extra_sampling, row_seeds
from rlinf_sglang import engine as eng
from rlinf_sglang.config import SGLangRolloutConfig
from rlinf_sglang.sampling import OWNED_FIELDS, parse_output, sampling_params

if TYPE_CHECKING:
    import sglang

class SGLangRollout(EngineRollout):
    config_class = SGLangRolloutConfig
    config: SGLangRolloutConfig
    engine_name = "sglang"

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

    def start_engine(self) -> None:
        self.engine: "sglang.Engine" = eng.start_engine(self.config, seed=self.rank)
        self.released: List[str] = []  # memory tags released by offload()

    @property
    def offloaded(self) -> bool:
        return bool(self.released)

    def call_engine(self, prompts: List[List[int]], s: Sampling, seed: int) -> Tuple[List[List[int]], List[List[float]], List[bool]]:
        params = [sampling_params(s, self.eos_ids, self.config.extra_sampling, r) for r in row_seeds(seed, len(prompts))]
        outs = self.engine.generate(input_ids=prompts, sampling_params=params, return_logprob=True)
        parsed = [parse_output(o) for o in outs]  # SGLang returns a batch's outputs in request order
        return [p[0] for p in parsed], [p[1] for p in parsed], [p[2] for p in parsed]

    def restore_weights(self) -> None:
        if "weights" in self.released:
            self.engine.resume_memory_occupation(tags=["weights"])
            self.released.remove("weights")

    def load_bucket(self, bucket: Dict[str, torch.Tensor]) -> None:
        _check(self.engine.update_weights_from_tensor(named_tensors=list(bucket.items()), flush_cache=False),
               "update_weights_from_tensor")

    def reset_cache(self) -> None:
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
        self.reset_cache()


def _check(result: Any, what: str) -> None:
    """SGLang answers a control call with ``(success, message)`` or an object with ``success``."""
    if isinstance(result, tuple):
        ok, message = result[0], result[1] if len(result) > 1 else ""
    else:
        ok, message = getattr(result, "success", result), getattr(result, "message", "")
    if ok is False:
        raise RuntimeError(f"sglang rollout: {what} failed: {message}")
