"""Engine-neutral parts of a rollout backend that drives an external inference engine (vLLM,
SGLang): the resolved sampling settings, per-row seeds, the checkpoint's EOS ids and
``config.json``, the check of pass-through sampling fields, weight buckets for syncing the
trainer's state dict into a live engine, and :class:`EngineRollout`, the base class that puts
them together.

Follows RLinf (arXiv:2509.15965), whose vLLM and SGLang workers both generate from token ids and
take the trainer's weights in buckets without restarting the engine. Nothing here imports an
engine: plugins translate :class:`Sampling` into their engine's own parameters.
"""

from __future__ import annotations

import json
import os
from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

from rlinf_core.config import RolloutConfig, doc
from rlinf_core.errors import ConfigError
from rlinf_core.interfaces.rollout import RolloutBackend
from rlinf_core.models import load_tokenizer

if TYPE_CHECKING:
    import torch

    from rlinf_core.data import RolloutRequest, TrajectoryBatch

# One engine call: (prompt ids per row, sampling, request seed) -> (response ids, their
# log-probs, truncated) per row, in row order.
EngineCall = Callable[[List[List[int]], "Sampling", int], Tuple[List[List[int]], List[List[float]], List[bool]]]

_SEED_MODULUS = 2**63 - 1
PRECISION_NAMES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}  # model.precision -> dtype name


def torch_dtype(precision: str) -> "torch.dtype":
    """The torch dtype of a ``model.precision`` value (fp32, bf16, fp16)."""
    import torch

    return getattr(torch, PRECISION_NAMES[precision])


@dataclass(frozen=True)
class Sampling:
    """The settings of one rollout call: the request's own, else the rollout config's."""

    temperature: float
    top_p: float
    top_k: int  # -1: off
    max_new_tokens: int

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0

    @classmethod
    def resolve(cls, request: "RolloutRequest", config: "RolloutConfig") -> "Sampling":
        s = request.sampling or config  # both carry temperature, top_p, top_k, max_new_tokens
        return cls(float(s.temperature), float(s.top_p), int(s.top_k), int(s.max_new_tokens))


def import_engine(module: str, install_hint: str) -> Any:
    """Import an engine package lazily; missing, it is one ConfigError saying what to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"{install_hint} ({exc})") from exc


def started_or_config_error(engine: str, config: "RolloutConfig", build: Callable[[], Any]) -> Any:
    """``build()``, the engine's constructor; any refusal is one ConfigError naming the engine
    and the checkpoint (``rollout.model.model_path``) it was asked to serve."""
    try:
        return build()
    except Exception as exc:
        raise ConfigError(
            f"{engine} cannot start on `rollout.model.model_path`={config.model.model_path!r}: {type(exc).__name__}: {exc}"
        ) from exc


def sample_groups(request: "RolloutRequest", config: "RolloutConfig", tokenizer: Any, run: EngineCall) -> "TrajectoryBatch":
    """A rollout through an engine: each prompt repeated ``group_size`` times (one row per
    response, each with its own seed), ``run`` on the rows, responses decoded."""
    from rlinf_core.data import TrajectoryBatch

    prompts = [p for p in request.prompt_ids.to_list() for _ in range(request.group_size)]
    responses, logprobs, truncated = run([p.tolist() for p in prompts], Sampling.resolve(request, config), request.seed)
    texts = tokenizer.batch_decode(responses, skip_special_tokens=True)
    return TrajectoryBatch.from_samples(request, prompts, responses, logprobs, truncated, texts)


def row_seeds(request_seed: int, rows: int) -> List[int]:
    """One seed per response row, a fixed function of the request seed and the row index, so a
    fixed request seed reproduces a rollout whatever the engine's batching."""
    base = (int(request_seed) * 1_000_003) % _SEED_MODULUS
    return [(base + i) % _SEED_MODULUS for i in range(rows)]


def check_extra_sampling(
    extra: Mapping[str, Any], valid_fields: Iterable[str], owned: Mapping[str, str], engine_params: str
) -> None:
    """Refuse a ``rollout.extra_sampling`` entry the engine does not know (``valid_fields`` of
    ``engine_params``, e.g. "vllm.SamplingParams") or one rlinf sets itself (``owned`` maps each
    such engine field to the rlinf setting to use instead)."""
    valid = set(valid_fields)
    for name in extra:
        where = f"`rollout.extra_sampling.{name}`"
        if name in owned:
            raise ConfigError(f"{where} is set by rlinf itself; use {owned[name]} instead.")
        if name not in valid:
            raise ConfigError(
                f"{where} is not a {engine_params} field; valid fields: {', '.join(sorted(valid - set(owned)))}."
            )


def weight_buckets(
    state_dict: Mapping[str, "torch.Tensor"], max_bytes: int, dtype: Optional["torch.dtype"] = None
) -> Iterator[Dict[str, "torch.Tensor"]]:
    """Consecutive groups of whole tensors of at most ``max_bytes`` each (a larger tensor goes
    alone), in the state dict's order (a model's order: each layer's weights together), floating
    tensors cast to ``dtype``. Bounds the memory of one transfer into the engine."""
    bucket: Dict[str, "torch.Tensor"] = {}
    size = 0
    for name, tensor in state_dict.items():
        t = tensor.detach()
        if dtype is not None and t.is_floating_point() and t.dtype != dtype:
            t = t.to(dtype)
        nbytes = t.numel() * t.element_size()
        if bucket and size + nbytes > max_bytes:
            yield bucket
            bucket, size = {}, 0
        bucket[name] = t.contiguous()
        size += nbytes
    if bucket:
        yield bucket


def read_model_config(path: str, field_name: str = "rollout.model.model_path") -> Dict[str, Any]:
    """The checkpoint's ``config.json`` (errors name the config field)."""
    file = os.path.join(path, "config.json")
    try:
        with open(file) as fh:
            return json.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"`{field_name}`={path!r} has no config.json: give a Hugging Face checkpoint folder.") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"`{field_name}`={path!r}: cannot read config.json ({exc}).") from exc


def checkpoint_eos_ids(path: str, tokenizer: Any) -> List[int]:
    """The checkpoint's EOS ids as the HF backend stops on them: generation_config.json's (else
    config.json's), plus the tokenizer's EOS."""
    from transformers import GenerationConfig

    try:
        eos = GenerationConfig.from_pretrained(path).eos_token_id
    except OSError:  # no generation_config.json
        eos = read_model_config(path).get("eos_token_id")
    return eos_id_list(eos, tokenizer, path)


def eos_id_list(eos: Any, tokenizer: Any, path: str) -> List[int]:
    """The ids to stop on: ``eos`` (a generation config's ``eos_token_id``: an id, a list or
    None) plus the tokenizer's EOS; none at all is a ConfigError naming the checkpoint ``path``."""
    ids = list(eos) if isinstance(eos, list) else [eos] if eos is not None else []
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    if not ids:
        raise ConfigError(f"The checkpoint at {path!r} defines no EOS token; generation could never stop early.")
    return ids


@dataclass
class EngineRolloutConfig(RolloutConfig):
    """The settings every :class:`EngineRollout` reads; each engine's section adds its own."""

    weight_bucket_mb: int = doc(
        512, "Weight sync sends the trainer's state dict in buckets of about this many MiB (whole tensors).", ge=1
    )


class EngineRollout(RolloutBackend):
    """A rollout backend over an external engine, as RLinf's vLLM and SGLang workers are: the
    checkpoint's tokenizer and EOS ids live here (the engine has none, so nothing is
    re-tokenised), rollouts go through :func:`sample_groups`, and a weight sync brings released
    weights back, loads the trainer's state dict in buckets and then forgets the KV cache, which
    the old weights computed (RLinf PR #96: reusing it decayed rewards). A subclass starts its
    engine and supplies the engine's own steps, the abstract methods below."""

    config: EngineRolloutConfig
    engine_name: ClassVar[str]  # in error messages: "vllm rollout: ..."

    def load(self) -> None:
        self.check_config(self.config)
        path = self.config.model.model_path
        self.tokenizer = load_tokenizer(path, "rollout.model.model_path")
        self.eos_ids = checkpoint_eos_ids(path, self.tokenizer)
        self.start_engine()

    def generate(self, request: "RolloutRequest") -> "TrajectoryBatch":
        if self.offloaded:
            raise RuntimeError(
                f"{self.engine_name} rollout: generate() after offload(): call update_weights() and onload() first"
            )
        return sample_groups(request, self.config, self.tokenizer, self.call_engine)

    def update_weights(self, state_dict: Dict[str, "torch.Tensor"]) -> None:
        self.restore_weights()
        self.load_weights(state_dict, self.config.weight_bucket_mb * 2**20)
        self.reset_cache()

    def load_weights(self, state_dict: Mapping[str, "torch.Tensor"], bucket_bytes: int) -> int:
        """Load ``state_dict`` into the live engine in buckets of at most ``bucket_bytes``, cast to
        ``model.precision`` (without the cache reset :meth:`update_weights` adds); returns the
        bucket count."""
        count = 0
        for bucket in weight_buckets(state_dict, bucket_bytes, torch_dtype(self.config.model.precision)):
            self.load_bucket(bucket)
            count += 1
        return count

    # -- the engine's own steps ---------------------------------------------------------------
    @property
    @abstractmethod
    def offloaded(self) -> bool:
        """Whether :meth:`offload` released memory that :meth:`onload` has not brought back."""

    @abstractmethod
    def start_engine(self) -> None:
        """Start the engine on ``config.model.model_path`` (``self.eos_ids`` are known by then)."""

    @abstractmethod
    def call_engine(self, prompts: List[List[int]], s: Sampling, seed: int) -> Tuple[List[List[int]], List[List[float]], List[bool]]:
        """One engine call, an :data:`EngineCall`."""

    @abstractmethod
    def load_bucket(self, bucket: Dict[str, "torch.Tensor"]) -> None:
        """Load one bucket of whole tensors (Hugging Face names) into the engine's weights."""

    @abstractmethod
    def restore_weights(self) -> None:
        """Bring weights :meth:`offload` released back before loading into them (nothing if resident)."""

    @abstractmethod
    def reset_cache(self) -> None:
        """Forget every cached KV block."""
