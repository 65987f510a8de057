"""A configurable probe algorithm for testing train backends without an algorithm plugin.

:class:`ClippedPolicyGradient` is a real :class:`~rlinf_core.interfaces.Algorithm`: the PPO
clipped policy-gradient loss (Schulman et al. 2017) on packed response tokens, token-mean or
sequence-mean aggregated, with switches for every optional hook a train backend must honour:

- ``kl_beta``: a k3 KL penalty to the reference policy in the loss (``needs_ref_logprobs``,
  metric ``train/kl``);
- ``entropy_coef``: an entropy bonus, differentiated (``needs_entropy_grad``);
- ``token_advantages``: per-token advantages computed once per step from the actor's old (and
  reference) log-probs, whitened over every rank's tokens through ``reduce_sum``
  (``needs_token_advantages``);
- ``ratio_early_stop``: drops a minibatch's update when its mean importance ratio exceeds the
  limit (``skip_update``);
- ``mask_truncated``: zero loss weight on the tokens of truncated responses
  (``LossInputs.truncated``);
- ``inert_zero_advantage``: whether it claims a zero advantage inert (``zero_advantage_is_inert``)
  when it is; false makes a backend train on such rows, the reference computation for a
  backend's shortcut.

Its loss metrics are ``train/policy_loss`` (mean per-token clipped loss), ``train/ratio``,
``train/ratio_max`` and ``train/clip_fraction``. With its defaults it drives the train-backend
contract's step (``check_train_backend``). It is for backends' tests, not for training:
an algorithm plugin (e.g. rlinf-grpo) is tested through its own package. Registered as
``probe_clipped_pg`` by this module's ``register_algorithms``, so a recipe can select it by
name with ``plugins.modules=[rlinf_core.testing.algorithms]`` (as actor workers resolve it).

Deviations from the GRPO family it resembles: one symmetric clip epsilon, no dual clip, no
clamps on the k3 estimate, advantages are the group-centred rewards (no std division), and the
token advantages are ``A - reward_kl_beta * (old - ref)`` per token, whitened, rather than
REINFORCE++'s returns to go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional

import torch

from rlinf_core.config import AlgorithmConfig, doc
from rlinf_core.data import TrajectoryBatch
from rlinf_core.hookspecs import hookimpl
from rlinf_core.interfaces import Algorithm, LossInputs, LossOutput
from rlinf_core.interfaces.algorithm import TokenAdvantageInputs, whiten

PROBE_NAME = "probe_clipped_pg"


@dataclass
class ClippedPolicyGradientConfig(AlgorithmConfig):
    name: str = doc(PROBE_NAME, "Algorithm plugin: the probe of rlinf_core.testing.algorithms.")
    loss_agg: str = doc(
        "token-mean",
        "token-mean: the sum over tokens / the minibatch's token count; seq-mean: the sum of each sequence's "
        "token mean / the minibatch's sequence count.",
        choices=("token-mean", "seq-mean"),
    )
    clip_ratio: float = doc(
        0.2, "PPO's clip: ratio within [1 - clip_ratio, 1 + clip_ratio] (Schulman et al. 2017).", ge=0.0, le=1.0
    )
    kl_beta: float = doc(
        0.0, "Weight of a k3 KL penalty to the reference policy in the loss (Schulman 2020); 0 disables.", ge=0.0
    )
    entropy_coef: float = doc(
        0.0, "Entropy bonus: loss -= entropy_coef * the aggregated token entropy; 0 disables.", ge=0.0
    )
    token_advantages: bool = doc(
        False, "Per-token advantages A - reward_kl_beta * (old - ref), whitened over every rank's tokens of the step."
    )
    reward_kl_beta: float = doc(
        0.0,
        "With token_advantages: the weight of the per-token KL (old to reference) subtracted from A; 0 disables.",
        ge=0.0,
    )
    ratio_early_stop: float = doc(
        0.0, "Skip a minibatch's optimizer step when its token-mean importance ratio exceeds this; 0 disables.", ge=0.0
    )
    mask_truncated: bool = doc(False, "Zero loss weight on every token of a truncated response.")
    inert_zero_advantage: bool = doc(
        True,
        "Claim zero_advantage_is_inert whenever it holds (no KL, entropy or token advantages); false never claims it, "
        "so a backend trains on zero-advantage rows (the reference computation for its shortcut).",
    )


def k3_kl(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> torch.Tensor:
    """Per-token KL(pi || pi_ref), the k3 estimate exp(r) - r - 1 with r = log pi_ref - log pi (>= 0)."""
    log_ratio = ref_logprobs.to(logprobs.dtype) - logprobs
    return torch.exp(log_ratio) - log_ratio - 1.0


class ClippedPolicyGradient(Algorithm):
    """The PPO clipped policy-gradient loss with switches for every optional algorithm hook
    (see the module docstring); a probe for train backends' tests."""

    config_class = ClippedPolicyGradientConfig
    config: ClippedPolicyGradientConfig

    def __init__(self, config: Optional[ClippedPolicyGradientConfig] = None, **fields: Any):
        """A config, or its fields: ``ClippedPolicyGradient(kl_beta=0.1)``."""
        if config is not None and fields:
            raise TypeError("pass a config or its fields, not both")
        super().__init__(config if config is not None else ClippedPolicyGradientConfig(**fields))

    @property
    def needs_ref_logprobs(self) -> bool:
        c = self.config
        return c.kl_beta > 0 or (c.token_advantages and c.reward_kl_beta > 0)

    @property
    def needs_entropy_grad(self) -> bool:
        return self.config.entropy_coef > 0

    @property
    def needs_token_advantages(self) -> bool:
        return self.config.token_advantages

    @property
    def zero_advantage_is_inert(self) -> bool:
        c = self.config
        return c.inert_zero_advantage and c.kl_beta == 0 and c.entropy_coef == 0 and not c.token_advantages

    @property
    def advantages_per_group(self) -> bool:
        return not self.config.token_advantages  # whitening looks across the step's batch

    @property
    def loss_divides_by_num_tokens(self) -> Optional[bool]:
        return self.config.loss_agg == "token-mean"

    def compute_advantages(self, batch: TrajectoryBatch) -> torch.Tensor:
        """Each reward minus its group's mean reward."""
        if batch.rewards is None:
            raise ValueError("ClippedPolicyGradient.compute_advantages needs batch.rewards")
        rewards = batch.rewards.float()
        adv = torch.zeros_like(rewards)
        for g in torch.unique(batch.group_ids):
            idx = batch.group_ids == g
            adv[idx] = rewards[idx] - rewards[idx].mean()
        return adv

    def token_advantages(self, inputs: TokenAdvantageInputs) -> torch.Tensor:
        """[T] the sequence advantage per token minus ``reward_kl_beta`` times the old-to-reference
        log-ratio, whitened over every rank's tokens."""
        lengths = inputs.seq_lengths.to(inputs.old_logprobs.device)
        adv = torch.repeat_interleave(inputs.advantages.to(torch.float64).to(lengths.device), lengths)
        beta = self.config.reward_kl_beta
        if beta > 0:
            if inputs.ref_logprobs is None:
                raise ValueError("reward_kl_beta > 0 needs reference log-probs from the train backend")
            adv = adv - beta * (inputs.old_logprobs.to(torch.float64) - inputs.ref_logprobs.to(torch.float64))
        return whiten(adv, inputs.reduce_sum).float()

    def _aggregate(self, per_token: torch.Tensor, inputs: LossInputs) -> torch.Tensor:
        if self.config.loss_agg == "token-mean":
            return per_token.sum() / inputs.num_tokens
        lengths = inputs.seq_lengths.to(per_token.device)
        index = torch.repeat_interleave(torch.arange(len(lengths), device=per_token.device), lengths)
        sums = torch.zeros(len(lengths), dtype=per_token.dtype, device=per_token.device).index_add(0, index, per_token)
        return (sums / lengths.clamp(min=1).to(per_token.dtype)).sum() / inputs.num_seqs

    def _regularisers(self, inputs: LossInputs, metrics: Dict[str, float]) -> Optional[torch.Tensor]:
        """Per-token KL penalty minus entropy bonus, or None when both are off."""
        c = self.config
        extra = None
        if c.kl_beta > 0:
            if inputs.ref_logprobs is None:
                raise ValueError("kl_beta > 0 needs reference log-probs from the train backend")
            kl = k3_kl(inputs.logprobs, inputs.ref_logprobs)
            metrics["train/kl"] = float(kl.detach().mean()) if kl.numel() else 0.0
            extra = c.kl_beta * kl
        if c.entropy_coef > 0:
            if inputs.entropy is None or (inputs.logprobs.requires_grad and not inputs.entropy.requires_grad):
                raise ValueError("entropy_coef > 0 needs a differentiable LossInputs.entropy from the train backend")
            bonus = -c.entropy_coef * inputs.entropy
            extra = bonus if extra is None else extra + bonus
        return extra

    def _truncation_mask(self, inputs: LossInputs) -> Optional[torch.Tensor]:
        if not self.config.mask_truncated:
            return None
        if inputs.truncated is None:
            raise ValueError("mask_truncated needs LossInputs.truncated from the train backend")
        keep = (~inputs.truncated.bool()).to(device=inputs.logprobs.device, dtype=inputs.logprobs.dtype)
        return torch.repeat_interleave(keep, inputs.seq_lengths.to(keep.device))

    def compute_loss(self, inputs: LossInputs) -> LossOutput:
        eps = self.config.clip_ratio
        ratio = torch.exp(inputs.logprobs - inputs.old_logprobs)
        unclipped = -inputs.advantages * ratio
        policy = torch.maximum(unclipped, -inputs.advantages * torch.clamp(ratio, 1.0 - eps, 1.0 + eps))
        metrics: Dict[str, float] = {}
        per_token = policy
        extra = self._regularisers(inputs, metrics)
        if extra is not None:
            per_token = per_token + extra
        mask = self._truncation_mask(inputs)
        if mask is not None:
            per_token = per_token * mask
        r = ratio.detach()
        empty = r.numel() == 0
        metrics.update({
            "train/policy_loss": 0.0 if empty else float(policy.detach().mean()),
            "train/ratio": 1.0 if empty else float(r.mean()),
            "train/ratio_max": 1.0 if empty else float(r.max()),
            "train/clip_fraction": 0.0 if empty else float((policy != unclipped).float().mean()),
        })
        return LossOutput(loss=self._aggregate(per_token, inputs), metrics=metrics)

    def skip_update(self, minibatch_metrics: Mapping[str, float]) -> bool:
        limit = self.config.ratio_early_stop
        return limit > 0 and minibatch_metrics.get("train/ratio", 1.0) > limit


@hookimpl
def register_algorithms(register: Callable[[str, object], None]) -> None:
    """Register :class:`ClippedPolicyGradient` as ``probe_clipped_pg``; load this module with
    ``plugins.modules=[rlinf_core.testing.algorithms]``."""
    register(PROBE_NAME, ClippedPolicyGradient)
