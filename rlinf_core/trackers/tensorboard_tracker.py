"""TensorBoard tracker: event files under ``<output_dir>/tensorboard`` via torch's SummaryWriter."""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional

from rlinf_core.errors import PluginError
from rlinf_core.interfaces.tracker import ResumeInfo, Tracker


class TensorBoardTracker(Tracker):
    def __init__(self, config: Any, output_dir: str):
        super().__init__(config, output_dir)
        self.log_dir = os.path.join(output_dir, "tensorboard")
        self._writer: Any = None

    def start(
        self, run_name: str, params: Mapping[str, Any], config_yaml: str, resume: Optional[ResumeInfo] = None
    ) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise PluginError(
                "tracking.backends includes 'tensorboard', but it needs torch and tensorboard: "
                "pip install torch==2.13.0 tensorboard (or drop 'tensorboard' from tracking.backends)."
            ) from exc
        # purge_step drops events a crashed run logged after its last checkpoint.
        self._writer = SummaryWriter(log_dir=self.log_dir, purge_step=resume.step + 1 if resume else None)
        if resume is None:
            self._writer.add_text("config", "```yaml\n" + config_yaml + "\n```", 0)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        for key, value in metrics.items():
            self._writer.add_scalar(key, float(value), step)
        self._writer.flush()

    def finish(self, status: str = "FINISHED") -> None:
        if self._writer is not None:
            self._writer.close()

    def describe(self) -> Dict[str, str]:
        return {"tensorboard": f"tensorboard --logdir {self.log_dir}"}
