"""Package attributes imported on first use (PEP 562), for plugin packages whose classes pull in
torch or an engine: ``import rlinf_torch`` (which the plugin entry point triggers) stays cheap,
while ``from rlinf_torch import TorchTrainBackend`` works as before."""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Dict, List, Tuple


def lazy_exports(package: str, exports: Dict[str, str]) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each name in ``exports`` comes from its module
    (``{"GRPO": "rlinf_grpo.algorithm"}``) the first time it is read, then stays set."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> List[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
