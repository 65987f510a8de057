"""The hooks a plugin can implement, in the style of simonw/llm.

One ``register_<kind>`` hook per plugin kind of :data:`rlinf_core.kinds.KINDS` (generated
here from that table, so a kind is declared once): it receives a ``register(name, cls)``
callable; call it once per thing the plugin provides. ``register_commands`` receives the
``rlinf`` click group. Built-in features (the core's trackers) use these same hooks.
"""

from typing import Any, Callable, Union

import pluggy

from rlinf_core.kinds import KINDS, PluginKind

hookspec = pluggy.HookspecMarker("rlinf")
hookimpl = pluggy.HookimplMarker("rlinf")

Register = Callable[[str, Union[type, str]], None]  # a class, or "module:Class" imported on first use


def _kind_hook(kind: PluginKind) -> Callable[[Register], None]:
    def hook(register: Register) -> None:  # pluggy reads only the signature; the docstring is set below
        return None

    hook.__name__ = hook.__qualname__ = kind.hook
    hook.__doc__ = kind.summary
    hook.__module__ = __name__
    return hookspec(hook)


for _kind in KINDS:
    globals()[_kind.hook] = _kind_hook(_kind)
del _kind


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands to the ``rlinf`` CLI group."""
