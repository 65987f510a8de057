"""The PyTorch train backend: packed log-probs and entropy, minibatch updates, weights out.

Follows RLinf's actor (arXiv:2509.15965): several minibatch updates per step, gradient
accumulation over micro-batches, global-norm clipping, AdamW with warm-up and a schedule,
DDP or FSDP2 across ranks (gloo on CPU, NCCL on GPU), optional bf16 autocast. Sequences
are laid out one per row or packed (see :mod:`rlinf_torch.packing`); deviating from RLinf, a
group's shared prompt runs once under its responses (:mod:`rlinf_torch.prefix`). What one
``train_step`` does (old log-probs, minibatches, early stop, skipped zero-advantage rows) is
in :mod:`rlinf_torch.step`. The entropy is computed inside autograd only when the algorithm
asks for it (``Algorithm.needs_entropy_grad``). What touches gradients and weights (the
backward, the update, discarding a rejected minibatch's gradients, the full weights) goes
through a few ``_`` methods that another engine overrides (rlinf-deepspeed).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch

from rlinf_core import Ragged, TrainBackend, TrainSetup, TrajectoryBatch, distinct_rows
from rlinf_core.config import ActorConfig, doc
from rlinf_core.errors import ConfigError
from rlinf_core.files import atomic_folder
from rlinf_core.models import load_tokenizer, resolve_device
from rlinf_core.plan.memory import ActorShards, MemoryEstimate, ModelShape, actor_memory
from rlinf_core.rng import restore_rng_state, rng_state
from rlinf_torch import distributed as D
from rlinf_torch.packing import pack, token_logprobs_and_entropy
from rlinf_torch.prefix import shared_prompt_forward
from rlinf_torch.schedule import lr_factor
from rlinf_torch.step import TrainStep
from rlinf_torch.stream import StreamedStep


@dataclass
class TorchActorConfig(ActorConfig):
    strategy: str = doc("ddp", "Data parallelism across actor ranks: ddp or fsdp2 (fully_shard).", choices=("ddp", "fsdp2"))
    device: str = doc("auto", "Device: auto (CUDA if visible, else CPU), cpu or cuda.", choices=("auto", "cpu", "cuda"))
    gradient_checkpointing: bool = doc(False, "Recompute activations in backward to save memory.")
    pack_row_tokens: int = doc(
        0,
        "Row layout of a forward pass. 0: one sequence per row, right-padded, plain causal attention (fastest on "
        "CPU; micro-batches are cut from length-sorted sequences, so padding stays small). N > 0: pack sequences "
        "into rows of up to N tokens with a block-diagonal mask (less padding, O(N^2) attention; free with "
        "FlashAttention-2 on GPUs).",
        ge=0,
    )
    share_prompts: bool = doc(
        True,
        "Rows with identical prompts (a GRPO group) run the prompt once and share its KV cache; the responses run "
        "on top of it. Same outputs and gradients as one sequence per row (fp32 rounding), minus G-1 copies of "
        "every prompt. Used when pack_row_tokens is 0, without gradient checkpointing, and not under multi-rank FSDP2.",
    )


class TorchTrainBackend(TrainBackend):
    config_class = TorchActorConfig
    config: TorchActorConfig

    @classmethod
    def estimate_memory(cls, config: TorchActorConfig, shape: ModelShape, num_ranks: int, micro_tokens: int) -> MemoryEstimate:
        """fp32 weights under bf16/fp16 autocast (no master copy); FSDP2 shards all state over the ranks."""
        return actor_memory(shape, config.model.precision, cls.memory_shards(config, num_ranks), micro_tokens,
                            recompute=config.gradient_checkpointing, fp32_weights=True)

    @classmethod
    def memory_shards(cls, config: TorchActorConfig, num_ranks: int) -> ActorShards:
        if config.strategy == "fsdp2" and num_ranks > 1:
            return ActorShards(weights=1 / num_ranks, grads=1 / num_ranks, optimizer=1 / num_ranks)
        return ActorShards()

    # -- set-up ---------------------------------------------------------------------------
    def __init__(self, config: TorchActorConfig, rank: int = 0, world_size: int = 1):
        super().__init__(config, rank, world_size)
        # load() waits until every group has started (it needs rank 0's rendezvous); importing
        # transformers' model classes now (~7 s of CPU) overlaps that import with the other
        # groups' start-up instead of adding it after them.
        from transformers import AutoModelForCausalLM  # noqa: F401

    def load(self, setup: TrainSetup) -> None:
        c = self.config
        self.setup = setup
        self.device = resolve_device(c.device)
        torch.manual_seed(setup.seed)
        if self.world_size > 1:
            if setup.dist_addr is None or setup.dist_port is None:
                raise RuntimeError("several actor ranks need a rendezvous address (TrainSetup.dist_addr/dist_port)")
            D.init_process_group(self.rank, self.world_size, setup.dist_addr, setup.dist_port, self.device)
        model = self._load_model()
        self.share_prompts = self._can_share_prompts()
        self.reference = None
        self._streamed: Optional[StreamedStep] = None  # a step trained part by part, between begin and finish
        if setup.keep_reference:
            self.reference = copy.deepcopy(model).eval().requires_grad_(False)
        self._wrap_and_optimize(model)

    def _load_model(self) -> torch.nn.Module:
        """The tokenizer and the Hugging Face model of ``actor.model``, on this rank's device."""
        from transformers import AutoModelForCausalLM

        c = self.config
        path = c.model.model_path
        self.tokenizer = load_tokenizer(path, "actor.model.model_path")
        self.pad_id = self.tokenizer.pad_token_id or 0
        try:
            model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        except Exception as exc:
            raise ConfigError(f"Cannot load `actor.model.model_path`={path!r}: {type(exc).__name__}: {exc}") from exc
        model.to(self.device)
        if c.gradient_checkpointing:
            model.gradient_checkpointing_enable()
        self.flash = getattr(model.config, "_attn_implementation", "") == "flash_attention_2"
        self.keeps_logits = "logits_to_keep" in inspect.signature(model.forward).parameters
        return model

    def _can_share_prompts(self) -> bool:
        """The prompt pass needs a KV cache (gradient checkpointing turns transformers' cache off)
        and a module called twice per micro-batch, which FSDP2's per-layer reshard/reduce hooks
        are not set up for; packed rows have their own layout."""
        c = self.config
        return (
            c.share_prompts and c.pack_row_tokens <= 0 and not c.gradient_checkpointing
            and not (c.strategy == "fsdp2" and self.world_size > 1)
        )

    def _wrap_and_optimize(self, model: torch.nn.Module) -> None:
        """``self.model`` (DDP/FSDP2-wrapped), ``self.optimizer`` and ``self.scheduler``."""
        self.model = D.wrap(model, self.config.strategy, self.device)
        o = self.config.optim
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=o.lr, betas=(o.adam_beta1, o.adam_beta2), eps=o.adam_eps, weight_decay=o.weight_decay
        )
        total = self.setup.total_optimizer_steps
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(s, o.lr_warmup_steps, total, o.lr_scheduler, o.min_lr_ratio)
        )

    # -- what a step does to the gradients and weights (engine seams: rlinf-deepspeed swaps them)
    def _micro_batch_context(self, last: bool):
        """Around one micro-batch's forward and backward: DDP reduces gradients on the last only."""
        if not last and hasattr(self.model, "no_sync"):
            return self.model.no_sync()
        return contextlib.nullcontext()

    def _backward(self, loss: torch.Tensor) -> None:
        loss.backward()

    def _optimizer_step(self) -> float:
        """Clip and step on the accumulated gradient; returns its norm (not finite: no step)."""
        clip = self.config.optim.clip_grad or float("inf")
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        norm = float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)
        if math.isfinite(norm):
            self.optimizer.step()
            self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return norm

    def _discard_gradients(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    def current_lr(self) -> float:
        return float(self.scheduler.get_last_lr()[0])

    def _full_state_dict(self) -> Dict[str, torch.Tensor]:
        """The full weights on CPU, Hugging Face names (a collective under FSDP2)."""
        return D.full_state_dict(self.model, self.config.strategy)

    def _autocast(self):
        if self.config.model.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.config.model.precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    # -- forward --------------------------------------------------------------------------
    def _forward(
        self, model: torch.nn.Module, prompts: List[torch.Tensor], responses: List[torch.Tensor], entropy_grad: bool = False
    ):
        groups = distinct_rows(prompts) if self.share_prompts else None
        if groups is not None and groups.repeats:
            with self._autocast():
                return shared_prompt_forward(
                    D.unwrap(model), model, prompts, responses, groups, temperature=self.setup.temperature,
                    pad_id=self.pad_id, device=self.device, keeps_logits=self.keeps_logits, entropy_grad=entropy_grad,
                )
        packed = pack(prompts, responses, build_mask=not self.flash, row_tokens=self.config.pack_row_tokens, pad_id=self.pad_id)
        kwargs = {"input_ids": packed.input_ids.to(self.device), "position_ids": packed.position_ids.to(self.device)}
        if packed.attention_mask is not None:
            kwargs["attention_mask"] = packed.attention_mask.to(self.device)
        index = packed.logit_index
        width = packed.input_ids.shape[1]
        if self.config.pack_row_tokens <= 0 and self.keeps_logits:
            # One sequence per row from column 0: no response logit sits before the shortest
            # prompt's last token, so the LM head and softmax skip the prompt columns before it.
            first = min(len(p) for p in prompts) - 1
            kwargs["logits_to_keep"] = width - first
            index = (index // width) * (width - first) + index % width - first
        with self._autocast():
            logits = model(**kwargs, use_cache=False).logits.flatten(0, 1)
        logp, entropy = token_logprobs_and_entropy(
            logits[index.to(self.device)], packed.targets.to(self.device), self.setup.temperature, entropy_grad=entropy_grad
        )
        return logp, entropy, packed.response_lengths

    def _micro_batches(self, batch: TrajectoryBatch, rows: List[int]) -> List[List[int]]:
        """Cut ``rows`` into micro-batches of similar-length sequences (less padding). With shared
        prompts, rows of one prompt stay next to each other (groups ordered by their longest
        sequence) so that a micro-batch holds whole groups. Gradient accumulation sums over
        micro-batches, so their composition does not change the update."""
        m = self.config.micro_batch_size
        lengths = self._sequence_lengths(batch)
        if self.share_prompts and rows:
            of_row = distinct_rows([batch.prompt_ids[i] for i in rows]).of_row.tolist()
            groups: Dict[int, List[int]] = {}
            for i, g in zip(rows, of_row):
                groups.setdefault(g, []).append(i)
            ordered = sorted(groups.values(), key=lambda g: max(int(lengths[i]) for i in g))
            rows = [i for g in ordered for i in sorted(g, key=lambda i: int(lengths[i]))]
        else:
            rows = sorted(rows, key=lambda i: int(lengths[i]))
        return [rows[i : i + m] for i in range(0, len(rows), m)]

    def _same_count(self, count: int) -> int:
        """The largest ``count`` over the actor ranks. Forward passes hold collectives (FSDP2's
        all-gathers, DDP's buffer broadcast), so every rank must run as many; a rank with less
        work runs stand-ins."""
        if self.world_size > 1:
            return int(D.all_reduce(torch.tensor([float(count)]), op=torch.distributed.ReduceOp.MAX)[0])
        return count

    @torch.no_grad()
    def _score_rows(self, model: torch.nn.Module, batch: TrajectoryBatch, rows: List[int], same_count: bool = False):
        """Log-probs and entropies of ``rows`` (lists indexed by row, None elsewhere). With
        ``same_count`` every rank runs the same number of forwards (for row counts that differ)."""
        logps: List[Optional[torch.Tensor]] = [None] * len(batch)
        ents: List[Optional[torch.Tensor]] = [None] * len(batch)
        micro = self._micro_batches(batch, rows)
        count = self._same_count(len(micro)) if same_count else len(micro)
        for j in range(count):
            mrows = micro[j] if j < len(micro) else [0]  # a stand-in keeps the ranks' collectives in step
            lp, ent, lengths = self._forward(
                model, [batch.prompt_ids[i] for i in mrows], [batch.response_ids[i] for i in mrows]
            )
            if j >= len(micro):
                continue
            sizes = lengths.tolist()
            for i, a, b in zip(mrows, torch.split(lp.float().cpu(), sizes), torch.split(ent.float().cpu(), sizes)):
                logps[i], ents[i] = a, b
        return logps, ents

    def _score(self, model: torch.nn.Module, batch: TrajectoryBatch) -> Tuple[Ragged, Ragged]:
        logps, ents = self._score_rows(model, batch, list(range(len(batch))))
        return Ragged.from_list(logps, dtype=torch.float32), Ragged.from_list(ents, dtype=torch.float32)

    @staticmethod
    def _sequence_lengths(batch: TrajectoryBatch) -> torch.Tensor:
        return batch.prompt_ids.lengths + batch.response_ids.lengths

    def compute_logprobs(self, batch: TrajectoryBatch) -> Tuple[Ragged, Ragged]:
        was_training = self.model.training
        self.model.eval()
        try:
            return self._score(self.model, batch)
        finally:
            self.model.train(was_training)

    # -- updates --------------------------------------------------------------------------
    def train_step(self, batch, algorithm, num_minibatches: int, recompute_logprobs: bool) -> Dict[str, float]:
        """See :mod:`rlinf_torch.step` for what a step does."""
        if batch.advantages is None:
            raise ValueError("train_step needs batch.advantages (compute them with the algorithm first)")
        n = len(batch)
        if n % num_minibatches:
            raise ValueError(f"{n} sequences on rank {self.rank} do not split into {num_minibatches} minibatches")
        return TrainStep(self, batch, algorithm, recompute_logprobs).run(num_minibatches)

    def begin_streamed_step(self, algorithm, recompute_logprobs: bool, num_seqs: int) -> None:
        """See :mod:`rlinf_torch.stream`."""
        if self.config.num_epochs != 1:
            raise ValueError(f"a streamed step makes one update: actor.num_epochs is {self.config.num_epochs}, not 1")
        self._streamed = StreamedStep(self, algorithm, recompute_logprobs, num_seqs)

    def train_part(self, batch: TrajectoryBatch) -> None:
        if self._streamed is None:
            raise RuntimeError("train_part outside a streamed step: call begin_streamed_step first")
        if batch.advantages is None:
            raise ValueError("train_part needs batch.advantages (compute them with the algorithm first)")
        self._streamed.add(batch)

    def finish_streamed_step(self) -> Dict[str, float]:
        if self._streamed is None:
            raise RuntimeError("finish_streamed_step outside a streamed step: call begin_streamed_step first")
        streamed, self._streamed = self._streamed, None
        return streamed.finish()

    # -- weights out ----------------------------------------------------------------------
    def state_dict_for_rollout(self) -> Dict[str, torch.Tensor]:
        return self._full_state_dict()

    def save_checkpoint(self, path: str) -> None:
        """A Hugging Face checkpoint (weights, config, tokenizer), written to a temporary folder and renamed."""
        state = self._full_state_dict()
        if self.rank != 0:
            return
        with atomic_folder(path) as tmp:
            D.unwrap(self.model).save_pretrained(tmp, state_dict=state)
            self.tokenizer.save_pretrained(tmp)

    def save_state(self, path: str) -> None:
        """Per rank: optimizer and scheduler (sharded as trained under FSDP2), RNG states, and on
        rank 0 the frozen reference policy when KL is on. Resuming needs the same actor world size."""
        os.makedirs(path, exist_ok=True)
        state = {
            "world_size": self.world_size,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": rng_state(),
        }
        if self.reference is not None and self.rank == 0:
            state["reference"] = {k: v.detach().cpu() for k, v in self.reference.state_dict().items()}
        torch.save(state, os.path.join(path, f"rank{self.rank}.pt"))

    def load_state(self, path: str) -> None:
        file = os.path.join(path, f"rank{self.rank}.pt")
        if not os.path.exists(file):
            raise ConfigError(
                f"Checkpoint state {file!r} is missing: resume with as many actor ranks as the checkpoint was saved with."
            )
        state = torch.load(file, map_location=self.device, weights_only=False)
        if state["world_size"] != self.world_size:
            raise ConfigError(
                f"The checkpoint was saved by {state['world_size']} actor ranks; this run has {self.world_size}. "
                f"Resume with the same cluster.component_placement."
            )
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        restore_rng_state(state["rng"])
        if self.reference is not None:
            ref = state.get("reference")
            if ref is None:  # saved by another rank: read rank 0's copy
                ref = torch.load(os.path.join(path, "rank0.pt"), map_location=self.device, weights_only=False)["reference"]
            self.reference.load_state_dict(ref)
