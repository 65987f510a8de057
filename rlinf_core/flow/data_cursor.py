"""The training data's position: epoch and batch index, resumable exactly.

Batch order is a pure function of (seed, epoch) (the task's ``batches``), so the position is
two integers; a digest of the epoch's prompt order is kept with it, so resuming against
different data or a different task version is caught instead of silently training on a
different order.
"""

from __future__ import annotations

import hashlib
from typing import Any, Dict, List, Optional

from rlinf_core.errors import ConfigError
from rlinf_core.interfaces.task import Example


class DataCursor:
    def __init__(self, task: Any, examples: List[Example], batch_size: int, seed: int, max_epochs: int):
        self.task = task
        self.examples = examples
        self.batch_size = batch_size
        self.seed = seed
        self.max_epochs = max_epochs
        self.epoch = 0
        self.index = 0  # batches of this epoch already handed out
        self._batches: Optional[List[List[Example]]] = None

    def _epoch_batches(self) -> List[List[Example]]:
        if self._batches is None:
            self._batches = list(self.task.batches(self.examples, self.batch_size, self.seed, self.epoch))
        return self._batches

    def digest(self) -> str:
        """A fingerprint of this epoch's prompt order."""
        h = hashlib.sha256()
        for batch in self._epoch_batches():
            for ex in batch:
                h.update(ex.uid.encode())
                h.update(b"\0")
        return h.hexdigest()[:16]

    def next(self) -> Optional[List[Example]]:
        """The next batch, or None once ``max_epochs`` passes are done."""
        while self.epoch < self.max_epochs:
            batches = self._epoch_batches()
            if self.index < len(batches):
                self.index += 1
                return batches[self.index - 1]
            self.epoch += 1
            self.index = 0
            self._batches = None
        return None

    def state_dict(self) -> Dict[str, Any]:
        return {"epoch": self.epoch, "index": self.index, "digest": self.digest() if self.epoch < self.max_epochs else ""}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.epoch, self.index, self._batches = int(state["epoch"]), int(state["index"]), None
        if state.get("digest") and self.epoch < self.max_epochs and self.digest() != state["digest"]:
            raise ConfigError(
                "The training data's order differs from the checkpoint's (different data files, task or seed). "
                "Resume with the same `data.*` and `runner.seed`, or start fresh with runner.resume=none."
            )
