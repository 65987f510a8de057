"""{{package}}: the `{{name}}` task and reward for rlinf.

Rendered by `rlinf new-task {{name}}`. The example task asks a model to reverse the
letters of a word; replace the data in `data/train.jsonl` and the prompt in `task.py`,
and the scoring in `reward.py`, with your own.
"""

__version__ = "0.1.0"
