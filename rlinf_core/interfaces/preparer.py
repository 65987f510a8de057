"""Preparer interface: creates what a recipe needs (data, models) when it is missing.

A recipe names one with ``runner.prepare``; ``rlinf run`` calls it before starting any
worker, and ``rlinf prepare RECIPE`` runs it alone. Preparing must be idempotent: when
:meth:`is_prepared` is true, nothing is redone.

A preparer writes only under ``runner.cache_dir``. It declares the recipe paths it would
create with :meth:`outputs`; before anything runs, :meth:`check_given_paths` refuses any
declared path outside the cache that does not exist, because that path is the user's (a
typo, a file not made yet) and silently generating data or a model there would train on
something the user never asked for. Paths outside the cache that do exist are the user's
own data or model: use them, never overwrite them (:meth:`may_write` says which is which).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import Any, List, Tuple

from rlinf_core.errors import ConfigError


class Preparer(ABC):
    """Register a subclass with ``register_preparers``."""

    def __init__(self, config: Any):
        self.config = config  # the whole resolved run config

    @abstractmethod
    def is_prepared(self) -> bool:
        """Whether everything the recipe needs already exists."""

    @abstractmethod
    def prepare(self) -> None:
        """Create what is missing, writing atomically so an interrupted run leaves nothing half-made."""

    def outputs(self) -> List[Tuple[str, str]]:
        """``(config field, path)`` of each file or folder :meth:`prepare` would create.

        Override it so the core can check the paths first; the default declares none.
        """
        return []

    @property
    def cache_dir(self) -> str:
        """``runner.cache_dir`` as an absolute path with symlinks resolved."""
        return os.path.realpath(os.path.abspath(str(self.config.runner.cache_dir)))

    def may_write(self, path: str) -> bool:
        """Whether ``path`` lies under ``runner.cache_dir``, the only place a preparer writes."""
        cache = self.cache_dir
        target = os.path.realpath(os.path.abspath(str(path)))
        return os.path.commonpath([cache, target]) == cache

    def check_given_paths(self) -> None:
        """Refuse a declared output outside ``runner.cache_dir`` that does not exist (writes nothing)."""
        for field, path in self.outputs():
            if self.may_write(path) or os.path.exists(path):
                continue
            name = self.config.runner.prepare
            raise ConfigError(
                f"`{field}`={path!r} does not exist. The preparer `runner.prepare`={name!r} creates files only "
                f"under `runner.cache_dir` ({self.cache_dir!r}), never at a path you give, so nothing was written. "
                f"Fix the path, create the file first, or drop the override to use the recipe's prepared default."
            )
