"""JSONL tracker: one JSON object per step in ``<output_dir>/metrics.jsonl`` (easy to grep and plot)."""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any, Dict, Mapping, Optional

from rlinf_core.interfaces.tracker import ResumeInfo, Tracker


class JsonlTracker(Tracker):
    def __init__(self, config: Any, output_dir: str):
        super().__init__(config, output_dir)
        self.path = os.path.join(output_dir, "metrics.jsonl")
        self._file: Any = None

    def start(
        self, run_name: str, params: Mapping[str, Any], config_yaml: str, resume: Optional[ResumeInfo] = None
    ) -> None:
        os.makedirs(self.output_dir, exist_ok=True)
        if resume is not None and os.path.exists(self.path):
            # Steps logged after the checkpoint (before a crash) are replayed now: drop them.
            with open(self.path, encoding="utf-8") as fh:
                keep = [line for line in fh if line.strip() and json.loads(line).get("step", 0) <= resume.step]
            with open(self.path, "w", encoding="utf-8") as fh:
                fh.writelines(keep)
        self._file = open(self.path, "a", encoding="utf-8")

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        # JSON has no NaN/Inf; write them as strings so a bad step stays visible, not dropped.
        row: Dict[str, Any] = {"step": step, "time": time.time()}
        for k, v in metrics.items():
            v = float(v)
            row[k] = v if math.isfinite(v) else str(v)
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()

    def finish(self, status: str = "FINISHED") -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def describe(self) -> Dict[str, str]:
        return {"metrics": self.path}
