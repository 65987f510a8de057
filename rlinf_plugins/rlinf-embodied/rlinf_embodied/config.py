"""The root schema of an embodied recipe (``flow: embodied``): env, policy, algorithm, runner,
cluster and tracking sections. Cluster and tracking are the core's own sections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List

from rlinf_core.config import doc
from rlinf_core.config.schema import ClusterConfig, PluginsConfig, TrackingConfig


@dataclass
class EnvConfig:
    """The simulator and how its environments are spread over the env workers."""

    id: str = doc("FetchReachDense-v4", "Environment id: a gymnasium-robotics Fetch id (FetchReach*, FetchPush*, "
                  "FetchSlide*, FetchPickAndPlace*), or libero:<suite>/<task index> (the `libero` extra).")
    num_workers: int = doc(1, "Env workers (Ray ranks of the `env` component), each holding envs_per_worker envs.", ge=1)
    envs_per_worker: int = doc(16, "Environments one env worker steps as a batch.", ge=1)
    pipeline_stage_num: int = doc(
        1, "Stages each worker's batch is split into (RLinf's pipeline_stage_num): while one stage steps the "
        "simulator, the policy computes the next stage's actions. 1: no pipelining.", ge=1)
    horizon: int = doc(50, "Steps per episode (Fetch's own time limit is 50).", ge=1)
    render_size: int = doc(160, "Width and height in pixels of the evaluation GIF's frames.", ge=16)


@dataclass
class PolicyConfig:
    """The policy: an MLP (and its critic, PPO) over the state and goal, or a Hugging Face VLA."""

    kind: str = doc("mlp", "mlp: a Gaussian MLP over the state, trained here; hf: a Hugging Face vision-language-"
                    "action model (OpenVLA's predict_action) acting on camera images and the instruction, "
                    "evaluation only, on a GPU.", choices=("mlp", "hf"))
    hidden_sizes: List[int] = doc([64, 64], "Hidden layer widths of the policy's and the critic's MLPs.")
    init_log_std: float = doc(-0.5, "Initial log standard deviation of the Gaussian actions.")
    checkpoint: str = doc("", "A policy.pt an earlier run wrote, to start from (its observation and action sizes "
                          "and hidden sizes must match); empty: fresh weights.")
    path: str = doc("", "kind hf: the VLA checkpoint (a directory or hub id), e.g. "
                    "openvla/openvla-7b-finetuned-libero-spatial.")
    unnorm_key: str = doc("", "kind hf: the dataset whose action statistics un-normalise the VLA's actions "
                          "(OpenVLA's unnorm_key, e.g. libero_spatial); empty: the checkpoint's only one.")
    device: str = doc("cuda", "kind hf: the device the VLA runs on.")
    dtype: str = doc("bfloat16", "kind hf: the VLA's weight dtype.", choices=("bfloat16", "float16", "float32"))
    image_size: int = doc(256, "kind hf: camera image width and height (OpenVLA's LIBERO evaluation: 256, "
                          "resized to 224 by its processor).", ge=16)


@dataclass
class EmbodiedAlgorithmConfig:
    """PPO with GAE (Schulman et al. 2017, 2016) or GRPO with episode-level group advantages."""

    name: str = doc("ppo", "ppo (a critic and GAE) or grpo (episodes grouped by their start, no critic).",
                    choices=("ppo", "grpo"))
    gamma: float = doc(0.99, "Discount.", ge=0.0, le=1.0)
    lam: float = doc(0.95, "GAE lambda (ppo).", ge=0.0, le=1.0)
    group_size: int = doc(8, "Episodes per group sharing one start state (grpo); envs per worker must divide by it.",
                          ge=2)
    clip: float = doc(0.2, "PPO's ratio clip.", gt=0.0)
    value_clip: float = doc(0.0, "Clip the critic's new values around the old ones by this (ppo); 0 disables.", ge=0.0)
    value_coef: float = doc(0.5, "Weight of the value loss (ppo).", ge=0.0)
    entropy_coef: float = doc(0.0, "Weight of the entropy bonus.", ge=0.0)
    lr: float = doc(3e-4, "Adam learning rate of the policy and the critic.", gt=0.0)
    epochs: int = doc(10, "Passes over each iteration's batch.", ge=1)
    minibatches: int = doc(4, "Minibatches per pass.", ge=1)
    max_grad_norm: float = doc(0.5, "Clip the gradient norm to this; 0 disables.", ge=0.0)
    critic_warmup_steps: int = doc(0, "Iterations at the start that train only the critic (ppo).", ge=0)


@dataclass
class EmbodiedRunnerConfig:
    """The run: length, seeding, validation and output."""

    output_dir: str = doc("results/${runner.experiment_name}", "Where the run writes (metrics, GIFs, checkpoint).")
    experiment_name: str = doc("rlinf-embodied", "Experiment name (MLflow experiment, default output dir).")
    max_steps: int = doc(100, "Iterations: each collects one episode per environment, then updates. 0: no "
                         "training, only the validation episodes (an evaluation of the fresh or checkpoint policy).",
                         ge=0)
    max_minutes: float = doc(0.0, "Stop after this many minutes of training (0: no limit).", ge=0.0)
    seed: int = doc(1, "Seed of the environments' starts, the action noise and the initial weights.")
    val_interval: int = doc(10, "Validate every N iterations (and at the end); 0: only at the end.", ge=0)
    val_episodes: int = doc(32, "Deterministic evaluation episodes per validation (rounded up to whole env batches).",
                            ge=1)
    gif: bool = doc(True, "Write a GIF of one evaluation episode at every validation (and log it to the trackers).")


@dataclass
class EmbodiedConfig:
    """The whole config of an embodied run."""

    flow: str = doc("embodied", "The flow: embodied.")
    env: EnvConfig = doc(EnvConfig(), "The simulator and its workers.")
    policy: PolicyConfig = doc(PolicyConfig(), "The policy and critic networks.")
    algorithm: EmbodiedAlgorithmConfig = doc(EmbodiedAlgorithmConfig(), "The RL algorithm.")
    runner: EmbodiedRunnerConfig = doc(EmbodiedRunnerConfig(), "Run length, output and seeding.")
    cluster: ClusterConfig = doc(factory=lambda: ClusterConfig(component_placement="env: 0, policy: 1"),
                                 help="Ray cluster and placement of the env and policy components.")
    tracking: TrackingConfig = doc(TrackingConfig(), "Experiment tracking.")
    plugins: PluginsConfig = doc(PluginsConfig(), "Extra plugin modules.")
