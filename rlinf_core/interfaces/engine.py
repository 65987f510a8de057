"""What the rollout and train backends share: an engine of one rank of a component, built from
its config section, that can refuse a config before anything loads."""

from __future__ import annotations

from abc import ABC
from typing import Any, ClassVar


class RankEngine(ABC):
    """One rank's engine (``rank`` of ``world_size``) over its config section (``config_class``)."""

    config_class: ClassVar[type]

    def __init__(self, config: Any, rank: int = 0, world_size: int = 1):
        self.config = config
        self.rank = rank
        self.world_size = world_size

    @classmethod
    def check_config(cls, config: Any) -> None:
        """Check ``config`` without loading a model: the driver calls it before anything is
        written, so a setting the engine cannot run is a clean user error (raise
        :class:`~rlinf_core.errors.ConfigError` naming the field). Default: nothing to check."""
