"""GRPO's config section; each field's help names the paper behind it.

The other algorithms of this package subclass :class:`GRPOConfig` in their own modules,
changing defaults to their papers' values and adding their own fields.
"""

from dataclasses import dataclass
from typing import Any

from rlinf_core.config import AlgorithmConfig, doc
from rlinf_core.errors import ConfigError

# Interpolated from the rollout section so that length-aware options follow the real limit.
MAX_RESPONSE_LENGTH = "${rollout.max_new_tokens}"


def require_int(value: Any, field: str) -> int:
    """``value`` as an int; an unresolved interpolation (a config built without load_config) is a clear error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"`{field}` is {value!r}: load the config with rlinf_core.config.load_config (it resolves "
            f"{MAX_RESPONSE_LENGTH}) or set an integer"
        )
    return value


def ratio_early_stop_off(note: str) -> Any:
    """The ``ratio_early_stop`` field of an algorithm whose paper has no such stop: off by default,
    still settable. ``note`` follows RLinf's name in the help, e.g. "; off for RLOO (... has none)"."""
    return doc(0.0, f"RLinf's ratio early stop (arXiv:2509.15965){note}. 0 disables.", ge=0.0)


@dataclass
class GRPOConfig(AlgorithmConfig):
    adv_eps: float = doc(
        1e-6, "Added to the group's reward std in (r - mean) / (std + eps) (Shao et al. 2024, DeepSeekMath).", gt=0.0
    )
    normalize_advantages: bool = doc(
        False,
        "After the group advantages, normalise them over every response token of the step's batch (token-weighted "
        "mean, population std, eps 1e-5), as RLinf's normalize_advantages (arXiv:2509.15965; true in its math "
        "recipes). It turns the zero advantage of a uniform group into -mean/std, so those groups train too.",
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
        "Drop updates whose mean importance ratio exceeds this (RLinf's early_stop_imp_ratio, arXiv:2509.15965); "
        "0 disables. What is dropped is chosen by ratio_early_stop_scope.",
        ge=0.0,
    )
    ratio_early_stop_scope: str = doc(
        "minibatch",
        "minibatch: skip (and count) the optimizer step of a minibatch whose token-mean ratio exceeds "
        "ratio_early_stop. microbatch: zero the loss of each micro-batch whose token-mean ratio exceeds it and still "
        "step the optimizer on the rest, as RLinf's Megatron actor does (arXiv:2509.15965; there the micro-batch "
        "ratio is averaged across data-parallel ranks, here it is this rank's micro-batch).",
        choices=("minibatch", "microbatch"),
    )
    kl_beta: float = doc(
        0.0, "Weight of a KL penalty to the initial policy in the loss (Shao et al. 2024); 0 disables.", ge=0.0
    )
    kl_estimator: str = doc(
        "k3",
        "KL estimator: k1 = log p - log p_ref; k3 = exp(log p_ref - log p) - (log p_ref - log p) - 1, "
        "unbiased and non-negative (Schulman 2020, 'Approximating KL divergence'), with RLinf's clamps "
        "(log-ratio to [-20, 20], k3 to [-10, 10]).",
        choices=("k1", "k3"),
    )
    entropy_coef: float = doc(
        0.0,
        "Entropy bonus: loss -= entropy_coef * the minibatch's aggregated token entropy (PPO, Schulman et al. 2017; "
        "RLinf's entropy_bonus). Needs a differentiable entropy, which costs the softmax's memory; 0 disables.",
        ge=0.0,
    )
