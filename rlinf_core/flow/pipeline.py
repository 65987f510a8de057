"""Bounded staleness: the rollout of step t+1 runs while step t trains (``runner.max_staleness``).

RLinf's pipelined mode (Yu et al. 2025, arXiv:2509.15965, §4) and AReaL's asynchronous RL
overlap generation with training at the price of off-policy samples. Here, with
``runner.max_staleness: k >= 1``, the loop hands step t's batch to the actor and, while the
actor trains, samples and scores step t+1's batch with the weights the rollout still holds
(those that made step t's batch). Every sample carries the version of the weights that made
it (``TrajectoryBatch.policy_versions``: the number of updates behind them); staleness (the
actor's version minus the sample's) is logged as ``rollout/staleness_mean`` and ``_max``, and
stale samples use the rollout's log-probs as the behaviour policy in the ratio instead of
the actor's recomputation (which would be the newer policy).

Deviations and limits:

- The pipeline is one step deep, so samples are at most 1 step stale whatever k >= 1 is.
- It drains before every periodic checkpoint step (``runner.save_interval``) and the last
  step: a checkpoint never holds sampled-but-untrained data, so a run killed and resumed from
  it continues exactly as the uninterrupted run. A checkpoint written on a stop signal or for
  the best validation while a prefetch is pending records the data position before the
  prefetch (its prompts are sampled again, on-policy, after a resume).
- ``max_staleness: 0`` (the default) is the synchronous step, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

from rlinf_core.flow.sampling import SampledBatch


@dataclass
class _Pending:
    step: int
    sampled: SampledBatch
    cursor_before: Dict[str, Any]


class Prefetch:
    """At most one sampled batch for a future step, and the data position before it was drawn."""

    def __init__(self) -> None:
        self._pending: Optional[_Pending] = None

    def has(self, step: int) -> bool:
        return self._pending is not None and self._pending.step == step

    def take(self, step: int) -> Optional[SampledBatch]:
        """The batch sampled ahead for ``step`` (and forget it), or None."""
        if not self.has(step):
            return None
        assert self._pending is not None
        sampled, self._pending = self._pending.sampled, None
        return sampled

    def fill(self, step: int, cursor: Any, sample: Callable[[int, Any], SampledBatch]) -> bool:
        """Draw ``step``'s prompts and sample them now; False when the data has run out."""
        before = cursor.state_dict()
        prompts = cursor.next()
        if prompts is None:
            return False
        self._pending = _Pending(step, sample(step, prompts), before)
        return True

    def cursor_state(self, cursor: Any) -> Dict[str, Any]:
        """The data position a checkpoint records: before any batch sampled but not trained."""
        return self._pending.cursor_before if self._pending is not None else cursor.state_dict()
