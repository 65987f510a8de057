"""A test plugin module: GRPO that rejects the first update it is asked about (an early stop)."""

from rlinf_core import hookimpl
from rlinf_grpo import GRPO


class SkipFirstUpdate(GRPO):
    def skip_update(self, minibatch_metrics):
        self.asked = getattr(self, "asked", 0) + 1
        return self.asked == 1


@hookimpl
def register_algorithms(register):
    register("grpo_skip_first", SkipFirstUpdate)
