"""GRPO (Shao et al. 2024, DeepSeekMath) with the RLinf/DAPO changes; the base of this package.

- Advantages: group-relative (see :mod:`rlinf_grpo.advantages`); optionally normalised a
  second time over the step's batch, token-weighted (RLinf's ``normalize_advantages``).
- Loss: token-level aggregation as in DAPO by default; clipped ratio with separate
  low/high epsilons; optional dual clip; optional KL to the initial policy (k1 or k3, k3
  with RLinf's clamps); optional entropy bonus, aggregated like the policy loss.
- Ratio early stop (RLinf): a minibatch whose token-mean importance ratio exceeds
  ``ratio_early_stop`` skips its optimizer step (``minibatch`` scope), or each micro-batch
  whose ratio exceeds it contributes zero loss while the optimizer still steps
  (``microbatch`` scope, RLinf's Megatron actor).

Deviations from the GRPO paper: no KL by default (``kl_beta: 0``), as RLinf and DAPO;
token-mean instead of the paper's sequence mean by default. Deviations from RLinf: the
micro-batch ratio is this rank's micro-batch, not averaged across data-parallel ranks (no
collective inside the loss); ``normalize_advantages`` is off by default (RLinf's math recipes
turn it on), so a uniform group keeps advantage 0 and costs no training compute.

Subclasses (DAPO, Dr. GRPO, GSPO, RLOO, REINFORCE++) override the hooks ``_rewards``,
``_group_advantages``, ``_post_advantages``, ``_policy_terms``, ``_loss_mask`` and ``_aggregate``.
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional

import torch

from rlinf_core import Algorithm, LossInputs, LossOutput, TrajectoryBatch
from rlinf_grpo.advantages import group_relative_advantages, token_weighted_normalize
from rlinf_grpo.config import GRPOConfig
from rlinf_grpo.loss import aggregate, clipped_policy_loss, kl_penalty


class GRPO(Algorithm):
    config_class = GRPOConfig
    config: GRPOConfig

    @property
    def needs_ref_logprobs(self) -> bool:
        return self.config.kl_beta > 0

    @property
    def needs_entropy_grad(self) -> bool:
        return self.config.entropy_coef > 0

    @property
    def _microbatch_early_stop(self) -> bool:
        return self.config.ratio_early_stop > 0 and self.config.ratio_early_stop_scope == "microbatch"

    @property
    def zero_advantage_is_inert(self) -> bool:
        # A=0 makes both clipped terms -0*ratio = 0 (dual clip too). A KL or entropy term would
        # remain, and a micro-batch early stop judges the ratio over every token of the
        # micro-batch, so a zero-advantage row would change what happens to the others.
        c = self.config
        return c.kl_beta == 0 and c.entropy_coef == 0 and not self._microbatch_early_stop

    @property
    def advantages_per_group(self) -> bool:
        # Group-relative advantages look only inside each group; the batch normalisation does not.
        return not self.config.normalize_advantages

    @property
    def loss_divides_by_num_tokens(self) -> Optional[bool]:
        # Every loss_agg but token-mean divides by sequences (and a constant), never by tokens.
        return self.config.loss_agg == "token-mean"

    # -- advantages -----------------------------------------------------------------------
    def compute_advantages(self, batch: TrajectoryBatch) -> torch.Tensor:
        if batch.rewards is None:
            raise ValueError(f"{type(self).__name__}.compute_advantages needs batch.rewards (score the batch first)")
        adv = self._group_advantages(self._rewards(batch), batch)
        if self.config.normalize_advantages:
            adv = token_weighted_normalize(adv, batch.response_ids.lengths)
        return self._post_advantages(adv, batch)

    def _rewards(self, batch: TrajectoryBatch) -> torch.Tensor:
        """The rewards the advantages are computed from (DAPO adds its length penalty)."""
        return batch.rewards.float()

    def _group_advantages(self, rewards: torch.Tensor, batch: TrajectoryBatch) -> torch.Tensor:
        return group_relative_advantages(rewards, batch.group_ids, self.config.adv_eps)

    def _post_advantages(self, advantages: torch.Tensor, batch: TrajectoryBatch) -> torch.Tensor:
        """Last changes to the advantages (DAPO zeroes dropped groups and masked samples)."""
        return advantages

    # -- loss -----------------------------------------------------------------------------
    def _policy_terms(self, inputs: LossInputs) -> Dict[str, torch.Tensor]:
        """Per-token policy loss, importance ratio and clip indicator (GSPO: per sequence, broadcast)."""
        c = self.config
        return clipped_policy_loss(
            inputs.logprobs, inputs.old_logprobs, inputs.advantages, c.clip_ratio_low, c.clip_ratio_high, c.dual_clip
        )

    def _loss_mask(self, inputs: LossInputs) -> Optional[torch.Tensor]:
        """[T] 0/1 weights of each token's loss, or None for all ones (DAPO masks truncated samples)."""
        return None

    def _aggregate(self, per_token: torch.Tensor, inputs: LossInputs) -> torch.Tensor:
        return aggregate(per_token, inputs.seq_lengths, self.config.loss_agg, inputs.num_tokens, inputs.num_seqs)

    def _regularisers(self, inputs: LossInputs, metrics: Dict[str, float]) -> Optional[torch.Tensor]:
        """Per-token KL penalty minus entropy bonus (None when both are off)."""
        c = self.config
        extra = None
        if c.kl_beta > 0:
            if inputs.ref_logprobs is None:
                raise ValueError("algorithm.kl_beta > 0 needs reference log-probs from the train backend")
            kl = kl_penalty(inputs.logprobs, inputs.ref_logprobs.to(inputs.logprobs.dtype), c.kl_estimator)
            metrics["train/kl"] = float(kl.detach().mean()) if kl.numel() else 0.0
            extra = c.kl_beta * kl
        if c.entropy_coef > 0:
            if inputs.entropy is None or (inputs.logprobs.requires_grad and not inputs.entropy.requires_grad):
                raise ValueError(
                    "algorithm.entropy_coef > 0 needs a differentiable LossInputs.entropy from the train backend "
                    "(it computes one when Algorithm.needs_entropy_grad is true)"
                )
            bonus = -c.entropy_coef * inputs.entropy
            extra = bonus if extra is None else extra + bonus
        return extra

    def compute_loss(self, inputs: LossInputs) -> LossOutput:
        parts = self._policy_terms(inputs)
        metrics: Dict[str, float] = {}
        per_token = parts["loss"]
        extra = self._regularisers(inputs, metrics)
        if extra is not None:
            per_token = per_token + extra
        mask = self._loss_mask(inputs)
        if mask is not None:
            per_token = per_token * mask
        loss = self._aggregate(per_token, inputs)
        ratio = parts["ratio"].detach()
        mean_ratio = float(ratio.mean()) if ratio.numel() else 1.0
        metrics.update(
            {
                "train/policy_loss": float(parts["loss"].detach().mean()) if ratio.numel() else 0.0,
                "train/ratio": mean_ratio,
                "train/ratio_max": float(ratio.max()) if ratio.numel() else 1.0,
                "train/clip_fraction": float(parts["clip_active"].mean()) if ratio.numel() else 0.0,
            }
        )
        if self._microbatch_early_stop:
            # RLinf multiplies the loss by 0: the graph (and DDP's gradient hooks) stay intact.
            stopped = mean_ratio > self.config.ratio_early_stop
            loss = loss * 0.0 if stopped else loss
            metrics["train/early_stopped_token_fraction"] = float(stopped)
        return LossOutput(loss=loss, metrics=metrics)

    def skip_update(self, minibatch_metrics: Mapping[str, float]) -> bool:
        limit = self.config.ratio_early_stop
        if limit <= 0 or self.config.ratio_early_stop_scope != "minibatch":
            return False
        return minibatch_metrics.get("train/ratio", 1.0) > limit
