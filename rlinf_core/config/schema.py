"""The typed config: one dataclass per section, every field documented.

Field names follow the RLinf documentation where it names them (``cluster.num_nodes``,
``cluster.component_placement``, ``rollout.model.model_path``, ``data.train_data_paths``,
...), so RLinf users feel at home. Plugins extend a section by subclassing its dataclass
(e.g. the GRPO algorithm's config subclasses :class:`AlgorithmConfig`); the loader swaps
the subclass in when the section names that plugin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from rlinf_core.config.fields import doc

PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class ClusterConfig:
    """Where the workers run: the Ray cluster and how components map onto its devices."""

    num_nodes: int = doc(1, "Number of machines in the Ray cluster.", ge=1)
    num_gpus_per_node: int = doc(
        0, "GPUs per node. 0 places every component on CPUs (one placement device per CPU).", ge=0
    )
    num_cpus_per_node: Optional[int] = doc(
        None, "CPUs per node used for placement; null means every CPU Ray sees on the node.", ge=1
    )
    gpu_memory_gb: Optional[float] = doc(
        None,
        "Memory of one GPU in GiB, for the check that a GPU placement fits (rlinf_core/plan/memory.py); "
        "null reads the driver's first visible GPU, and skips the check when it has none.",
        gt=0.0,
    )
    component_placement: Any = doc(
        "actor,rollout,reward: all",
        "Which devices each component uses: 'actor,rollout,reward: all' (collocated), "
        "'rollout: 0-1, actor: 2-3' (disaggregated), or a mapping {components: devices}. "
        "Device ids are global: node i holds ids i*per_node .. (i+1)*per_node-1. 'auto': the run picks "
        "from cost profiles (runner.plan_profiles; without, it starts collocated and plans from its own "
        "first steps, runner.replan_after; docs/planning.md).",
    )
    devices_per_rank: Dict[str, int] = doc(
        {},
        "Devices one rank of a component spans, e.g. {rollout: 2} for tensor parallelism or a "
        "2-thread CPU rollout. Components not listed use 1 device per rank.",
    )
    address: Optional[str] = doc(
        None,
        "Ray cluster to join ('auto' or 'HOST:PORT'); null starts an embedded local Ray. "
        "This is how runs go multi-node.",
    )
    namespace: str = doc("rlinf", "Ray namespace for the run's named actors (channels).")


@dataclass
class RunnerConfig:
    """The run: where it writes, how long it lasts, how it is seeded."""

    output_dir: str = doc("results/${runner.experiment_name}", "Directory for checkpoints, logs and the MLflow store.")
    experiment_name: str = doc("rlinf", "Experiment name (MLflow experiment, default output dir).")
    max_steps: int = doc(100, "Training steps (one step = one rollout batch and its updates).", ge=1)
    max_epochs: int = doc(1000, "Upper bound on passes over the training data; max_steps usually ends the run first.", ge=1)
    seed: int = doc(42, "Seed for data order, sampling and initialisation.")
    save_interval: int = doc(50, "Save a checkpoint every N steps (and at the end); 0 saves only at the end.", ge=0)
    val_interval: int = doc(
        0, "Evaluate on data.val_data_paths every N steps (0: only at the end of the run, if val data is given).", ge=0
    )
    val_samples: int = doc(1, "Samples per validation problem (K in avg@K, pass@k).", ge=1)
    val_temperature: float = doc(0.0, "Validation sampling temperature; 0 is greedy.", ge=0.0)
    val_top_p: float = doc(1.0, "Validation nucleus sampling.", gt=0.0, le=1.0)
    max_staleness: int = doc(
        0,
        "0: synchronous steps. k >= 1: the next step's batch is sampled while the actor trains, "
        "with the previous weights (at most 1 step stale; logged as rollout/staleness_*; stale samples "
        "use the rollout's log-probs as the behaviour policy). Drains before each checkpoint step. "
        "Pays off when the rollout and the actor have their own devices (cluster.component_placement).",
        ge=0,
    )
    offload_between_phases: str = doc(
        "auto",
        "Release the rollout's weights while the actor trains (it gets the new ones at the weight sync), and "
        "call the actor's offload while the rollout generates. auto: when the rollout and the actor share a "
        "device (cluster.component_placement) and runner.max_staleness is 0; on: always (needs max_staleness "
        "0); off: never.",
        choices=("auto", "on", "off"),
    )
    groups_per_part: int = doc(
        0,
        "Streaming within a step: each rollout rank generates its prompts in parts of this many prompt "
        "groups, each scored as soon as it is generated, and the actor trains each part as it arrives "
        "while the rollout generates the rest (when they have their own devices; on shared devices "
        "after sampling), stepping the optimizer when the batch is complete. Every placement cuts the "
        "work the same way, so results do not depend on it. Needs one update per step, advantages "
        "computed per group and no dynamic sampling. 0: off (one part per rollout rank).",
        ge=0,
    )
    plan_profiles: List[str] = doc(
        [],
        "With cluster.component_placement=auto: earlier runs' output folders (or profile.json files) to "
        "pick the placement from at start-up. Empty: start collocated and plan after runner.replan_after steps.",
    )
    replan_after: int = doc(
        0,
        "With cluster.component_placement=auto: after this many steps, re-plan once from this run's own "
        "profile (when it started without profiles, or drifted by more than runner.replan_drift) and switch "
        "placement through a checkpoint if another is predicted faster. 0: 3 without profiles, never with.",
        ge=0,
    )
    replan_drift: float = doc(
        0.2, "Relative gap between the measured and the predicted step time that triggers the re-plan.", gt=0.0
    )
    val_at_start: bool = doc(
        True, "Validate once before the first update (step 0), so the run's report compares start, best and final."
    )
    keep_best: Optional[str] = doc(
        "auto",
        "Keep the checkpoint with the best value of this validation metric (higher is better) in "
        "<output_dir>/checkpoints/best, beside the latest ones; auto: the first validation metric "
        "(val/<first file>/avg@K); none: off.",
    )
    resume: str = doc(
        "auto",
        "Where to continue from: auto (the latest complete checkpoint in output_dir, if any; broken ones are "
        "skipped with a warning), none (start afresh), or a checkpoint folder path.",
    )
    keep_last: int = doc(3, "Keep this many newest checkpoints; older ones are deleted (0 keeps all).", ge=0)
    max_consecutive_bad_steps: int = doc(
        3, "Stop when this many steps in a row had every update skipped for NaN/Inf (train/skipped_updates).", ge=1
    )
    prepare: Optional[str] = doc(
        None, "Preparer plugin that creates missing data/models before the run (e.g. math-tiny); null: none."
    )
    cache_dir: str = doc(
        "${oc.env:RLINF_CACHE,${oc.env:HOME,.}/.cache/rlinf}", "Folder for prepared assets (env RLINF_CACHE overrides)."
    )


@dataclass
class DataConfig:
    """The training data and the task that reads it (a task's own fields, such as which field of a
    row holds the prompt, are in its ``config_class``)."""

    task: str = doc("math", "Task plugin that reads the data and formats prompts (see `rlinf plugins`).")
    train_data_paths: List[str] = doc([], "Training files (.jsonl or .parquet).")
    val_data_paths: List[str] = doc(
        [], "Held-out files in the training data's format, evaluated during and after training (val/<file>/avg@K)."
    )
    max_prompt_length: int = doc(1024, "Prompts longer than this many tokens are dropped (and counted).", ge=1)
    rollout_batch_size: int = doc(8, "Prompts per training step.", ge=1)
    shuffle: bool = doc(True, "Shuffle the training data each epoch (seeded by runner.seed).")


@dataclass
class ModelConfig:
    """A model checkpoint and the precision it runs in."""

    model_path: str = doc("", "Hugging Face checkpoint folder (config.json, weights, tokenizer).")
    precision: str = doc("fp32", "Compute precision.", choices=PRECISIONS)


@dataclass
class RolloutConfig:
    """Response generation. Backends extend this with their own fields."""

    backend: str = doc("hf", "Rollout backend plugin: hf (transformers, CPU/GPU), vllm, sglang.")
    model: ModelConfig = doc(ModelConfig(), "Checkpoint the rollout starts from.")
    temperature: float = doc(1.0, "Sampling temperature.", gt=0.0)
    top_p: float = doc(1.0, "Nucleus sampling: keep the smallest token set with this probability mass.", gt=0.0, le=1.0)
    top_k: int = doc(-1, "Keep only the k most likely tokens; -1 disables.", ge=-1)
    max_new_tokens: int = doc(512, "Longest response; longer ones are truncated (and counted).", ge=1)


@dataclass
class OptimConfig:
    """AdamW and its learning-rate schedule."""

    lr: float = doc(1e-6, "Peak learning rate.", gt=0.0)
    weight_decay: float = doc(0.01, "AdamW decoupled weight decay (Loshchilov & Hutter 2019).", ge=0.0)
    adam_beta1: float = doc(0.9, "AdamW beta1.", ge=0.0, le=1.0)
    adam_beta2: float = doc(0.999, "AdamW beta2.", ge=0.0, le=1.0)
    adam_eps: float = doc(1e-8, "AdamW epsilon.", gt=0.0)
    clip_grad: float = doc(1.0, "Clip the global gradient norm to this; 0 disables.", ge=0.0)
    lr_warmup_steps: int = doc(0, "Linear warm-up optimizer steps.", ge=0)
    lr_scheduler: str = doc("constant", "Schedule after warm-up.", choices=("constant", "cosine", "linear"))
    min_lr_ratio: float = doc(0.0, "Final lr as a fraction of lr for cosine/linear schedules.", ge=0.0, le=1.0)


@dataclass
class ActorConfig:
    """The policy being trained. Backends extend this with their own fields."""

    backend: str = doc("torch", "Train backend plugin: torch (DDP/FSDP2), megatron, deepspeed.")
    model: ModelConfig = doc(
        ModelConfig(model_path="${rollout.model.model_path}"), "Checkpoint the actor starts from (default: the rollout's)."
    )
    optim: OptimConfig = doc(OptimConfig(), "Optimizer.")
    global_batch_size: int = doc(32, "Sequences per optimizer update (one minibatch), across all actor ranks.", ge=1)
    micro_batch_size: int = doc(8, "Sequences per forward/backward on one rank (gradient accumulation unit).", ge=1)
    num_epochs: int = doc(1, "Passes over each step's rollouts (PPO epochs).", ge=1)


@dataclass
class AlgorithmConfig:
    """The RL algorithm. Algorithm plugins extend this with their own fields."""

    name: str = doc("grpo", "Algorithm plugin (see `rlinf plugins --hook register_algorithms`).")
    group_size: int = doc(8, "Responses sampled per prompt (G in GRPO, Shao et al. 2024).", ge=1)
    recompute_logprobs: bool = doc(
        True, "Recompute old log-probs with the actor; false uses the rollout's sampling log-probs."
    )


@dataclass
class RewardConfig:
    """The reward. Reward plugins extend this with their own fields."""

    name: str = doc("math", "Reward plugin that scores responses (see `rlinf plugins --hook register_rewards`).")


@dataclass
class TrackingConfig:
    """Experiment tracking."""

    backends: List[str] = doc(["mlflow"], "Trackers to log to, several at once: mlflow, tensorboard, jsonl, console.")
    experiment_name: str = doc("${runner.experiment_name}", "Experiment name in the trackers.")
    run_name: Optional[str] = doc(None, "Run name; null derives one from the time.")
    mlflow_tracking_uri: Optional[str] = doc(
        None, "MLflow store; null uses an embedded sqlite store at <output_dir>/mlflow/mlflow.db (no server)."
    )
    console_interval: int = doc(1, "The console tracker prints every N steps.", ge=1)


@dataclass
class PluginsConfig:
    """Extra plugin modules to load besides installed packages."""

    modules: List[str] = doc(
        [], "Python files (my_reward.py) or importable modules whose hook implementations register plugins."
    )


@dataclass
class RlinfConfig:
    """The whole config of a run."""

    cluster: ClusterConfig = doc(ClusterConfig(), "Ray cluster and component placement.")
    runner: RunnerConfig = doc(RunnerConfig(), "Run length, output and seeding.")
    data: DataConfig = doc(DataConfig(), "Training data and task.")
    rollout: RolloutConfig = doc(RolloutConfig(), "Generation.")
    actor: ActorConfig = doc(ActorConfig(), "Policy training.")
    algorithm: AlgorithmConfig = doc(AlgorithmConfig(), "RL algorithm.")
    reward: RewardConfig = doc(RewardConfig(), "Reward.")
    tracking: TrackingConfig = doc(TrackingConfig(), "Experiment tracking.")
    plugins: PluginsConfig = doc(PluginsConfig(), "Extra plugin modules.")

