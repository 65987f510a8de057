"""Generalised advantage estimation and the critic's clipped value loss, over packed response tokens.

Follows Schulman et al. 2016 (GAE, arXiv:1506.02438) and PPO (Schulman et al. 2017,
arXiv:1707.06347) as RLHF implementations apply them to language models (Ouyang et al. 2022;
verl, OpenRLHF): each response token is an action, the state before it is scored by the critic,
the episode ends after the last token (its next value is 0), and the outcome reward arrives on
the last token:

    delta_t = r_t + gamma * V_{t+1} - V_t,    A_t = delta_t + gamma * lambda * A_{t+1},    R_t = A_t + V_t.

With gamma = lambda = 1 (the math default) A_t is the outcome reward minus V_t. The value loss
is PPO's clipped one (as in OpenAI baselines' ppo2): 0.5 * max((V - R)^2, (V_old + clip(V -
V_old, -eps, eps) - R)^2), averaged over tokens.
"""

from __future__ import annotations

from typing import Callable, Tuple

import torch


def gae(token_rewards: torch.Tensor, values: torch.Tensor, seq_lengths: torch.Tensor, gamma: float, lam: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(advantages, returns)``, each ``[T]``, for sequences of ``seq_lengths`` tokens packed one
    after another in ``token_rewards`` and ``values`` (fp64 inside)."""
    r, v = token_rewards.to(torch.float64), values.to(torch.float64)
    advantages = torch.zeros_like(r)
    start = 0
    for length in seq_lengths.tolist():
        running, next_value = 0.0, 0.0
        for t in range(start + length - 1, start - 1, -1):  # reverse scan; sequences are short enough
            delta = r[t] + gamma * next_value - v[t]
            running = delta + gamma * lam * running
            advantages[t] = running
            next_value = v[t]
        start += length
    return advantages, advantages + v


def clipped_value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, clip: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-token clipped value loss ``[T]`` and whether the clipped term was the larger ``[T]``
    (``clip`` <= 0: unclipped)."""
    plain = (values - returns).square()
    if clip <= 0:
        return 0.5 * plain, torch.zeros_like(plain, dtype=torch.bool)
    clipped_values = old_values + (values - old_values).clamp(-clip, clip)
    clipped = (clipped_values - returns).square()
    return 0.5 * torch.maximum(plain, clipped), clipped > plain


def explained_variance(values: torch.Tensor, returns: torch.Tensor, reduce_sum: Callable[[torch.Tensor], torch.Tensor] = lambda t: t) -> float:
    """1 - Var(R - V) / Var(R) over every token of every rank (``reduce_sum`` sums over ranks): 1
    is a perfect critic, 0 no better than a constant, NaN when the returns do not vary."""
    r, d = returns.to(torch.float64), (returns - values).to(torch.float64)
    s = reduce_sum(torch.stack([r.new_tensor(float(r.numel())), r.sum(), r.square().sum(), d.sum(), d.square().sum()]))
    n = float(s[0])
    if n == 0:
        return float("nan")
    var_r = float(s[2]) / n - (float(s[1]) / n) ** 2
    var_d = float(s[4]) / n - (float(s[3]) / n) ** 2
    return 1.0 - var_d / var_r if var_r > 1e-12 else float("nan")
