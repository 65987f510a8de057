"""``algorithm.*`` for ``ppo``: GRPO's loss fields, plus GAE and the critic's own settings."""

from __future__ import annotations

from dataclasses import dataclass

from rlinf_core.config import doc
from rlinf_grpo.config import GRPOConfig


@dataclass
class PPOConfig(GRPOConfig):
    gamma: float = doc(1.0, "GAE discount (1 for math: one outcome reward per response).", ge=0.0, le=1.0)
    lam: float = doc(1.0, "GAE lambda (1 for math: advantages are the return minus the value).", ge=0.0, le=1.0)
    value_clip: float = doc(0.2, "PPO's value clipping around the critic's values at sampling time; 0 disables.", ge=0.0)
    critic_lr: float = doc(1e-5, "The critic's AdamW learning rate (constant).", gt=0.0)
    critic_weight_decay: float = doc(0.0, "The critic's AdamW weight decay.", ge=0.0)
    critic_clip_grad: float = doc(1.0, "Clip the critic's gradient norm to this; 0 disables.", ge=0.0)
    critic_micro_batch_size: int = doc(16, "Sequences per critic forward/backward on one rank.", ge=1)
    critic_updates_per_step: int = doc(1, "Critic updates on each step's batch (each over all of it).", ge=1)
    critic_warmup_steps: int = doc(
        0, "Steps at the start that train only the critic (the policy's updates are skipped and counted).", ge=0
    )
    critic_model_path: str = doc("", "Checkpoint the critic starts from; empty: the policy's (actor.model.model_path).")
    ratio_early_stop: float = doc(0.0, "RLinf's ratio early stop; off for PPO (Schulman et al. 2017 has none). 0 disables.", ge=0.0)
