"""RLinf's math YAML (arXiv:2509.15965; ``examples/reasoning/config/math/*.yaml`` in RLinf's
repository) translated into an rlinf recipe: what ``rlinf config import`` prints and what
``rlinf run`` does when given such a file.

Every key of the input ends in exactly one list: **mapped** (to the rlinf field named, with the
value converted where the two differ: ``n_minibatches`` becomes ``actor.global_batch_size``,
``lr_warmup_fraction`` becomes warm-up steps, ``reward_scale`` the +/- scores, ``top_k`` 1e6
"off"), **ignored** (bookkeeping with no effect on what is trained here: Hydra, group names,
log paths, Megatron's own architecture and checkpoint-conversion keys, which rlinf reads from
the Hugging Face checkpoint, engine tuning), or **unsupported** (a setting rlinf cannot honour,
e.g. dynamic batch sizes or a separate inference group). Keys at a neutral value (null, false,
0, a repetition penalty of 1) count as ignored. Settings rlinf needs and RLinf's file does not
fix are listed as **defaulted**. Deviation: RLinf's ``max_steps: -1`` (run ``max_epochs``) has no
equivalent without knowing the data's size, so ``runner.max_steps`` is defaulted and named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from rlinf_core.errors import ConfigError

# RLinf key -> rlinf key, values taken as they are.
SAME_VALUE = {
    "cluster.num_nodes": "cluster.num_nodes",
    "cluster.component_placement": "cluster.component_placement",
    "runner.max_epochs": "runner.max_epochs",
    "runner.experiment_name": "runner.experiment_name",
    "runner.output_dir": "runner.output_dir",
    "runner.val_check_interval": "runner.val_interval",
    "algorithm.group_size": "algorithm.group_size",
    "algorithm.training_batch_size_per_gpu": "actor.micro_batch_size",
    "algorithm.recompute_logprobs": "algorithm.recompute_logprobs",
    "algorithm.loss_agg_func": "algorithm.loss_agg",
    "algorithm.kl_beta": "algorithm.kl_beta",
    "algorithm.entropy_bonus": "algorithm.entropy_coef",
    "algorithm.normalize_advantages": "algorithm.normalize_advantages",
    "algorithm.early_stop_imp_ratio": "algorithm.ratio_early_stop",
    "algorithm.sampling_params.temperature": "rollout.temperature",
    "algorithm.sampling_params.top_p": "rollout.top_p",
    "data.max_prompt_length": "data.max_prompt_length",
    "data.rollout_batch_size": "data.rollout_batch_size",
    "data.prompt_key": "data.prompt_key",
    "data.answer_key": "data.answer_key",
    "data.apply_chat_template": "data.apply_chat_template",
    "data.shuffle": "data.shuffle",
    "data.train_data_paths": "data.train_data_paths",
    "data.val_data_paths": "data.val_data_paths",
    "actor.optim.lr": "actor.optim.lr",
    "actor.optim.adam_beta1": "actor.optim.adam_beta1",
    "actor.optim.adam_beta2": "actor.optim.adam_beta2",
    "actor.optim.adam_eps": "actor.optim.adam_eps",
    "actor.optim.weight_decay": "actor.optim.weight_decay",
    "actor.optim.clip_grad": "actor.optim.clip_grad",
}
ENGINE = {  # rollout engine keys, by rollout.rollout_backend
    "vllm": {
        "rollout.gpu_memory_utilization": "rollout.gpu_memory_utilization",
        "rollout.enforce_eager": "rollout.enforce_eager",
        "rollout.tensor_parallel_size": "rollout.tensor_parallel_size",
        "rollout.vllm.enable_prefix_caching": "rollout.enable_prefix_caching",
    },
    "sglang": {
        "rollout.gpu_memory_utilization": "rollout.mem_fraction_static",
        "rollout.tensor_parallel_size": "rollout.tensor_parallel_size",
    },
}
MEGATRON_ONLY = {
    "actor.model.tensor_model_parallel_size": "actor.megatron.tensor_parallel_size",
    "actor.model.pipeline_model_parallel_size": "actor.megatron.pipeline_parallel_size",
    "actor.model.sequence_parallel": "actor.megatron.sequence_parallel",
    "actor.model.recompute_granularity": "actor.megatron.recompute_granularity",
    "actor.optim.use_distributed_optimizer": "actor.megatron.use_distributed_optimizer",
    "actor.offload_optimizer": "actor.megatron.offload_optimizer",
    "actor.offload_weight": "actor.megatron.offload_params",
    "actor.offload_grad": "actor.megatron.offload_grads",
    "runner.max_tokens_per_mbs": "actor.megatron.max_tokens_per_micro_batch",
}
# Keys (or prefixes ending in '.') with no effect on what rlinf trains.
IGNORED = (
    "defaults", "hydra.", "runner.task_type", "runner.logger.log_path", "runner.logger.project_name",
    "runner.logger.experiment_name", "runner.seq_length", "group_name", "rollout.model_arch",
    "rollout.distributed_executor_backend", "rollout.disable_log_stats", "rollout.detokenize", "rollout.sglang.",
    "rollout.vllm.", "rollout.return_logprobs", "rollout.max_running_requests", "rollout.cuda_graph_max_bs",
    "rollout.precision", "rollout.print_outputs", "rollout.validate_save_dir", "data.dataset_name", "data.num_workers",
    "data.val_rollout_batch_size", "data.validation_shuffle", "data.seed", "data.filter_prompt_by_length",
    "actor.mcore_gpt", "actor.spec_name", "actor.checkpoint_load_path", "actor.calculate_flops", "actor.model.",
    "actor.tokenizer.", "actor.megatron.", "actor.optim.optimizer", "actor.optim.bf16", "actor.optim.fp16",
    "actor.optim.overlap_", "actor.optim.optimizer_enable_pin", "actor.optim.loss_scale", "actor.optim.min_lr",
    "actor.lr_sched.max_lr", "actor.lr_sched.min_lr", "actor.lr_sched.lr_decay_iters", "actor.lr_sched.lr_warmup_init",
    "reward.tokenizer.", "algorithm.loss_type", "algorithm.logprob_forward_micro_batch_size",
    "algorithm.val_rollout_batch_size_per_gpu", "algorithm.calculate_entropy", "algorithm.sampling_params.max_new_tokens",
    "algorithm.sampling_params.min_new_tokens", "profile_data.",
)
NEUTRAL = {"algorithm.sampling_params.repetition_penalty": 1.0, "algorithm.sampling_params.min_new_tokens": 1,
           "algorithm.loss_type": "actor", "actor.optim.optimizer": "adam", "critic.use_critic_model": False,
           "rollout.pipeline_parallel_size": 1}


@dataclass
class Translation:
    """The recipe and where every RLinf key went."""

    recipe: Dict[str, Any] = field(default_factory=dict)
    mapped: List[Tuple[str, str, Any]] = field(default_factory=list)  # (RLinf key, rlinf key, value)
    defaulted: List[Tuple[str, Any, str]] = field(default_factory=list)  # (rlinf key, value, why)
    ignored: List[str] = field(default_factory=list)
    unsupported: List[Tuple[str, Any]] = field(default_factory=list)

    def put(self, source: str, target: str, value: Any) -> None:
        node = self.recipe
        *parents, leaf = target.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
        self.mapped.append((source, target, value))

    def table(self) -> str:
        """The four lists as aligned text."""
        lines = [f"mapped ({len(self.mapped)}):"]
        lines += [f"  {s:<48} -> {t} = {v!r}" for s, t, v in self.mapped]
        lines += [f"defaulted ({len(self.defaulted)}):"] + [f"  {t} = {v!r}  ({why})" for t, v, why in self.defaulted]
        lines += [f"ignored, no effect here ({len(self.ignored)}):"] + [f"  {k}" for k in self.ignored]
        lines += [f"unsupported ({len(self.unsupported)}):"] + [f"  {k} = {v!r}" for k, v in self.unsupported]
        return "\n".join(lines)


def looks_like_rlinf(raw: Dict[str, Any]) -> bool:
    """Whether a parsed YAML is in RLinf's schema rather than ours (keys only RLinf uses)."""
    marks = (("hydra",), ("defaults",), ("actor", "training_backend"), ("rollout", "rollout_backend"),
             ("algorithm", "n_minibatches"), ("rollout", "model_dir"))
    return any(_get(raw, path) is not None for path in marks)


def _get(raw: Any, path: Tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(raw, dict) or key not in raw:
            return None
        raw = raw[key]
    return raw


def _flatten(raw: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and not name == "cluster.component_placement":
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _yaml_number(value: Any) -> Any:
    """YAML 1.1 reads ``2e-05`` (no dot) as a string; RLinf's Hydra reads it as a number."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _number(flat: Dict[str, Any], key: str) -> Optional[float]:
    value = _yaml_number(flat.get(key))
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _backends(flat: Dict[str, Any], t: Translation) -> Tuple[str, str]:
    """``actor.training_backend`` and ``rollout.rollout_backend``: (actor backend, rollout backend)."""
    training = str(flat.get("actor.training_backend", "megatron"))
    actor = {"megatron": "megatron", "fsdp": "torch"}.get(training)
    if actor is None:
        t.unsupported.append(("actor.training_backend", training))
        actor = "torch"
    else:
        t.put("actor.training_backend", "actor.backend", actor)
        if actor == "torch":
            t.recipe["actor"]["strategy"] = "fsdp2"
            t.defaulted.append(("actor.strategy", "fsdp2", "RLinf's fsdp backend shards as FSDP2 does"))
    rollout = str(flat.get("rollout.rollout_backend", "sglang"))
    if rollout not in ("sglang", "vllm"):
        t.unsupported.append(("rollout.rollout_backend", rollout))
        rollout = "vllm"
    t.put("rollout.rollout_backend", "rollout.backend", rollout)
    return actor, rollout


def _model_and_precision(flat: Dict[str, Any], t: Translation) -> None:
    if "rollout.model_dir" in flat:
        t.put("rollout.model_dir", "rollout.model.model_path", str(flat["rollout.model_dir"]).rstrip("/"))
        t.put("rollout.model_dir", "actor.model.model_path", str(flat["rollout.model_dir"]).rstrip("/"))
    precision = flat.get("actor.model.precision")
    if precision is not None:
        t.put("actor.model.precision", "actor.model.precision", precision)
        rollout_precision = flat.get("rollout.precision")
        same = rollout_precision is None or str(rollout_precision).startswith("${")
        t.put("rollout.precision" if not same else "actor.model.precision", "rollout.model.precision",
              precision if same else rollout_precision)


def _sampling(flat: Dict[str, Any], t: Translation) -> None:
    top_k = _number(flat, "algorithm.sampling_params.top_k")
    if top_k is not None:  # RLinf writes 1,000,000 for "no top-k"
        t.put("algorithm.sampling_params.top_k", "rollout.top_k", -1 if top_k <= 0 or top_k >= 100_000 else int(top_k))
    if flat.get("algorithm.sampling_params.use_greedy"):
        t.put("algorithm.sampling_params.use_greedy", "rollout.temperature", 0.0)
        t.ignored.append("algorithm.sampling_params.temperature")  # greedy wins over it
    new_tokens = flat.get("algorithm.sampling_params.max_new_tokens")
    seq, prompt = _number(flat, "runner.seq_length"), _number(flat, "data.max_prompt_length")
    if isinstance(new_tokens, int):
        t.put("algorithm.sampling_params.max_new_tokens", "rollout.max_new_tokens", new_tokens)
    elif seq is not None and prompt is not None:  # RLinf's ${subtract:${runner.seq_length}, ${data.max_prompt_length}}
        t.put("runner.seq_length", "rollout.max_new_tokens", int(seq - prompt))


def _clipping_and_advantages(flat: Dict[str, Any], t: Translation) -> None:
    eps = _number(flat, "algorithm.ratio_clip_eps")
    for side in ("low", "high"):
        key = f"algorithm.clip_ratio_{side}"
        value = _number(flat, key)
        if value is not None:
            t.put(key, key, value)
        elif eps is not None:
            t.put("algorithm.ratio_clip_eps", key, eps)
    dual = _number(flat, "algorithm.clip_ratio_c")
    if dual is not None:
        t.put("algorithm.clip_ratio_c", "algorithm.dual_clip", dual)
    adv = flat.get("algorithm.adv_type", "grpo")
    if adv == "grpo":
        t.put("algorithm.adv_type", "algorithm.name", "grpo")
    else:
        t.unsupported.append(("algorithm.adv_type", adv))
    kl = flat.get("algorithm.kl_penalty_type")
    if kl is not None:
        estimator = {"low_var_kl": "k3", "kl": "k1"}.get(str(kl))
        if estimator is None:
            t.unsupported.append(("algorithm.kl_penalty_type", kl))
        else:
            t.put("algorithm.kl_penalty_type", "algorithm.kl_estimator", estimator)


def _batches_and_schedule(flat: Dict[str, Any], t: Translation) -> None:
    """Minibatches per step -> global batch; max_steps; the warm-up fraction -> steps; decay style."""
    prompts, group, minibatches = (_number(flat, k) for k in
                                   ("data.rollout_batch_size", "algorithm.group_size", "algorithm.n_minibatches"))
    if prompts and group and minibatches:
        t.put("algorithm.n_minibatches", "actor.global_batch_size", int(prompts * group // minibatches))
    steps = _number(flat, "runner.max_steps")
    if steps is not None and steps > 0:
        t.put("runner.max_steps", "runner.max_steps", int(steps))
    else:
        steps = 1000
        t.recipe.setdefault("runner", {})["max_steps"] = 1000
        t.defaulted.append(("runner.max_steps", 1000, "RLinf's -1 runs max_epochs, a step count that depends on the "
                                                       "data's size: set runner.max_steps to it"))
    save = _number(flat, "runner.save_interval")
    if save is not None:
        t.put("runner.save_interval", "runner.save_interval", max(0, int(save)))  # RLinf's -1: only at the end
    fraction = _number(flat, "actor.lr_sched.lr_warmup_fraction")
    iters = _number(flat, "actor.lr_sched.lr_warmup_iters")
    if iters:
        t.put("actor.lr_sched.lr_warmup_iters", "actor.optim.lr_warmup_steps", int(iters))
    elif fraction:
        total = steps * (minibatches or 1)
        t.put("actor.lr_sched.lr_warmup_fraction", "actor.optim.lr_warmup_steps", int(round(fraction * total)))
    decay = flat.get("actor.lr_sched.lr_decay_style")
    if decay is not None:
        if decay in ("constant", "cosine", "linear"):
            t.put("actor.lr_sched.lr_decay_style", "actor.optim.lr_scheduler", decay)
        else:
            t.unsupported.append(("actor.lr_sched.lr_decay_style", decay))


def _run_settings(flat: Dict[str, Any], t: Translation) -> None:
    """Seed, trackers, task and reward."""
    seed = flat.get("actor.seed", flat.get("data.seed"))
    if seed is not None:
        t.put("actor.seed", "runner.seed", int(seed))
    trackers = flat.get("runner.logger.logger_backends")
    if trackers is not None:
        known = [b for b in trackers if b in ("tensorboard", "mlflow")]
        t.put("runner.logger.logger_backends", "tracking.backends", ["mlflow", *[b for b in known if b != "mlflow"]])
        t.unsupported += [("runner.logger.logger_backends", b) for b in trackers if b not in known]
    if flat.get("data.type", "math") == "math" and flat.get("reward.reward_type", "math") == "math":
        t.put("data.type", "data.task", "math")
        t.put("reward.reward_type", "reward.name", "math")
    else:
        t.unsupported += [(k, flat[k]) for k in ("data.type", "reward.reward_type") if flat.get(k, "math") != "math"]
    scale = _number(flat, "reward.reward_scale")
    if scale is not None:
        t.put("reward.reward_scale", "reward.correct_score", scale)
        t.put("reward.reward_scale", "reward.incorrect_score", -scale)


# Keys the functions above read, whether or not they produced a field.
CONVERTED = (
    "actor.training_backend", "rollout.rollout_backend", "rollout.model_dir", "actor.model.precision", "rollout.precision",
    "algorithm.sampling_params.top_k", "algorithm.sampling_params.use_greedy", "algorithm.sampling_params.max_new_tokens",
    "runner.seq_length", "algorithm.ratio_clip_eps", "algorithm.clip_ratio_low", "algorithm.clip_ratio_high",
    "algorithm.clip_ratio_c", "algorithm.adv_type", "algorithm.kl_penalty_type", "algorithm.n_minibatches",
    "runner.max_steps", "runner.save_interval", "actor.lr_sched.lr_warmup_fraction", "actor.lr_sched.lr_warmup_iters",
    "actor.lr_sched.lr_decay_style", "actor.seed", "data.seed", "runner.logger.logger_backends", "data.type",
    "reward.reward_type", "reward.reward_scale",
)
COMPONENTS = {"actor", "rollout", "reward"}


def _is_ignored(key: str, value: Any) -> bool:
    if any(key == p or (p.endswith((".", "_")) and key.startswith(p)) or key.endswith("." + p) for p in IGNORED):
        return True
    return value is None or value is False or value == 0 or NEUTRAL.get(key, object()) == value


def _placement_components(spec: Any) -> set:
    names = spec.keys() if isinstance(spec, dict) else [part.split(":")[0] for part in str(spec).split(", ")]
    return {n.strip() for key in names for n in str(key).split(",")}


def translate(raw: Dict[str, Any]) -> Translation:
    """Translate a parsed RLinf math YAML; every key lands in one of the four lists."""
    flat = _flatten(raw)
    t = Translation()
    actor, rollout = _backends(flat, t)
    for convert in (_model_and_precision, _sampling, _clipping_and_advantages, _batches_and_schedule, _run_settings):
        convert(flat, t)
    t.recipe.setdefault("cluster", {})["num_gpus_per_node"] = 8
    t.defaulted.append(("cluster.num_gpus_per_node", 8, "RLinf's nodes are 8-GPU machines; set it to yours"))
    done = {s for s, _, _ in t.mapped} | {k for k, _ in t.unsupported} | {k for k, _, _ in t.defaulted} | set(t.ignored)
    per_backend = {**ENGINE.get(rollout, {}), **(MEGATRON_ONLY if actor == "megatron" else {})}
    for key, value in flat.items():
        if key in done:
            continue
        if key == "cluster.component_placement" and not _placement_components(value) <= COMPONENTS:
            t.unsupported.append((key, value))  # e.g. RLinf's separate "inference" group
        elif key in SAME_VALUE:
            t.put(key, SAME_VALUE[key], _yaml_number(value))
        elif key in per_backend:
            t.put(key, per_backend[key], _yaml_number(value))
        elif key in CONVERTED or _is_ignored(key, value):
            t.ignored.append(key)
        else:
            t.unsupported.append((key, value))
    return t


def translate_or_raise(raw: Dict[str, Any], path: str, allow_unsupported: bool = False) -> Translation:
    """:func:`translate`, refusing a file with unsupported settings unless allowed."""
    t = translate(raw)
    if t.unsupported and not allow_unsupported:
        listed = "; ".join(f"{k} = {v!r}" for k, v in t.unsupported)
        raise ConfigError(
            f"'{path}' is an RLinf config with settings rlinf cannot honour: {listed}. Remove them, or see the full "
            f"table with `rlinf config import {path}` (`--allow-unsupported` writes a recipe without them)."
        )
    return t
