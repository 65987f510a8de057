"""The `math-tiny` preparer: dataset, tokenizer, tiny Qwen2 and SFT warm start, all local.

Creates the recipe's paths (``data.train_data_paths[0]``, ``data.val_data_paths[0]``,
``rollout.model.model_path``; the cookbook's defaults are under ``runner.cache_dir``) that are
missing, and only those under ``runner.cache_dir``: a path elsewhere is the user's own file or
model, which must exist (checked before anything runs) and is used but never written. Each
artefact is written to a temporary name and renamed, and the model folder gets a
``prepared.json`` last, so an interrupted preparation is redone rather than trusted. The
model's SFT greedy accuracy is measured on the generated held-out problems, whatever the
recipe's val file is.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import List, Tuple

from rlinf_core import Preparer
from rlinf_core.errors import ConfigError
from rlinf_core.files import atomic_file, atomic_folder
from rlinf_core.models import load_tokenizer
from rlinf_core.tiny import TinyModelSpec, build_tiny_checkpoint
from rlinf_math_tiny.arithmetic import Problem, boba_row, demonstrations, split_problems, write_jsonl
from rlinf_math_tiny.greedy_eval import greedy_accuracy
from rlinf_math_tiny.sft import SFTSettings, warm_start

MARKER = "prepared.json"


@dataclass
class MathTinySettings:
    num_test: int = 256
    mistake_rate: float = 0.6  # share of carry demonstrations that forget the carry
    model: TinyModelSpec = field(default_factory=lambda: TinyModelSpec(hidden_size=128, num_layers=3, intermediate_size=384))
    sft: SFTSettings = field(default_factory=SFTSettings)


class MathTinyPreparer(Preparer):
    settings = MathTinySettings()

    @property
    def paths(self):
        cfg = self.config
        if not cfg.data.train_data_paths or not cfg.data.val_data_paths:
            raise ConfigError("runner.prepare=math-tiny needs `data.train_data_paths` and `data.val_data_paths` to write to.")
        return cfg.data.train_data_paths[0], cfg.data.val_data_paths[0], cfg.rollout.model.model_path

    def outputs(self) -> List[Tuple[str, str]]:
        train, test, model = self.paths
        return [("data.train_data_paths", train), ("data.val_data_paths", test), ("rollout.model.model_path", model)]

    def _missing(self) -> List[str]:
        """The fields whose artefact is under runner.cache_dir and not (fully) made yet."""
        missing = []
        for field_name, path in self.outputs():
            done = os.path.join(path, MARKER) if field_name == "rollout.model.model_path" else path
            if self.may_write(path) and not os.path.exists(done):
                missing.append(field_name)
        return missing

    def is_prepared(self) -> bool:
        return not self._missing()

    def prepare(self) -> None:
        seed = self.config.runner.seed
        train_path, test_path, model_path = self.paths
        missing = self._missing()
        start = time.time()
        train, test = split_problems(self.settings.num_test, seed)
        # Regenerated from the seed alone, so a data file made now matches a model made earlier.
        for field_name, path, problems in (("data.train_data_paths", train_path, train), ("data.val_data_paths", test_path, test)):
            if field_name in missing:
                _write_rows(path, problems)
                _say(f"wrote {len(problems)} {'training' if problems is train else 'held-out'} problems to {path}")
        if "rollout.model.model_path" in missing:
            self._build_model(model_path, train, test, seed)
        _say(f"prepared in {time.time() - start:.0f}s")

    def _build_model(self, model_path: str, train: List[Problem], test: List[Problem], seed: int) -> None:
        """Tokenizer + tiny Qwen2 + SFT warm start: the base model and held-out file go to the
        scratch folder ``<model_path>.preparing``, the SFT model to ``model_path`` whole."""
        s = self.settings
        start = time.time()
        demos = demonstrations(train, s.mistake_rate, seed)
        work = model_path.rstrip("/") + ".preparing"
        shutil.rmtree(work, ignore_errors=True)  # what an interrupted attempt left
        base = os.path.join(work, "base")
        prompts = [p.question for p, _ in demos]
        build_tiny_checkpoint(base, prompts + [d for _, d in demos], s.model)
        tok = load_tokenizer(base)
        render = lambda q: tok.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True, tokenize=False)  # noqa: E731
        pairs = [
            (tok(render(p.question), add_special_tokens=False)["input_ids"], tok(d, add_special_tokens=False)["input_ids"] + [tok.eos_token_id])
            for p, d in demos
        ]
        _say(f"SFT warm start: {s.sft.steps} steps of {s.sft.batch_size} demonstrations ({s.mistake_rate:.0%} of carries forgotten)")

        def log(step: int, nll: float) -> None:
            if step % 100 == 0 or step == s.sft.steps - 1:
                _say(f"  sft step {step + 1}/{s.sft.steps}  nll {nll:.3f}  ({time.time() - start:.0f}s)")

        heldout = os.path.join(work, "heldout.jsonl")
        _write_rows(heldout, test)
        # Replaces a half-made earlier attempt (model_path is under runner.cache_dir).
        with atomic_folder(model_path) as sft_path:
            warm_start(base, sft_path, pairs, s.sft, log=log)
            acc, _ = greedy_accuracy(sft_path, heldout)
            _say(f"SFT greedy accuracy on the held-out problems: {acc:.1%}")
            with open(os.path.join(sft_path, MARKER), "w") as fh:
                json.dump({"sft_greedy_accuracy": acc, "seed": seed, "seconds": time.time() - start, "settings": asdict(s)}, fh, indent=2)
        shutil.rmtree(work, ignore_errors=True)
        _say(f"model ready: {model_path}")


def _say(msg: str) -> None:
    print(f"[math-tiny] {msg}", file=sys.stderr, flush=True)


def _write_rows(path: str, problems: List[Problem]) -> None:
    """``problems`` as boba rows at ``path``, through a temporary name (never half-written)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_file(path) as tmp:
        write_jsonl(tmp, [boba_row(p) for p in problems])
