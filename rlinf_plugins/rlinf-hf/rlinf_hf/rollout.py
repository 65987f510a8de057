"""HF rollout backend: batched sampling from a transformers model with a KV cache.

Samples ``group_size`` responses per prompt (left-padded batches), stops each at EOS,
and returns the response token ids with their log-probs under the sampling distribution:
log-softmax of the *processed* logits (temperature, top-k, top-p applied), which is what
the tokens were drawn from (greedy decoding, temperature 0, reports the raw log-softmax).
With top_p=1 and top_k=-1 these equal the trainer's log-softmax(logits / temperature), so
``algorithm.recompute_logprobs: false`` is exact up to float error. New weights arrive as
a full state dict from the trainer.

Two decode loops (``rollout.engine``): ``compact`` (default, :mod:`rlinf_hf.decode`: finished
rows leave the batch, no per-token vocabulary bookkeeping; tiny Qwen2 rollout 0.25 -> 0.17 s
on a 2-core CPU, benchmarks/README.md) and
``generate`` (transformers' ``generate()``, kept as the reference the compact loop is tested
against).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import torch

from rlinf_core.plan.decode_cost import ENGINE_COST_KEY, DecodeSteps, fixed_share
from rlinf_core.plan.memory import MemoryEstimate, ModelShape, rollout_memory
from rlinf_core import RolloutBackend, RolloutRequest, SamplingParams, TrajectoryBatch, left_pad
from rlinf_core.config import RolloutConfig, doc
from rlinf_core.engine_rollout import eos_id_list
from rlinf_core.errors import ConfigError
from rlinf_core.models import load_tokenizer, resolve_device
from rlinf_hf.decode import decode
from rlinf_hf.sampling import generate_kwargs

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class HFRolloutConfig(RolloutConfig):
    generation_batch_size: int = doc(
        256, "Sequences per generate() call; lower it if generation runs out of memory.", ge=1
    )
    device: str = doc("auto", "Device: auto (CUDA if visible, else CPU), cpu or cuda.", choices=("auto", "cpu", "cuda"))
    engine: str = doc(
        "compact",
        "Decode loop: compact (rlinf's: prefill of the last position only, finished rows leave the batch and "
        "KV cache; see rlinf_hf.decode) or generate (transformers' generate()). Same sampling distribution, "
        "different random draws.",
        choices=("compact", "generate"),
    )


class HFRollout(RolloutBackend):
    config_class = HFRolloutConfig
    config: HFRolloutConfig

    @classmethod
    def estimate_memory(cls, config: HFRolloutConfig, shape: ModelShape, rows: int, max_tokens: int,
                        device_bytes: float) -> MemoryEstimate:
        """Both engines hold one generation batch's KV cache at full length (the compact loop
        preallocates it; generate() grows to it)."""
        return rollout_memory(shape, config.model.precision, min(rows, config.generation_batch_size) * max_tokens)

    def load(self) -> None:
        from transformers import AutoModelForCausalLM

        self._offloaded: Optional[Dict[str, Any]] = None  # shapes of released weights (offload)
        path = self.config.model.model_path
        self.tokenizer = load_tokenizer(path, "rollout.model.model_path")
        self.device = resolve_device(self.config.device)
        try:
            self.model = AutoModelForCausalLM.from_pretrained(path, dtype=DTYPES[self.config.model.precision])
        except Exception as exc:
            raise ConfigError(f"Cannot load `rollout.model.model_path`={path!r}: {type(exc).__name__}: {exc}") from exc
        self.model.to(self.device).eval()
        self.eos_ids = eos_id_list(self.model.generation_config.eos_token_id, self.tokenizer, path)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eos_ids[0]

    @torch.inference_mode()
    def generate(self, request: RolloutRequest) -> TrajectoryBatch:
        if self._offloaded is not None:
            raise RuntimeError("hf rollout: generate() after offload(): send the weights with update_weights() first")
        c = self.config
        s = request.sampling or SamplingParams(c.temperature, c.top_p, c.top_k, c.max_new_tokens)
        prompts = [p for p in request.prompt_ids.to_list() for _ in range(request.group_size)]
        kwargs = generate_kwargs(s.temperature, s.top_p, s.top_k, s.max_new_tokens, self.eos_ids, self.pad_id)
        torch.manual_seed(request.seed)
        responses: List[torch.Tensor] = []
        logprobs: List[torch.Tensor] = []
        truncated: List[bool] = []
        timed = c.engine == "compact" and self.device.type == "cpu"
        loops: List[DecodeSteps] = []
        began = time.perf_counter()
        for start in range(0, len(prompts), c.generation_batch_size):
            steps = DecodeSteps() if timed else None
            loops += [steps] if steps is not None else []
            r, lp, t = self._generate_chunk(prompts[start : start + c.generation_batch_size], kwargs, steps)
            responses += r
            logprobs += lp
            truncated += t
        share = fixed_share(loops, time.perf_counter() - began)
        self._last_costs = {} if share is None else {ENGINE_COST_KEY: share}
        texts = self.tokenizer.batch_decode(responses, skip_special_tokens=True)
        return TrajectoryBatch.from_samples(request, prompts, responses, logprobs, truncated, texts)

    def last_generate_costs(self) -> Dict[str, float]:
        return dict(getattr(self, "_last_costs", {}))

    def _generate_chunk(self, prompts: List[torch.Tensor], kwargs: Dict[str, Any], steps: Optional[DecodeSteps]):
        if self.config.engine == "compact":
            d = decode(
                self.model, prompts, temperature=kwargs.get("temperature", 0.0) if kwargs["do_sample"] else 0.0,
                top_k=kwargs.get("top_k", 0), top_p=kwargs.get("top_p", 1.0), max_new_tokens=kwargs["max_new_tokens"],
                eos_ids=self.eos_ids, pad_id=self.pad_id, device=self.device, steps=steps,
            )
            return d.responses, d.logprobs, d.truncated
        input_ids, attention = left_pad(prompts, self.pad_id)
        width = input_ids.shape[1]
        out = self.model.generate(
            input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device), **kwargs
        )
        new_tokens = out.sequences[:, width:].cpu()
        # scores[t] are the processed logits used to sample token t (-inf where filtered).
        scores = torch.stack(out.scores, dim=1).float().cpu()
        token_logprobs = torch.log_softmax(scores, dim=-1).gather(-1, new_tokens.unsqueeze(-1)).squeeze(-1)
        responses, logprobs, truncated = [], [], []
        eos = torch.tensor(self.eos_ids)
        for i in range(len(prompts)):
            row = new_tokens[i]
            hits = torch.isin(row, eos).nonzero()
            end = int(hits[0]) + 1 if len(hits) else row.numel()
            responses.append(row[:end])
            logprobs.append(token_logprobs[i, :end])
            truncated.append(not len(hits))
        return responses, logprobs, truncated

    def offload(self) -> None:
        """Release the weights' storage (the flow sends the trained weights before the next
        generate). Parameters keep their objects, so tied embeddings stay tied."""
        if self._offloaded is not None:
            return
        self._offloaded = {}
        for name, param in self.model.named_parameters():  # each shared (tied) parameter once
            self._offloaded[name] = (param.shape, param.dtype)
            param.data = torch.empty(0, dtype=param.dtype, device=param.device)

    def onload(self) -> None:
        if self._offloaded is not None:
            raise RuntimeError("hf rollout: onload() after offload() needs the weights first: call update_weights()")

    def update_weights(self, state_dict: Dict[str, torch.Tensor]) -> None:
        if self._offloaded is not None:
            for name, param in self.model.named_parameters():
                shape, dtype = self._offloaded[name]
                param.data = torch.empty(shape, dtype=dtype, device=self.device)
            self._offloaded = None
        missing, unexpected = self.model.load_state_dict(state_dict, strict=False)
        # Tied embeddings may arrive under one name only; anything else is a real mismatch.
        missing = [k for k in missing if not (k == "lm_head.weight" and self.model.config.tie_word_embeddings)]
        if missing or unexpected:
            raise RuntimeError(f"weight sync mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
