"""Learning-rate schedule: linear warm-up, then constant, cosine or linear decay to min_lr_ratio."""

from __future__ import annotations

import math


def lr_factor(step: int, warmup: int, total: int, kind: str, min_ratio: float) -> float:
    """Multiplier of the peak lr after ``step`` optimizer steps."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if kind == "constant" or total <= warmup:
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if kind == "cosine":
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    if kind == "linear":
        return min_ratio + (1 - min_ratio) * (1 - progress)
    raise ValueError(f"unknown lr schedule {kind!r} (actor.optim.lr_scheduler)")
