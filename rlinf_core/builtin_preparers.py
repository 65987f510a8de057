"""The core's built-in preparers, registered through ``register_preparers`` like any plugin's.

``tiny-model`` (``runner.prepare: tiny-model``) builds a tiny random Qwen2 checkpoint at
``rollout.model.model_path`` when nothing is there, so a recipe trains with no model hub:
the recipes ``rlinf new-task`` writes use it. Its byte-level BPE tokenizer is trained on
the recipe's own training data, as the recipe's task formats it: the task named by
``data.task`` loads ``data.train_data_paths`` with a throw-away byte tokenizer, and the
decoded prompts plus the reference answers are the corpus. So any task works, whatever its
file format or path scheme, and the prompts the model sees tokenise compactly.

Same pattern as the core's trackers (:mod:`rlinf_core.trackers.builtin`) and the
``math-tiny`` preparer of rlinf-math-tiny (atomic write: build in ``<path>.preparing``,
mark it with ``prepared.json``, then rename). A folder that already holds a checkpoint
(``config.json``) counts as prepared and is never touched, so pointing
``rollout.model.model_path`` at a real model just works. It builds only under
``runner.cache_dir`` (the rendered recipes' default is ``${runner.cache_dir}/tiny-models/...``):
a ``model_path`` elsewhere must already exist, and is then left alone.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from typing import List, Tuple

from rlinf_core.errors import ConfigError
from rlinf_core.files import atomic_folder
from rlinf_core.hookspecs import Register, hookimpl
from rlinf_core.interfaces.preparer import Preparer
from rlinf_core.tiny import SPECIAL_TOKENS, TinyModelSpec

MARKER = "prepared.json"


class TinyModelPreparer(Preparer):
    """Builds a tokenizer + random Qwen2 (``spec``) at ``rollout.model.model_path`` if missing."""

    spec = TinyModelSpec(hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=2, intermediate_size=128)
    max_corpus_examples = 4096

    @property
    def model_path(self) -> str:
        path = self.config.rollout.model.model_path
        if not path:
            raise ConfigError(
                "`runner.prepare`=tiny-model builds a model at `rollout.model.model_path`, which is empty. Set it, "
                "e.g. rollout.model.model_path=${runner.cache_dir}/tiny-models/my-task."
            )
        return str(path)

    def outputs(self) -> List[Tuple[str, str]]:
        return [("rollout.model.model_path", self.model_path)]

    def is_prepared(self) -> bool:
        path = self.model_path
        if not self.may_write(path):
            return True  # the user's own folder (it exists: checked first); never written to
        return os.path.exists(os.path.join(path, MARKER)) or os.path.exists(os.path.join(path, "config.json"))

    def corpus(self) -> List[str]:
        """Prompts (as the task formats them) and answers of the recipe's training data."""
        from rlinf_core.config.loader import section
        from rlinf_core.plugins import get_registry
        from rlinf_core.tiny import build_tokenizer

        cfg = self.config
        if not cfg.data.train_data_paths:
            raise ConfigError(
                "`runner.prepare`=tiny-model trains the tiny model's tokenizer on `data.train_data_paths`, which is "
                "empty. Give at least one training file."
            )
        registry = get_registry(cfg.plugins.modules)
        task_cls = registry.get("tasks", cfg.data.task, field_name="data.task")
        # Nothing is dropped as too long: byte tokens are far more than the real tokenizer's.
        data_cfg = dataclasses.replace(section(cfg, "data"), max_prompt_length=1 << 30)
        byte_tokenizer = build_tokenizer([], vocab_size=256 + len(SPECIAL_TOKENS))
        examples = task_cls(data_cfg, byte_tokenizer).load(list(cfg.data.train_data_paths))
        examples = examples[: self.max_corpus_examples]
        prompts = byte_tokenizer.batch_decode([e.prompt_ids for e in examples], skip_special_tokens=True)
        return [p for p in prompts if p] + [a for e in examples for a in e.answers]

    def prepare(self) -> None:
        from rlinf_core.tiny import build_tiny_checkpoint

        cfg = self.config
        path = os.path.abspath(self.model_path)
        if os.path.isdir(path) and os.listdir(path):
            raise ConfigError(
                f"`rollout.model.model_path`={path!r} exists and is not empty, but holds no checkpoint (config.json). "
                f"The tiny-model preparer does not overwrite it: remove it or point the field elsewhere."
            )
        start = time.time()
        corpus = self.corpus()
        need = int(cfg.data.max_prompt_length) + int(cfg.rollout.max_new_tokens)
        spec = dataclasses.replace(self.spec, max_positions=max(self.spec.max_positions, need), seed=int(cfg.runner.seed))
        print(
            f"[tiny-model] building a random Qwen2 ({spec.num_layers} layers, hidden {spec.hidden_size}) with a "
            f"tokenizer trained on {len(corpus)} texts of data.train_data_paths -> {path}",
            file=sys.stderr,
            flush=True,
        )
        with atomic_folder(path, suffix=".preparing") as work:  # replaces `path` only if empty (checked above)
            build_tiny_checkpoint(work, corpus, spec)
            with open(os.path.join(work, MARKER), "w", encoding="utf-8") as fh:
                json.dump(
                    {
                        "preparer": "tiny-model",
                        "task": cfg.data.task,
                        "train_data_paths": list(cfg.data.train_data_paths),
                        "corpus_texts": len(corpus),
                        "spec": dataclasses.asdict(spec),
                    },
                    fh,
                    indent=2,
                )
        print(f"[tiny-model] prepared in {time.time() - start:.1f}s", file=sys.stderr, flush=True)


@hookimpl
def register_preparers(register: Register) -> None:
    register("tiny-model", TinyModelPreparer)

