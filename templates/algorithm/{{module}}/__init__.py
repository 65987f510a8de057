"""{{package}}: the `{{name}}` algorithm for rlinf.

Rendered by `rlinf new-task {{name}} --kind algorithm`. The example is REINFORCE with a
per-group baseline (leave-one-out as in RLOO, or the group mean as in Dr. GRPO); replace the
advantages and the loss in `algorithm.py` with your own.
"""

__version__ = "0.1.0"
