"""rlinf-hf: a rollout backend on Hugging Face transformers' generate()."""

from rlinf_hf.rollout import HFRollout, HFRolloutConfig

__all__ = ["HFRollout", "HFRolloutConfig"]
