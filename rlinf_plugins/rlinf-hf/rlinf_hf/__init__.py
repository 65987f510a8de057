"""rlinf-hf: a rollout backend on Hugging Face transformers' generate()."""

from typing import TYPE_CHECKING

from rlinf_core.lazy import lazy_exports

if TYPE_CHECKING:  # for type checkers and IDEs; at run time each name is imported on first use
    from rlinf_hf.rollout import HFRollout, HFRolloutConfig

__getattr__, __dir__ = lazy_exports(__name__, {
    "HFRollout": "rlinf_hf.rollout",
    "HFRolloutConfig": "rlinf_hf.rollout",
})

__all__ = ["HFRollout", "HFRolloutConfig"]
