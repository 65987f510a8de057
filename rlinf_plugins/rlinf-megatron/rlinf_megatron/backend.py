"""The Megatron train backend (``actor.backend: megatron``): GRPO-family updates on a Megatron-Core
GPTModel split by tensor, pipeline and context parallelism, data parallel over the other ranks.

Follows RLinf's Megatron actor (arXiv:2509.15965) on Megatron-LM (Shoeybi et al. 2019,
arXiv:1909.08053; Narayanan et al. 2021, arXiv:2104.04473) through Megatron-Core's public API:
``parallel_state`` for the groups, ``DistributedDataParallel`` with contiguous gradient buffers,
``get_megatron_optimizer`` (Adam with decoupled weight decay, fp32 master weights under bf16/fp16,
optionally the distributed optimizer that shards its state over the data-parallel ranks), the
pipeline schedules (:mod:`rlinf_megatron.micro`), activation recompute from
``actor.megatron.recompute_granularity``, and the buffers' and optimizer's own CPU offload
between phases when the rollout shares the GPUs. Weights come from a Hugging Face checkpoint and
go back out in Hugging Face layout (:mod:`rlinf_megatron.convert`).

Deviations: Megatron's optimizer exempts biases and norm weights from weight decay (the torch
backend decays every weight); streamed steps are refused; context parallelism gathers the
log-probs (:mod:`rlinf_megatron.context`); what one step
does differs from rlinf-torch's in the ways :mod:`rlinf_megatron.step` lists. Megatron-Core's
forward runs on CUDA only: this class has not run on hardware yet (README, "What ran where").
"""

from __future__ import annotations

import contextlib
import datetime
from typing import Any, Callable, Dict, Tuple

import torch

from rlinf_core import Ragged, TrainBackend, TrainSetup, TrajectoryBatch
from rlinf_core.engine_rollout import read_model_config
from rlinf_core.errors import ConfigError
from rlinf_core.models import load_tokenizer
from rlinf_core.plan import memory
from rlinf_megatron.batching import micro_batches
from rlinf_megatron.config import MegatronActorConfig, check_parallel
from rlinf_megatron.context import localize
from rlinf_megatron.micro import MicroBatch, VocabSlice, forward_backward, make_micro_batch
from rlinf_megatron.model import build_model, gather_hf_weights, load_hf_weights
from rlinf_megatron.parallel import check_megatron_config, group_union, same_rows_group
from rlinf_megatron.shapes import ModelShape
from rlinf_megatron.state import load_megatron_state, save_hf_checkpoint, save_megatron_state
from rlinf_megatron.step import MegatronTrainStep
from rlinf_torch.schedule import lr_factor


class MegatronTrainBackend(TrainBackend):
    config_class = MegatronActorConfig
    config: MegatronActorConfig

    @classmethod
    def check_config(cls, config: MegatronActorConfig) -> None:
        check_megatron_config(config)

    @classmethod
    def check_placement(cls, config: MegatronActorConfig, num_ranks: int, device_type: str, devices_per_rank: int) -> None:
        if device_type != "gpu":
            raise ConfigError(
                "`actor.backend`='megatron' needs GPUs: Megatron-Core's forward runs on CUDA only. Set "
                "`cluster.num_gpus_per_node`, or train on CPUs with actor.backend=torch or deepspeed."
            )
        if devices_per_rank != 1:
            raise ConfigError(
                f"`cluster.devices_per_rank.actor`={devices_per_rank}: a Megatron rank drives one GPU; split the "
                "model with actor.megatron.tensor_parallel_size / pipeline_parallel_size instead."
            )
        hf = read_model_config(config.model.model_path, "actor.model.model_path")
        check_parallel(config.megatron, ModelShape.from_hf_config(hf), num_ranks)

    @classmethod
    def estimate_memory(cls, config: MegatronActorConfig, shape: memory.ModelShape, num_ranks: int,
                        micro_tokens: int) -> memory.MemoryEstimate:
        """16-bit weights, fp32 gradient buffers and an fp32 master copy (18 bytes a parameter, 6
        plus 12/DP with the distributed optimizer), split by TP x PP; a micro-batch of
        ``max_tokens_per_micro_batch`` tokens when set. Under 1F1B the first stage holds up to PP
        micro-batches of its L/PP layers: a whole model's worth, so PP does not shrink activations."""
        p = config.megatron
        tokens = p.max_tokens_per_micro_batch or micro_tokens
        return memory.actor_memory(shape, config.model.precision, cls.memory_shards(config, num_ranks), tokens,
                                   recompute=p.recompute_granularity == "full")

    @classmethod
    def memory_shards(cls, config: MegatronActorConfig, num_ranks: int) -> memory.ActorShards:
        p = config.megatron
        model_parallel = p.tensor_parallel_size * p.pipeline_parallel_size
        data_parallel = max(1, num_ranks // model_parallel)  # with CP: Megatron's data-parallel-with-CP group
        # Korthikanti et al. 2022: 34 sbh per layer becomes (10 + 24/t) sbh under TP, 34/t sbh with SP.
        tp = p.tensor_parallel_size
        per_tp = 1 / tp if p.sequence_parallel else (10 + 24 / tp) / 34
        return memory.ActorShards(
            weights=1 / model_parallel, grads=1 / model_parallel,
            optimizer=(1 / data_parallel if p.use_distributed_optimizer else 1.0) / model_parallel,
            activations=per_tp / p.context_parallel_size,
        )

    # -- set-up ---------------------------------------------------------------------------
    def load(self, setup: TrainSetup) -> None:
        from megatron.core import parallel_state as ps
        from megatron.core import tensor_parallel

        c, p = self.config, self.config.megatron
        self.setup = setup
        torch.cuda.set_device(0)  # Ray shows each actor rank its own GPU
        self.device = torch.device("cuda", 0)
        # A second backend in one process (a resumed copy) joins the groups the first set up.
        if not torch.distributed.is_initialized():
            addr, port = setup.dist_addr or "127.0.0.1", setup.dist_port or _free_port()
            torch.distributed.init_process_group(
                "nccl", init_method=f"tcp://{addr}:{port}", rank=self.rank, world_size=self.world_size,
                timeout=datetime.timedelta(minutes=30),
            )
        if not ps.model_parallel_is_initialized():
            ps.initialize_model_parallel(p.tensor_parallel_size, p.pipeline_parallel_size,
                                         context_parallel_size=p.context_parallel_size)
        torch.manual_seed(setup.seed)
        tensor_parallel.model_parallel_cuda_manual_seed(setup.seed)
        path = c.model.model_path
        self.tokenizer = load_tokenizer(path, "actor.model.model_path")
        self.pad_id = self.tokenizer.pad_token_id or 0
        self.hf_config = read_model_config(path, "actor.model.model_path")
        shape = ModelShape.from_hf_config(self.hf_config)
        self.token_budget = p.max_tokens_per_micro_batch
        per_rank = p.layout().padded_vocab(shape) // p.tensor_parallel_size
        self.vocab = VocabSlice(ps.get_tensor_model_parallel_rank() * per_rank, shape.vocab_size, setup.temperature,
                                ps.get_tensor_model_parallel_group(), ps.get_context_parallel_group())
        self.same_rows = same_rows_group()
        self.reference = self._load_model(path).eval().requires_grad_(False) if setup.keep_reference else None
        self._wrap_and_optimize(self._load_model(path))
        self.optimizer_steps = 0
        self.offloaded = False

    def _load_model(self, path: str) -> torch.nn.Module:
        model = build_model(self.hf_config, self.config.megatron, self.config.model.precision).to(self.device)
        load_hf_weights(model, path, self.hf_config, self.config.megatron)
        return model

    def _wrap_and_optimize(self, model: torch.nn.Module) -> None:
        from megatron.core.distributed import DistributedDataParallel, DistributedDataParallelConfig, finalize_model_grads
        from megatron.core.optimizer import OptimizerConfig, get_megatron_optimizer

        c, o = self.config, self.config.optim
        distributed = c.megatron.use_distributed_optimizer
        self.model = DistributedDataParallel(
            config=model.config, module=model,
            ddp_config=DistributedDataParallelConfig(grad_reduce_in_fp32=True, use_distributed_optimizer=distributed),
        )
        precision = c.model.precision
        self.optimizer = get_megatron_optimizer(
            OptimizerConfig(
                optimizer="adam", lr=o.lr, min_lr=o.lr * o.min_lr_ratio, weight_decay=o.weight_decay,
                adam_beta1=o.adam_beta1, adam_beta2=o.adam_beta2, adam_eps=o.adam_eps, clip_grad=o.clip_grad,
                bf16=precision == "bf16", fp16=precision == "fp16", params_dtype=model.config.params_dtype,
                use_distributed_optimizer=distributed,
            ),
            [self.model],
        )
        config = model.config
        config.no_sync_func = self.model.no_sync
        config.grad_scale_func = self.optimizer.scale_loss
        # The loss is already the minibatch's token mean: reduce the gradients without Megatron's
        # per-token rescaling (which it applies when handed the micro-batches' token count).
        config.finalize_model_grads_func = lambda chunks, num_tokens, **kw: finalize_model_grads(chunks, None, **kw)

    # -- the collectives the step needs ---------------------------------------------------
    def data_parallel_sum(self, t: torch.Tensor) -> torch.Tensor:
        return self.data_parallel_reduce(t, torch.distributed.ReduceOp.SUM)

    def data_parallel_reduce(self, t: torch.Tensor, op: Any) -> torch.Tensor:
        from megatron.core import parallel_state as ps

        out = t.to(self.device)
        torch.distributed.all_reduce(out, op=op, group=ps.get_data_parallel_group())
        return out.to(t.device)

    def last_stage_to_all(self, compute: Callable[[], Any]) -> Any:
        """``compute()`` on the last pipeline stage, its result broadcast to this rank's other stages."""
        from megatron.core import parallel_state as ps

        value = [compute() if ps.is_pipeline_last_stage() else None]
        if ps.get_pipeline_model_parallel_world_size() > 1:
            torch.distributed.broadcast_object_list(
                value, src=ps.get_pipeline_model_parallel_last_rank(), group=ps.get_pipeline_model_parallel_group()
            )
        return value[0]

    def micro_batch(self, batch: TrajectoryBatch, rows) -> "MicroBatch":
        """``rows`` as this rank runs them: the width a multiple of what sequence and context
        parallelism split it by, and this context-parallel rank's share of the positions."""
        from megatron.core import parallel_state as ps

        p = self.config.megatron
        cp = p.context_parallel_size
        multiple = (p.tensor_parallel_size if p.sequence_parallel else 1) * (2 * cp if cp > 1 else 1)
        mb = make_micro_batch(batch, rows, self.pad_id, self.device, multiple)
        return localize(mb, cp, ps.get_context_parallel_rank()) if cp > 1 else mb

    # -- forward --------------------------------------------------------------------------
    def score(self, model: torch.nn.Module, batch: TrajectoryBatch) -> Tuple[list, list]:
        """Log-probs and entropies of every row of ``batch`` (this group's rows) under ``model``,
        on every rank of the group: one forward-only pass."""
        lengths = (batch.prompt_ids.lengths + batch.response_ids.lengths).tolist()
        micro = [self.micro_batch(batch, rows) for rows in micro_batches(lengths, range(len(batch)), self.token_budget,
                                                                  self.config.micro_batch_size)]

        def report(mb, logp, entropy):
            sizes = mb.response_lengths.tolist()
            return logp.sum() * 0.0, {"rows": mb.rows, "logp": torch.split(logp.float().cpu(), sizes),
                                      "entropy": torch.split(entropy.float().cpu(), sizes)}

        was_training = model.training
        model.eval()
        try:
            reports = forward_backward(model, micro, self.vocab, report, forward_only=True)
        finally:
            model.train(was_training)

        def collect():
            logps, ents = [None] * len(batch), [None] * len(batch)
            for r in reports:
                for i, lp, ent in zip(r["rows"], r["logp"], r["entropy"]):
                    logps[i], ents[i] = lp, ent
            return logps, ents

        return self.last_stage_to_all(collect)

    def compute_logprobs(self, batch: TrajectoryBatch) -> Tuple[Ragged, Ragged]:
        union, positions = group_union(batch, 1, self.same_rows)
        with self._resident():
            logps, ents = self.score(self.model, union)
        mine = positions[torch.distributed.get_rank(self.same_rows)]
        return (Ragged.from_list([logps[k] for k in mine], dtype=torch.float32),
                Ragged.from_list([ents[k] for k in mine], dtype=torch.float32))

    # -- updates --------------------------------------------------------------------------
    def train_step(self, batch, algorithm, num_minibatches: int, recompute_logprobs: bool) -> Dict[str, float]:
        if batch.advantages is None:
            raise ValueError("train_step needs batch.advantages (compute them with the algorithm first)")
        union, _ = group_union(batch, num_minibatches, self.same_rows)
        return MegatronTrainStep(self, union, algorithm, recompute_logprobs).run(num_minibatches)

    def optimizer_step(self) -> float:
        for group in self.optimizer.param_groups:
            group["lr"] = self.current_lr()
        ok, norm, _ = self.optimizer.step()
        self.discard_gradients()
        if not ok or norm is None:
            return float("nan") if not ok else 0.0
        self.optimizer_steps += 1
        return float(norm)

    def discard_gradients(self) -> None:
        self.model.zero_grad_buffer()
        self.optimizer.zero_grad()

    # rlinf-torch's apply_update and step_metrics call the engine through these names.
    _optimizer_step = optimizer_step
    _discard_gradients = discard_gradients

    def current_lr(self) -> float:
        """The next update's lr (as the torch backend's scheduler reports it)."""
        return self.config.optim.lr * self._lr_factor()

    def _lr_factor(self) -> float:
        o = self.config.optim
        return lr_factor(self.optimizer_steps, o.lr_warmup_steps, self.setup.total_optimizer_steps, o.lr_scheduler, o.min_lr_ratio)

    # -- phases on shared GPUs ------------------------------------------------------------
    def offload(self) -> None:
        from rlinf_megatron.offload import offload_to_cpu

        offload_to_cpu(self.model, self.optimizer, self.config.megatron)
        self.offloaded = True

    def onload(self) -> None:
        from rlinf_megatron.offload import reload_from_cpu

        if self.offloaded:
            reload_from_cpu(self.model, self.optimizer, self.config.megatron, self.device)
            self.offloaded = False

    @contextlib.contextmanager
    def _resident(self):
        """Weights and optimizer on the GPU for the duration (a checkpoint may be written while
        the actor is offloaded for the rollout's phase), then back where they were."""
        was_offloaded = self.offloaded
        self.onload()
        try:
            yield
        finally:
            if was_offloaded:
                self.offload()

    # -- weights and state out ------------------------------------------------------------
    def state_dict_for_rollout(self) -> Dict[str, torch.Tensor]:
        with self._resident():
            return gather_hf_weights(self.model.module, self.hf_config, self.config.megatron)

    def save_checkpoint(self, path: str) -> None:
        weights = self.state_dict_for_rollout()
        if self.rank == 0:
            save_hf_checkpoint(path, weights, self.config.model.model_path, self.tokenizer, self.hf_config)

    def save_state(self, path: str) -> None:
        with self._resident():
            save_megatron_state(self, path)

    def load_state(self, path: str) -> None:
        load_megatron_state(self, path)


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

