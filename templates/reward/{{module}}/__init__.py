"""{{package}}: the `{{name}}` reward for rlinf.

Rendered by `rlinf new-task {{name}} --kind reward`. The example scores the last
``\\boxed{}`` answer of a response by exact match, with a small format bonus; replace the
scoring in `reward.py` with your own.
"""

__version__ = "0.1.0"
