"""The rlinf entry point of {{package}} (group `rlinf` in pyproject.toml).

rlinf imports this module in every process that needs a plugin (the driver and each Ray
worker) and calls its hooks; each hook registers classes by name. Register classes only:
no work at import time, nothing that must be pickled.
"""

from typing import Callable

from rlinf_core import hookimpl

from {{module}}.reward import {{class_name}}Reward


@hookimpl
def register_rewards(register: Callable[[str, type], None]) -> None:
    register("{{name}}", {{class_name}}Reward)
