"""Sizes derived from the config, computed in one place and printed by ``rlinf config show``.

GRPO step anatomy (Shao et al. 2024; RLinf naming): ``data.rollout_batch_size`` prompts ×
``algorithm.group_size`` responses = rollouts per step; they are cut into minibatches of
``actor.global_batch_size`` sequences (one optimizer update each), for ``actor.num_epochs``
passes; each actor rank accumulates gradients over micro-batches of ``actor.micro_batch_size``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional

from rlinf_core.cluster.placement import ComponentPlacement
from rlinf_core.cluster.ray_cluster import placement_for_cluster
from rlinf_core.errors import ConfigError


@dataclass(frozen=True)
class DerivedSizes:
    prompts_per_step: int
    rollouts_per_step: int
    minibatches_per_epoch: int
    minibatches_per_step: int
    actor_ranks: int
    rollout_ranks: int
    sequences_per_actor_rank: int
    grad_accumulation_steps: int
    max_tokens_per_rollout: int
    placement_mode: str

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


def derive_sizes(cfg: Any, placement: Optional[ComponentPlacement] = None) -> DerivedSizes:
    """Compute and check the derived sizes; a size that does not divide names the fields involved."""
    placement = placement or placement_for_cluster(cfg.cluster)
    actor_ranks = len(placement.ranks("actor")) if "actor" in placement.components else 1
    rollout_ranks = len(placement.ranks("rollout")) if "rollout" in placement.components else 1
    prompts = cfg.data.rollout_batch_size
    rollouts = prompts * cfg.algorithm.group_size
    gbs = cfg.actor.global_batch_size
    mbs = cfg.actor.micro_batch_size
    if rollouts % gbs:
        raise ConfigError(
            f"`actor.global_batch_size`={gbs} must divide the rollouts per step, "
            f"`data.rollout_batch_size` x `algorithm.group_size` = {prompts} x {cfg.algorithm.group_size} = {rollouts}."
        )
    if gbs % actor_ranks:
        raise ConfigError(
            f"`actor.global_batch_size`={gbs} must be divisible by the {actor_ranks} actor ranks "
            f"placed by `cluster.component_placement`."
        )
    per_rank = gbs // actor_ranks
    if per_rank % mbs:
        raise ConfigError(
            f"Each of the {actor_ranks} actor rank(s) gets {per_rank} sequences per minibatch "
            f"(`actor.global_batch_size`={gbs} / {actor_ranks}), which `actor.micro_batch_size`={mbs} must divide."
        )
    if prompts % rollout_ranks:
        raise ConfigError(
            f"`data.rollout_batch_size`={prompts} must be divisible by the {rollout_ranks} rollout ranks."
        )
    per_epoch = rollouts // gbs
    return DerivedSizes(
        prompts_per_step=prompts,
        rollouts_per_step=rollouts,
        minibatches_per_epoch=per_epoch,
        minibatches_per_step=per_epoch * cfg.actor.num_epochs,
        actor_ranks=actor_ranks,
        rollout_ranks=rollout_ranks,
        sequences_per_actor_rank=per_rank,
        grad_accumulation_steps=per_rank // mbs,
        max_tokens_per_rollout=cfg.data.max_prompt_length + cfg.rollout.max_new_tokens,
        placement_mode=placement.mode,
    )
