"""Advantages over environment time steps: GAE for PPO, episode-level group advantages for GRPO.

GAE follows Schulman et al. 2016 (arXiv:1506.02438), eq. 16, over [T, N] arrays (time, env):
``delta_t = r_t + gamma * V(s_{t+1}) * (1 - terminated_t) - V(s_t)`` and
``A_t = delta_t + gamma * lam * (1 - terminated_t) * A_{t+1}``. The last step bootstraps from the
value of the state the horizon cut the episode at (a time limit is not a terminal state). Steps
after an environment's termination are masked (``alive``) and carry no advantage.

GRPO's episode-level advantage (RLinf's embodied GRPO, arXiv:2509.15965 §5; Shao et al. 2024's
outcome supervision): the episodes of a group start from one state; each episode's return
minus its group's mean, divided by the group's standard deviation (+1e-6), given to every one
of its steps.
"""

from __future__ import annotations

from typing import Tuple

import torch


def alive_mask(terminated: torch.Tensor) -> torch.Tensor:
    """[T, N] 1 where the step happened before or at the episode's termination, 0 after it."""
    ended_before = torch.cumsum(terminated.float(), 0) - terminated.float()
    return (ended_before == 0).float()


def gae(rewards: torch.Tensor, values: torch.Tensor, terminated: torch.Tensor, gamma: float,
        lam: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """(advantages, returns) [T, N] from rewards [T, N], values [T + 1, N] (the last row: the
    bootstrap value) and terminated [T, N]; returns are advantages + values."""
    steps = rewards.shape[0]
    if values.shape[0] != steps + 1:
        raise ValueError(f"values need T + 1 = {steps + 1} rows (the bootstrap last), got {values.shape[0]}")
    alive = alive_mask(terminated)
    going = 1.0 - terminated.float()
    adv = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(steps)):
        delta = rewards[t] + gamma * values[t + 1] * going[t] - values[t]
        running = delta + gamma * lam * going[t] * running
        adv[t] = running
    adv = adv * alive
    return adv, (adv + values[:-1]) * alive


def episode_returns(rewards: torch.Tensor, terminated: torch.Tensor) -> torch.Tensor:
    """[N] each episode's undiscounted return (steps after its termination left out)."""
    return (rewards * alive_mask(terminated)).sum(0)


def group_advantages(rewards: torch.Tensor, terminated: torch.Tensor, group_size: int) -> torch.Tensor:
    """[T, N] every step of an episode gets its return's standardised score in its group (the
    consecutive runs of ``group_size`` environments share a start)."""
    n = rewards.shape[1]
    if n % group_size:
        raise ValueError(f"{n} episodes do not split into groups of {group_size}")
    returns = episode_returns(rewards, terminated).view(-1, group_size)
    scores = (returns - returns.mean(1, keepdim=True)) / (returns.std(1, keepdim=True) + 1e-6)
    return scores.reshape(1, n).expand_as(rewards) * alive_mask(terminated)
