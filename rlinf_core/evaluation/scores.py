"""Scores from K samples per problem.

- avg@K: the mean accuracy over the K samples of each problem, averaged over problems; the
  pass@1 estimate RLinf reports (K=32, temperature 0.6, top-p 0.95).
- pass@k: the unbiased estimator of Chen et al. 2021 (Codex, eq. 1): for a problem with n
  samples of which c are correct, 1 - C(n-c, k) / C(n, k), averaged over problems.
"""

from __future__ import annotations

from math import comb
from typing import Dict, List, Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n is correct."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def ks_for(samples: int) -> List[int]:
    """The k reported for K samples: powers of two up to K, and K itself."""
    ks = [1]
    while ks[-1] * 2 <= samples:
        ks.append(ks[-1] * 2)
    if ks[-1] != samples:
        ks.append(samples)
    return ks


def summarize(correct: Sequence[Sequence[bool]]) -> Dict[str, float]:
    """``avg@K`` and ``pass@k`` for every reported k, from per-problem lists of K verdicts."""
    if not correct:
        raise ValueError("no problems to score")
    n = len(correct[0])
    if any(len(c) != n for c in correct):
        raise ValueError("every problem needs the same number of samples")
    out = {f"avg@{n}": sum(sum(c) / n for c in correct) / len(correct)}
    for k in ks_for(n):
        out[f"pass@{k}"] = sum(pass_at_k(n, sum(c), k) for c in correct) / len(correct)
    return out
