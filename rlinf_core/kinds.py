"""Every plugin kind, declared once.

A kind is a row of :data:`KINDS`: its registry name, the interface its plugins subclass, the
hook that registers them (``register_<name>``, generated in :mod:`rlinf_core.hookspecs` with
the row's summary as docstring), the config section its plugins' ``config_class`` extends and
the field that names the plugin there, the contract check in :mod:`rlinf_core.testing`, and
its section of the plugin guide. The registry, the config loader, the contract suite, the CLI
and the docs tests all read this table; adding a kind is one row here, one interface, one
contract check (if it has a section) and one section in docs/plugins.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from rlinf_core.interfaces import Algorithm, Flow, Preparer, Reward, RolloutBackend, Task, Tracker, TrainBackend


@dataclass(frozen=True)
class PluginKind:
    name: str  # registry key, e.g. "rollout_backends"
    interface: type
    summary: str  # the hook's docstring
    section: Optional[str] = None  # config section the plugin's config_class extends, e.g. "rollout"
    selector: Optional[str] = None  # field of that section naming the plugin, e.g. "backend"
    contract: Optional[str] = None  # the check in rlinf_core.testing, e.g. "check_rollout_backend"

    @property
    def hook(self) -> str:
        return f"register_{self.name}"

    @property
    def label(self) -> str:
        """One plugin of the kind in prose: "rollout backend"."""
        return self.name[:-1].replace("_", " ")

    @property
    def signature(self) -> str:
        return f"{self.hook}(register: Register) -> None"

    @property
    def docs(self) -> str:
        return f"docs/plugins.md#{self.hook}"


KINDS: Tuple[PluginKind, ...] = (
    PluginKind("algorithms", Algorithm, 'Register Algorithm subclasses (advantages and loss), e.g. register("grpo", GRPO).',
               "algorithm", "name", "check_algorithm"),
    PluginKind("rollout_backends", RolloutBackend,
               'Register RolloutBackend subclasses (generation), e.g. register("hf", HFRollout).',
               "rollout", "backend", "check_rollout_backend"),
    PluginKind("train_backends", TrainBackend, "Register TrainBackend subclasses (log-probs, updates, checkpoints).",
               "actor", "backend", "check_train_backend"),
    PluginKind("tasks", Task, "Register Task subclasses (dataset, prompt format, evaluation).", "data", "task", "check_task"),
    PluginKind("rewards", Reward, "Register Reward subclasses (named scorers).", "reward", "name", "check_reward"),
    PluginKind("trackers", Tracker, "Register Tracker subclasses (experiment tracking backends)."),
    PluginKind("preparers", Preparer, "Register Preparer subclasses (create a recipe's missing data/models; see runner.prepare)."),
    PluginKind("flows", Flow, "Register Flow subclasses (a scenario's whole run, picked by a recipe's top-level `flow`).",
               contract="check_flow"),
)

KINDS_BY_NAME: Dict[str, PluginKind] = {kind.name: kind for kind in KINDS}

# section -> (kind, selector): which plugin decides each pluggable config section's schema.
PLUGGABLE_SECTIONS: Dict[str, Tuple[str, str]] = {
    kind.section: (kind.name, kind.selector) for kind in KINDS if kind.section and kind.selector
}
