"""A Megatron-Core GPTModel for one actor rank, built from a Hugging Face Qwen2 checkpoint and loaded
with this rank's shard of its weights; and the full Hugging Face weights gathered back.

Follows Megatron-LM's GPT model (Shoeybi et al. 2019; Narayanan et al. 2021) through
Megatron-Core's public ``GPTModel`` and layer specs (Transformer Engine's, or the local one).
Deviations from Megatron-LM's own recipes: the model is initialised from a Hugging Face
checkpoint rather than at random (``perform_initialization`` off: every weight is overwritten),
and Megatron's loss is not used (the output layer's logits stay vocab-parallel and
:mod:`rlinf_megatron.logprobs` turns them into log-probs).
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterator, List, Mapping, Tuple

import torch

from rlinf_core.engine_rollout import torch_dtype
from rlinf_core.errors import ConfigError
from rlinf_megatron.config import MegatronParallelConfig, gpt_model_kwargs, transformer_config_kwargs
from rlinf_megatron.convert import hf_to_megatron, megatron_to_hf
from rlinf_megatron.shapes import ModelShape

FIELD = "actor.model.model_path"


class CheckpointTensors(Mapping[str, torch.Tensor]):
    """A Hugging Face checkpoint's tensors by name, each read from its safetensors file when asked
    for: a rank reads only what its shard needs, never the whole model at once."""

    def __init__(self, path: str):
        from safetensors import safe_open

        index = os.path.join(path, "model.safetensors.index.json")
        if os.path.exists(index):
            with open(index) as fh:
                files = json.load(fh)["weight_map"]
        elif os.path.exists(os.path.join(path, "model.safetensors")):
            files = None
        else:
            raise ConfigError(f"`{FIELD}`={path!r} has no model.safetensors (or index): save it with safetensors.")
        self._open = safe_open
        self._path = path
        self._handles: Dict[str, Any] = {}
        if files is None:
            handle = self._handle("model.safetensors")
            files = {name: "model.safetensors" for name in handle.keys()}
        self._files: Dict[str, str] = files

    def _handle(self, file: str) -> Any:
        if file not in self._handles:
            self._handles[file] = self._open(os.path.join(self._path, file), framework="pt", device="cpu")
        return self._handles[file]

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self._files:
            raise KeyError(f"{name} is not in the checkpoint {self._path!r}")
        return self._handle(self._files[name]).get_tensor(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


def transformer_config(hf: Mapping[str, Any], parallel: MegatronParallelConfig, precision: str) -> Any:
    """Megatron-Core's TransformerConfig for training this checkpoint on GPUs."""
    from megatron.core.transformer.transformer_config import TransformerConfig

    kw = transformer_config_kwargs(hf, parallel, precision)
    dtype = torch_dtype(precision)
    kw.update(
        activation_func=torch.nn.functional.silu,
        params_dtype=dtype,
        pipeline_dtype=dtype,
        # Micro-batches differ in rows and length (token-budget batching), so the pipeline
        # stages send each activation's shape before the activation.
        variable_seq_lengths=True,
        # The loss is already the minibatch's token mean (the algorithm divides by the
        # minibatch's token count over all ranks): gradients are summed over data-parallel
        # ranks, never averaged or rescaled by Megatron.
        calculate_per_token_loss=True,
        perform_initialization=False,
    )
    if kw["recompute_granularity"] == "full":
        kw.update(recompute_method="uniform", recompute_num_layers=1)
    return TransformerConfig(**kw)


def build_model(hf: Mapping[str, Any], parallel: MegatronParallelConfig, precision: str) -> Any:
    """This rank's GPTModel (its pipeline stage, its tensor-parallel slice), uninitialised."""
    from megatron.core import parallel_state as ps
    from megatron.core.models.gpt.gpt_model import GPTModel

    config = transformer_config(hf, parallel, precision)
    if parallel.transformer_engine:
        from megatron.core.models.gpt.gpt_layer_specs import get_gpt_layer_with_transformer_engine_spec

        spec = get_gpt_layer_with_transformer_engine_spec()
    else:
        from megatron.core.models.gpt.gpt_layer_specs import get_gpt_layer_local_spec

        spec = get_gpt_layer_local_spec(normalization="RMSNorm")
    return GPTModel(
        config=config, transformer_layer_spec=spec, parallel_output=True,
        pre_process=ps.is_pipeline_first_stage(), post_process=ps.is_pipeline_last_stage(),
        **gpt_model_kwargs(hf, parallel),
    )


def load_hf_weights(model: torch.nn.Module, path: str, hf: Mapping[str, Any], parallel: MegatronParallelConfig) -> None:
    """Copy this rank's shard of the checkpoint's weights into ``model`` (every name and size checked)."""
    from megatron.core import parallel_state as ps

    shape = ModelShape.from_hf_config(hf)
    tp_rank, pp_rank = ps.get_tensor_model_parallel_rank(), ps.get_pipeline_model_parallel_rank()
    shard = hf_to_megatron(CheckpointTensors(path), shape, parallel.layout(), tp_rank, pp_rank)
    missing, unexpected = model.load_state_dict(shard, strict=False)
    missing = [k for k in missing if not k.endswith("_extra_state")]
    if missing or unexpected:
        raise ConfigError(
            f"`{FIELD}`={path!r} does not fit Megatron's GPTModel on rank (tp {tp_rank}, pp {pp_rank}): "
            f"missing {missing[:5]}, unexpected {unexpected[:5]} (set actor.megatron.transformer_engine to match "
            "the installed layers)."
        )


def local_shard(model: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """This rank's weights, Megatron names, on CPU (Transformer Engine's ``_extra_state`` left out)."""
    return {
        k: v.detach().to("cpu", copy=True)
        for k, v in model.state_dict().items()
        if isinstance(v, torch.Tensor) and not k.endswith("_extra_state")
    }


def gather_hf_weights(model: torch.nn.Module, hf: Mapping[str, Any], parallel: MegatronParallelConfig) -> Dict[str, torch.Tensor]:
    """The full Hugging Face weights on the first rank of this rank's model-parallel group (an
    empty dict elsewhere): a collective over that group."""
    from megatron.core import parallel_state as ps

    group = ps.get_model_parallel_group()
    first = torch.distributed.get_global_rank(group, 0)
    mine: Tuple[int, int, Dict[str, torch.Tensor]] = (
        ps.get_tensor_model_parallel_rank(), ps.get_pipeline_model_parallel_rank(), local_shard(model)
    )
    gathered: List[Any] = [None] * torch.distributed.get_world_size(group) if torch.distributed.get_rank() == first else []
    torch.distributed.gather_object(mine, gathered if gathered else None, dst=first, group=group)
    if torch.distributed.get_rank() != first:
        return {}
    shards = {(tp, pp): state for tp, pp, state in gathered}
    return megatron_to_hf(shards, ModelShape.from_hf_config(hf), parallel.layout())
