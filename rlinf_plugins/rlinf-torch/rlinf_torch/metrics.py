"""Weighted metric sums of a train step: per micro-batch values in, minibatch and step means out.

Every metric is averaged weighted by tokens, except names ending in ``_max`` (maximum). Each
key has its own weight, so a metric may cover only some of the tokens (the entropy covers the
trained tokens, the loss metrics every token). Adding a metric with weight 0 only registers
its name: across ranks the sums travel as one tensor, so every rank must hold the same names.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Mapping, Optional, Tuple

import torch


class MetricSums:
    """Token-weighted sums (and maxima) of metrics, optionally reduced over ranks."""

    def __init__(self) -> None:
        self._sums: Dict[str, float] = {}
        self._weights: Dict[str, float] = {}
        self._maxima: Dict[str, float] = {}

    def add(self, metrics: Mapping[str, float], weight: float) -> None:
        for k, v in metrics.items():
            if k.endswith("_max"):
                self._maxima[k] = max(self._maxima.get(k, -math.inf), v if weight > 0 else -math.inf)
            else:
                self._sums[k] = self._sums.get(k, 0.0) + (v * weight if weight > 0 else 0.0)
                self._weights[k] = self._weights.get(k, 0.0) + weight

    def add_means(self, means: Mapping[str, float], weights: Mapping[str, float]) -> None:
        """Add a reduced minibatch (:meth:`reduce`'s output): each mean with its own weight (1
        where none is given), so a step's mean weighs every minibatch by its tokens."""
        for k, v in means.items():
            self.add({k: v}, weights.get(k, 1.0))

    def reduce(self, all_reduce: Optional[Callable[..., torch.Tensor]] = None) -> Tuple[Dict[str, float], Dict[str, float]]:
        """(means, weights) per name; ``all_reduce(tensor, op)`` sums/maxes over ranks when given."""
        keys = sorted(self._sums)
        sums = torch.tensor([self._sums[k] for k in keys] + [self._weights[k] for k in keys], dtype=torch.float64)
        mkeys = sorted(self._maxima)
        maxima = torch.tensor([self._maxima[k] for k in mkeys], dtype=torch.float64)
        if all_reduce is not None:
            sums = all_reduce(sums, torch.distributed.ReduceOp.SUM)
            if mkeys:
                maxima = all_reduce(maxima, torch.distributed.ReduceOp.MAX)
        n = len(keys)
        weights = {k: float(sums[n + i]) for i, k in enumerate(keys)}
        means = {k: float(sums[i]) / weights[k] if weights[k] > 0 else 0.0 for i, k in enumerate(keys)}
        means.update({k: float(maxima[i]) for i, k in enumerate(mkeys) if math.isfinite(float(maxima[i]))})
        return means, weights
