"""GRPO (Shao et al. 2024, DeepSeekMath) with the RLinf/DAPO changes.

- Advantages: group-relative, computed once (see :mod:`rlinf_grpo.advantages`).
- Loss: token-level aggregation as in DAPO by default; clipped ratio with separate
  low/high epsilons; optional dual clip; optional KL to the initial policy (k1 or k3).
- Minibatch early stop (RLinf): when a minibatch's token-mean importance ratio exceeds
  ``ratio_early_stop`` its update is skipped and counted.
Deviation from the GRPO paper: no KL by default (``kl_beta: 0``), as RLinf and DAPO.
"""

from __future__ import annotations

from typing import Mapping

import torch

from rlinf_core import Algorithm, LossInputs, LossOutput, TrajectoryBatch
from rlinf_grpo.advantages import group_relative_advantages
from rlinf_grpo.config import GRPOConfig
from rlinf_grpo.loss import aggregate, clipped_policy_loss, kl_penalty


class GRPO(Algorithm):
    config_class = GRPOConfig
    config: GRPOConfig

    @property
    def needs_ref_logprobs(self) -> bool:
        return self.config.kl_beta > 0

    @property
    def zero_advantage_is_inert(self) -> bool:
        # A=0 makes both clipped terms -0*ratio = 0 (dual clip too); only a KL term would remain.
        return self.config.kl_beta == 0

    def compute_advantages(self, batch: TrajectoryBatch) -> torch.Tensor:
        if batch.rewards is None:
            raise ValueError("GRPO.compute_advantages needs batch.rewards (score the batch first)")
        return group_relative_advantages(batch.rewards, batch.group_ids, self.config.adv_eps)

    def compute_loss(self, inputs: LossInputs) -> LossOutput:
        c = self.config
        parts = clipped_policy_loss(
            inputs.logprobs, inputs.old_logprobs, inputs.advantages, c.clip_ratio_low, c.clip_ratio_high, c.dual_clip
        )
        per_token = parts["loss"]
        metrics = {}
        if c.kl_beta > 0:
            if inputs.ref_logprobs is None:
                raise ValueError("algorithm.kl_beta > 0 needs reference log-probs from the train backend")
            kl = kl_penalty(inputs.logprobs, inputs.ref_logprobs, c.kl_estimator)
            metrics["train/kl"] = float(kl.detach().mean())
            per_token = per_token + c.kl_beta * kl
        loss = aggregate(per_token, inputs.seq_lengths, c.loss_agg, inputs.num_tokens, inputs.num_seqs)
        ratio = parts["ratio"].detach()
        metrics.update(
            {
                "train/policy_loss": float(parts["loss"].detach().mean()),
                "train/ratio": float(ratio.mean()),
                "train/ratio_max": float(ratio.max()),
                "train/clip_fraction": float(parts["clip_active"].mean()),
            }
        )
        return LossOutput(loss=loss, metrics=metrics)

    def skip_update(self, minibatch_metrics: Mapping[str, float]) -> bool:
        limit = self.config.ratio_early_stop
        return limit > 0 and minibatch_metrics.get("train/ratio", 1.0) > limit
