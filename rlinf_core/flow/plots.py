"""The end-of-run PNG: validation, reward, response length and entropy curves over steps."""

from __future__ import annotations

import os
from typing import Dict, List


def plot_curves(history: List[Dict[str, float]], path: str) -> str:
    """Write a PNG of validation (every val/*/avg@K, step 0 included), rollout/rewards,
    rollout/response_length and train/entropy_loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("rollout/rewards", "mean reward"),
        ("rollout/response_length", "response length (tokens)"),
        ("train/entropy_loss", "entropy (nats/token)"),
    ]
    val_keys = sorted({k for row in history for k in row if k.startswith("val/") and "/avg@" in k})
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(17, 3.6))
    _plot_validation(axes[0], history, val_keys)
    for ax, (key, label) in zip(axes[1:], panels):
        points = [(row["step"], row[key]) for row in history if key in row]
        if points:
            steps, values = zip(*points)
            ax.plot(steps, values, lw=1, alpha=0.5)
            if len(values) >= 5:
                window = max(2, len(values) // 10)
                smooth = [sum(values[max(0, i - window + 1) : i + 1]) / len(values[max(0, i - window + 1) : i + 1]) for i in range(len(values))]
                ax.plot(steps, smooth, lw=2)
        ax.set_title(label)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _plot_validation(ax, history: List[Dict[str, float]], keys: List[str]) -> None:
    """One line per validation metric, a marker at every validation."""
    for key in keys:
        points = [(row["step"], row[key]) for row in history if key in row]
        steps, values = zip(*points)
        ax.plot(steps, values, marker="o", lw=1.5, label=key)
    if keys:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no validation data\n(data.val_data_paths)", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("validation")
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
