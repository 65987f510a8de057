"""The policy: a Gaussian MLP over the observation (state and goal), a critic MLP beside it, and a
running observation normaliser.

As in PPO's continuous-control setting (Schulman et al. 2017, §6.1): actions are the mean plus
``exp(log_std)`` times noise, ``log_std`` a learned vector independent of the state; tanh
hidden layers. Deviation: observations are normalised by running statistics that change only
between iterations (frozen while acting), so that a trajectory does not depend on how the
environment batch was split into pipeline stages.
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn

from rlinf_core.errors import ConfigError

OBS_CLIP = 5.0  # normalised observations beyond +-5 standard deviations are clipped


def mlp(sizes: Sequence[int], out_gain: float) -> nn.Sequential:
    layers: List[nn.Module] = []
    for i in range(len(sizes) - 1):
        linear = nn.Linear(sizes[i], sizes[i + 1])
        last = i == len(sizes) - 2
        nn.init.orthogonal_(linear.weight, out_gain if last else 2 ** 0.5)
        nn.init.zeros_(linear.bias)
        layers += [linear] if last else [linear, nn.Tanh()]
    return nn.Sequential(*layers)


class RunningNorm(nn.Module):
    """Mean and variance of every observation seen by :meth:`update` (Chan et al.'s parallel update)."""

    def __init__(self, size: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(size, dtype=torch.float64))
        self.register_buffer("var", torch.ones(size, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(1e-4, dtype=torch.float64))

    def update(self, x: torch.Tensor) -> None:
        x = x.double().reshape(-1, self.mean.numel())
        n, mean, var = x.shape[0], x.mean(0), x.var(0, unbiased=False)
        total = self.count + n
        delta = mean - self.mean
        self.var = (self.var * self.count + var * n + delta ** 2 * self.count * n / total) / total
        self.mean = self.mean + delta * n / total
        self.count = total

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x.double() - self.mean) / torch.sqrt(self.var + 1e-8)
        return z.clamp(-OBS_CLIP, OBS_CLIP).float()


class ActorCritic(nn.Module):
    """The policy's mean and log-std, and the critic's value, of normalised observations."""

    def __init__(self, obs_size: int, action_size: int, hidden: Sequence[int], init_log_std: float):
        super().__init__()
        self.norm = RunningNorm(obs_size)
        self.actor = mlp([obs_size, *hidden, action_size], out_gain=0.01)
        self.critic = mlp([obs_size, *hidden, 1], out_gain=1.0)
        self.log_std = nn.Parameter(torch.full((action_size,), float(init_log_std)))

    def distribution(self, obs: torch.Tensor) -> torch.distributions.Normal:
        mean = self.actor(self.norm(obs))
        return torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(self.norm(obs)).squeeze(-1)

    @torch.no_grad()
    def act(self, obs: torch.Tensor, noise: torch.Tensor, deterministic: bool) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(actions, their log-probs, the values) for ``obs`` with the given standard-normal ``noise``."""
        dist = self.distribution(obs)
        actions = dist.mean if deterministic else dist.mean + dist.stddev * noise
        return actions, dist.log_prob(actions).sum(-1), self.value(obs)


def load_checkpoint(model: ActorCritic, path: str, optimizer: Optional[torch.optim.Optimizer] = None) -> None:
    """Load a run's ``policy.pt`` into ``model`` (and ``optimizer``), or a ConfigError naming
    ``policy.checkpoint`` when the file is missing or its sizes do not fit this environment."""
    if not os.path.isfile(path):
        raise ConfigError(f"`policy.checkpoint` {path!r} is not a file (a policy.pt an embodied run wrote).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        saved = state["model"]
    except Exception as exc:
        raise ConfigError(f"`policy.checkpoint` {path!r} is not a policy.pt of an embodied run ({exc}).") from None
    want = (model.norm.mean.numel(), model.log_std.numel())
    got = (saved["norm.mean"].numel(), saved["log_std"].numel())
    if got != want:
        raise ConfigError(f"`policy.checkpoint` {path!r} acts on {got[0]} observations and {got[1]} actions, but "
                          f"`env.id` gives {want[0]} and {want[1]}: use a checkpoint trained on this environment.")
    try:
        model.load_state_dict(saved)
    except RuntimeError as exc:
        raise ConfigError(f"`policy.checkpoint` {path!r} does not fit `policy.hidden_sizes`="
                          f"{[m.out_features for m in model.actor if isinstance(m, nn.Linear)][:-1]}: {exc}") from None
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
