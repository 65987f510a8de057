"""A live progress bar (rich): step, reward, accuracy and ETA, on stderr."""

from __future__ import annotations

from typing import Any, Mapping

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class StepProgress:
    def __init__(self, total_steps: int, start_step: int = 0):
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]GRPO"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("reward {task.fields[reward]:>7}  acc {task.fields[accuracy]:>6}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.task = self.progress.add_task("steps", total=total_steps, completed=start_step, reward="-", accuracy="-")

    def __enter__(self) -> "StepProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def note(self, text: str) -> None:
        """A line printed above the live bar (validation results, a new best checkpoint)."""
        self.console.print(text, highlight=False, soft_wrap=True)  # a path stays on one line

    def update(self, step: int, metrics: Mapping[str, float]) -> None:
        reward = metrics.get("rollout/rewards")
        acc = metrics.get("rollout/accuracy")
        self.progress.update(
            self.task,
            completed=step,
            reward=f"{reward:.3f}" if reward is not None else "-",
            accuracy=f"{acc:.1%}" if acc is not None else "-",
        )
        if not self.console.is_terminal:
            # No live bar in logs (CI, nohup): one line per step instead.
            self.console.print(
                f"step {step}: reward {reward if reward is None else round(reward, 4)}, "
                f"accuracy {acc if acc is None else round(acc, 4)}",
                highlight=False,
            )
