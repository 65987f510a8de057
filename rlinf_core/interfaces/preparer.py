"""Preparer interface: creates what a recipe needs (data, models) when it is missing.

A recipe names one with ``runner.prepare``; ``rlinf run`` calls it before starting any
worker, and ``rlinf prepare RECIPE`` runs it alone. Preparing must be idempotent: when
:meth:`is_prepared` is true, nothing is redone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


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
