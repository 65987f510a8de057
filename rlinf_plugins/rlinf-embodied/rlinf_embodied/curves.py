"""The run's learning curve: validation success and training success per iteration (PNG)."""

from __future__ import annotations

from typing import Any, Dict, List

from rlinf_core.files import atomic_file


def success_axes(ax: Any, xlabel: str, ylabel: str, legend_size: int = 8) -> None:
    """Label a success-rate plot: rates from 0 to 1, a light grid, the legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=legend_size)


def write_curves(history: List[Dict[str, float]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    train = [(h["step"], h["env/success_rate"]) for h in history if "env/success_rate" in h]
    val = [(h["step"], h["val/success_rate"]) for h in history if "val/success_rate" in h]
    if train:
        ax.plot(*zip(*train), color="tab:blue", alpha=0.5, label="training episodes (sampled actions)")
    if val:
        ax.plot(*zip(*val), "o-", color="tab:red", label="validation (mean actions)")
    success_axes(ax, "iteration", "success rate")
    fig.tight_layout()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
