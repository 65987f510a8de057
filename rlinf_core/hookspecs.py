"""The hooks a plugin can implement, in the style of simonw/llm.

Each ``register_*`` hook receives a ``register(name, cls)`` callable; call it once per
thing the plugin provides. ``register_commands`` receives the ``rlinf`` click group.
Built-in features (the core's trackers) use these same hooks.
"""

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("rlinf")
hookimpl = pluggy.HookimplMarker("rlinf")

Register = Callable[[str, type], None]


@hookspec
def register_algorithms(register: Register) -> None:
    """Register Algorithm subclasses (advantages and loss), e.g. register("grpo", GRPO)."""


@hookspec
def register_rollout_backends(register: Register) -> None:
    """Register RolloutBackend subclasses (generation), e.g. register("hf", HFRollout)."""


@hookspec
def register_train_backends(register: Register) -> None:
    """Register TrainBackend subclasses (log-probs, updates, checkpoints)."""


@hookspec
def register_tasks(register: Register) -> None:
    """Register Task subclasses (dataset, prompt format, evaluation)."""


@hookspec
def register_rewards(register: Register) -> None:
    """Register Reward subclasses (named scorers)."""


@hookspec
def register_trackers(register: Register) -> None:
    """Register Tracker subclasses (experiment tracking backends)."""


@hookspec
def register_preparers(register: Register) -> None:
    """Register Preparer subclasses (create a recipe's missing data/models; see runner.prepare)."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands to the ``rlinf`` CLI group."""
