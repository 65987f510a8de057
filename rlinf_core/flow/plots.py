"""The end-of-run PNG: reward, response length and entropy curves over steps."""

from __future__ import annotations

import os
from typing import Dict, List


def plot_curves(history: List[Dict[str, float]], path: str) -> str:
    """Write a 3-panel PNG of rollout/rewards, rollout/response_length and train/entropy_loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("rollout/rewards", "mean reward"),
        ("rollout/response_length", "response length (tokens)"),
        ("train/entropy_loss", "entropy (nats/token)"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 3.6))
    for ax, (key, label) in zip(axes, panels):
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
