"""A test plugin module: rlinf_core.testing's probe algorithm (with its defaults, the loss and
numbers of GRPO's defaults) that rejects the first update it is asked about, as an early stop would."""

from rlinf_core import hookimpl
from rlinf_core.testing.algorithms import ClippedPolicyGradient


class SkipFirstUpdate(ClippedPolicyGradient):
    def skip_update(self, minibatch_metrics):
        self.asked = getattr(self, "asked", 0) + 1
        return self.asked == 1


@hookimpl
def register_algorithms(register):
    register("probe_skip_first", SkipFirstUpdate)
