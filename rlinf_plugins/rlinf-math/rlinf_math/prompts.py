"""Prompt formats for evaluation.

- ``r1-math``: DeepSeek-R1-Distill's math format, as RLinf evaluates AIME
  (``<｜User｜>{problem}\\nPlease reason step by step, and put your final answer within \\boxed{}.<｜Assistant｜><think>\\n``).
- ``r1-gpqa``: the same for multiple choice, choices listed as ``A) ...`` and the letter asked in ``\\boxed{}``.
- ``chat``: the tokenizer's own chat template with the problem (and choices) as the user turn.
- ``raw``: the problem text as is.
"""

from __future__ import annotations

from typing import Any, List, Optional

from rlinf_core.errors import ConfigError

FORMATS = ("r1-math", "r1-gpqa", "chat", "raw")
_R1_MATH_SUFFIX = "\nPlease reason step by step, and put your final answer within \\boxed{}."
_R1_GPQA_SUFFIX = "\nPlease reason step by step, and put the letter of your final answer within \\boxed{}."


def _choices_block(choices: List[str]) -> str:
    return "\n".join(f"{chr(65 + i)}) {c}" for i, c in enumerate(choices))


def render(fmt: str, text: str, tokenizer: Any, choices: Optional[List[str]] = None) -> str:
    """The prompt string for one problem (with this sample's choice order for multiple choice)."""
    body = text if choices is None else f"{text}\n\n{_choices_block(choices)}"
    if fmt == "r1-math":
        return f"<｜begin▁of▁sentence｜><｜User｜>{body}{_R1_MATH_SUFFIX}<｜Assistant｜><think>\n"
    if fmt == "r1-gpqa":
        return f"<｜begin▁of▁sentence｜><｜User｜>{body}{_R1_GPQA_SUFFIX}<｜Assistant｜><think>\n"
    if fmt == "chat":
        if getattr(tokenizer, "chat_template", None) is None:
            raise ConfigError("--prompt-format chat needs a tokenizer with a chat template; this one has none.")
        return tokenizer.apply_chat_template([{"role": "user", "content": body}], add_generation_prompt=True, tokenize=False)
    if fmt == "raw":
        return body
    raise ConfigError(f"Unknown prompt format {fmt!r}; choose one of {', '.join(FORMATS)}.")
