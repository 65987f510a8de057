"""Tracker interface: where a run's params, metrics and artifacts go."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Mapping, Optional

from rlinf_core.config.schema import TrackingConfig


@dataclass
class ResumeInfo:
    """A resumed run: continue the tracker's run ``run_id`` (if it had one) after ``step``."""

    run_id: Optional[str]
    step: int


class Tracker(ABC):
    """An experiment tracking backend. Register with ``register_trackers``."""

    config_class: ClassVar[type] = TrackingConfig

    def __init__(self, config: TrackingConfig, output_dir: str):
        self.config = config
        self.output_dir = output_dir

    @abstractmethod
    def start(
        self, run_name: str, params: Mapping[str, Any], config_yaml: str, resume: Optional[ResumeInfo] = None
    ) -> None:
        """Open a run; log flattened params and the resolved config (as an artifact where possible).

        With ``resume``, continue the earlier run instead and drop anything it logged after
        ``resume.step`` where the backend allows it.
        """

    @abstractmethod
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log one step's scalars in one batch."""

    def log_artifact(self, path: str, artifact_path: Optional[str] = None) -> None:
        """Attach a file to the run (default: nothing)."""

    @abstractmethod
    def finish(self, status: str = "FINISHED") -> None:
        """Close the run with ``FINISHED`` or ``FAILED``/``KILLED``."""

    @property
    def run_id(self) -> Optional[str]:
        """The backend's run id, when it has one (used to continue a run on resume)."""
        return None

    def describe(self) -> Dict[str, str]:
        """Where the run can be looked at (paths, URIs), for the end-of-run message."""
        return {}
