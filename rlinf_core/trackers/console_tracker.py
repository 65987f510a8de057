"""Console tracker: prints a step's metrics as one line every ``tracking.console_interval`` steps."""

from __future__ import annotations

import sys
from typing import Any, Mapping, Optional

from rlinf_core.interfaces.tracker import ResumeInfo, Tracker


class ConsoleTracker(Tracker):
    def start(
        self, run_name: str, params: Mapping[str, Any], config_yaml: str, resume: Optional[ResumeInfo] = None
    ) -> None:
        where = f" (resumed after step {resume.step})" if resume else ""
        print(f"[rlinf] run {run_name}{where}", file=sys.stderr)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        if step % self.config.console_interval:
            return
        parts = " | ".join(f"{k} {float(v):.4g}" for k, v in sorted(metrics.items()))
        print(f"[step {step}] {parts}", file=sys.stderr)

    def finish(self, status: str = "FINISHED") -> None:
        print(f"[rlinf] run {status.lower()}", file=sys.stderr)
