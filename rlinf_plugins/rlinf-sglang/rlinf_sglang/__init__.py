"""rlinf-sglang: the `sglang` rollout backend (SGLang's offline ``Engine``, CUDA GPUs)."""

from rlinf_sglang.config import SGLangRolloutConfig
from rlinf_sglang.rollout import SGLangRollout

__all__ = ["SGLangRollout", "SGLangRolloutConfig"]
