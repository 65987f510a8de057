"""The evaluation episode as a GIF: the simulator's own frames, or, where it cannot render, the
gripper's (or object's) path towards the goal drawn step by step."""

from __future__ import annotations

import io
from typing import Any, List

import numpy as np

from rlinf_core.files import atomic_file


def _plotted(recording: List[Any], size: int) -> List[np.ndarray]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = np.stack([r[1] for r in recording])
    goal = recording[-1][2]
    frames = []
    for t in range(len(recording)):
        fig, ax = plt.subplots(figsize=(size / 80, size / 80), dpi=80)
        ax.plot(path[: t + 1, 0], path[: t + 1, 1], "-", color="tab:blue")
        ax.plot(path[t, 0], path[t, 1], "o", color="tab:blue")
        ax.plot(goal[0], goal[1], "*", color="tab:red" if not recording[t][3] else "tab:green", markersize=12)
        span = np.concatenate([path[:, :2], goal[None, :2]])
        lo, hi = span.min(0) - 0.05, span.max(0) + 0.05
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_title(f"step {t} {'success' if recording[t][3] else ''}", fontsize=7)
        ax.tick_params(labelsize=5)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        buf.seek(0)
        from PIL import Image

        frames.append(np.asarray(Image.open(buf).convert("RGB")))
    return frames


def write_gif(recording: List[Any], path: str, size: int = 160, fps: int = 10) -> str:
    """Write the recorded episode to ``path`` (atomically); returns "frames" or "plot", what it shows."""
    from PIL import Image

    rendered = all(r[0] is not None for r in recording)
    frames = [r[0] for r in recording] if rendered else _plotted(recording, size)
    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    with atomic_file(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return "frames" if rendered else "plot"
