"""pytest fixtures for testing rlinf plugins (a pytest plugin module).

Load it from your project's root ``conftest.py``::

    pytest_plugins = ["rlinf_core.testing.fixtures"]

Fixtures:

- ``tiny_tokenizer`` (session): a byte-level BPE tokenizer with ChatML special tokens and a
  chat template, trained on a small arithmetic corpus; enough for a task's ``load``.
- ``tiny_checkpoint`` (session): a folder holding that tokenizer and a random 2-layer
  Qwen2, saved with ``save_pretrained``; it loads exactly like a real checkpoint.
- ``rlinf_registry``: a freshly built plugin registry (installed entry points, the env
  switches), as a worker process would build it.
- ``rlinf_cache``: points ``RLINF_CACHE`` (``runner.cache_dir``) at a temporary folder so
  prepared assets of a test never land in the user's cache.

Follows cookiecutter-pytest-plugin's layout: fixtures in a module that pytest loads by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, List

import pytest

TINY_CORPUS: List[str] = [
    f"What is {a} + {b}? The answer is \\boxed{{{a + b}}}." for a in range(0, 100, 9) for b in range(0, 100, 13)
] + ["<think>\nstep by step.\n</think>", "Reverse the letters: stone -> enots"]


@pytest.fixture(scope="session")
def tiny_tokenizer() -> Any:
    """A ChatML byte-level BPE tokenizer (``PreTrainedTokenizerFast``), built in memory."""
    from rlinf_core.tiny import build_tokenizer

    return build_tokenizer(TINY_CORPUS, vocab_size=320)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Path of a tiny random Qwen2 checkpoint with its tokenizer (built once per session)."""
    from rlinf_core.tiny import TinyModelSpec, build_tiny_checkpoint

    path = tmp_path_factory.mktemp("rlinf-tiny") / "ckpt"
    spec = TinyModelSpec(hidden_size=32, num_layers=2, num_heads=2, num_kv_heads=1, intermediate_size=64, vocab_size=320)
    return build_tiny_checkpoint(str(path), TINY_CORPUS, spec)


@pytest.fixture
def rlinf_registry() -> Any:
    """A plugin registry built now, from the installed entry points and the env switches."""
    from rlinf_core.plugins import load_plugins

    return load_plugins()


@pytest.fixture
def rlinf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``RLINF_CACHE`` (hence ``runner.cache_dir``) set to a fresh temporary folder."""
    cache = tmp_path / "rlinf-cache"
    cache.mkdir()
    monkeypatch.setenv("RLINF_CACHE", str(cache))
    yield cache
