"""Exceptions the core raises.

Every error a user can cause (a bad config value, an unknown plugin name, a broken
plugin) derives from :class:`RlinfUserError`. The CLI prints those as one paragraph and
exits with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from typing import Iterable


class RlinfUserError(Exception):
    """An error the user can fix: the message says what is wrong and how to fix it."""

    exit_code = 2


class ConfigError(RlinfUserError):
    """A config value, key or file is invalid; the message names the dotted field."""


class PluginError(RlinfUserError):
    """A plugin is broken: duplicate names, misspelled hooks, import failures."""


class UnknownPluginError(PluginError):
    """A config or call named a plugin that is not registered."""


class PlacementError(RlinfUserError):
    """``cluster.component_placement`` cannot be parsed or does not fit the cluster."""


class WorkerError(RuntimeError):
    """A remote rank raised or died; names the group, rank, method and the remote traceback."""

    def __init__(self, group: str, rank: int, method: str, cause: str, remote_traceback: str = ""):
        self.group = group
        self.rank = rank
        self.method = method
        self.cause = cause
        self.remote_traceback = remote_traceback
        msg = f"worker group '{group}' rank {rank} failed in {method}(): {cause}"
        if remote_traceback:
            msg += f"\n--- remote traceback (group '{group}', rank {rank}) ---\n{remote_traceback}"
        super().__init__(msg)


class ChannelTimeout(TimeoutError):
    """A channel ``get``/``put`` waited longer than its timeout."""


class ChannelClosed(RuntimeError):
    """The channel was closed and holds no more items."""


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most similar to ``name`` (for "did you mean" hints), or None."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.5)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ``" Did you mean 'x'?"`` suffix, or an empty string when nothing is close."""
    match = closest(name, candidates)
    return f" Did you mean '{match}'?" if match else ""
