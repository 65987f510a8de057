"""Saving and restoring a process's random number generators (Python, NumPy, torch CPU), for
exact resumption: the driver's and every train backend's go through these two functions."""

from __future__ import annotations

import random
from typing import Any, Dict


def rng_state() -> Dict[str, Any]:
    """The Python, NumPy and torch (CPU) generator states of this process."""
    import numpy as np
    import torch

    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Put back what :func:`rng_state` returned."""
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
