"""GRPO's config section; each field's help names the paper behind it."""

from dataclasses import dataclass

from rlinf_core.config import AlgorithmConfig, doc


@dataclass
class GRPOConfig(AlgorithmConfig):
    adv_eps: float = doc(
        1e-6, "Added to the group's reward std in (r - mean) / (std + eps) (Shao et al. 2024, DeepSeekMath).", gt=0.0
    )
    loss_agg: str = doc(
        "token-mean",
        "Loss aggregation: token-mean averages over every response token of the minibatch (DAPO, Yu et al. 2025); "
        "seq-mean averages each sequence's token mean (original GRPO, Shao et al. 2024).",
        choices=("token-mean", "seq-mean"),
    )
    clip_ratio_low: float = doc(
        0.2, "Lower clip: ratio >= 1 - clip_ratio_low (PPO, Schulman et al. 2017).", ge=0.0, le=1.0
    )
    clip_ratio_high: float = doc(
        0.2, "Upper clip: ratio <= 1 + clip_ratio_high; raise it for DAPO's clip-higher (Yu et al. 2025).", ge=0.0
    )
    dual_clip: float = doc(
        0.0,
        "Dual-clip constant c > 1 bounding the loss of negative-advantage tokens by c*|A| "
        "(Ye et al. 2020, 'Mastering Complex Control in MOBA Games'); 0 disables.",
        ge=0.0,
    )
    ratio_early_stop: float = doc(
        5.0,
        "Skip (and count) a minibatch's update when its mean importance ratio exceeds this (RLinf's value, "
        "arXiv:2509.15965); 0 disables.",
        ge=0.0,
    )
    kl_beta: float = doc(
        0.0, "Weight of a KL penalty to the initial policy in the loss (Shao et al. 2024); 0 disables.", ge=0.0
    )
    kl_estimator: str = doc(
        "k3",
        "KL estimator: k1 = log p - log p_ref; k3 = exp(log p_ref - log p) - (log p_ref - log p) - 1, "
        "unbiased and non-negative (Schulman 2020, 'Approximating KL divergence').",
        choices=("k1", "k3"),
    )
