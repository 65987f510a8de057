"""The `math-tiny` preparer: dataset, tokenizer, tiny Qwen2 and SFT warm start, all local.

Writes into the recipe's paths (``data.train_data_paths[0]``, ``data.val_data_paths[0]``,
``rollout.model.model_path``, normally under ``runner.cache_dir``). Each artefact is written
to a temporary name and renamed, and the model folder gets a ``prepared.json`` last, so an
interrupted preparation is redone rather than trusted.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field

from rlinf_core import Preparer
from rlinf_core.errors import ConfigError
from rlinf_core.models import load_tokenizer
from rlinf_core.tiny import TinyModelSpec, build_tiny_checkpoint
from rlinf_math_tiny.arithmetic import boba_row, demonstrations, split_problems, write_jsonl
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

    def is_prepared(self) -> bool:
        train, test, model = self.paths
        return os.path.exists(train) and os.path.exists(test) and os.path.exists(os.path.join(model, MARKER))

    def prepare(self) -> None:
        s = self.settings
        seed = self.config.runner.seed
        train_path, test_path, model_path = self.paths
        say = lambda msg: print(f"[math-tiny] {msg}", file=sys.stderr, flush=True)  # noqa: E731
        start = time.time()
        train, test = split_problems(s.num_test, seed)
        for path, problems in ((train_path, train), (test_path, test)):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            write_jsonl(path + ".tmp", [boba_row(p) for p in problems])
            os.replace(path + ".tmp", path)
        say(f"wrote {len(train)} training and {len(test)} held-out problems")

        demos = demonstrations(train, s.mistake_rate, seed)
        work = model_path.rstrip("/") + ".preparing"
        shutil.rmtree(work, ignore_errors=True)
        base = os.path.join(work, "base")
        prompts = [p.question for p, _ in demos]
        build_tiny_checkpoint(base, prompts + [d for _, d in demos], s.model)
        tok = load_tokenizer(base)
        render = lambda q: tok.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True, tokenize=False)  # noqa: E731
        pairs = [
            (tok(render(p.question), add_special_tokens=False)["input_ids"], tok(d, add_special_tokens=False)["input_ids"] + [tok.eos_token_id])
            for p, d in demos
        ]
        say(f"SFT warm start: {s.sft.steps} steps of {s.sft.batch_size} demonstrations ({s.mistake_rate:.0%} of carries forgotten)")

        def log(step: int, nll: float) -> None:
            if step % 100 == 0 or step == s.sft.steps - 1:
                say(f"  sft step {step + 1}/{s.sft.steps}  nll {nll:.3f}  ({time.time() - start:.0f}s)")

        sft_path = os.path.join(work, "sft")
        warm_start(base, sft_path, pairs, s.sft, log=log)
        acc, _ = greedy_accuracy(sft_path, test_path)
        say(f"SFT greedy accuracy on the held-out problems: {acc:.1%}")
        with open(os.path.join(sft_path, MARKER), "w") as fh:
            json.dump({"sft_greedy_accuracy": acc, "seed": seed, "seconds": time.time() - start, "settings": asdict(s)}, fh, indent=2)
        shutil.rmtree(model_path, ignore_errors=True)
        os.makedirs(os.path.dirname(os.path.abspath(model_path)), exist_ok=True)
        os.replace(sft_path, model_path)
        shutil.rmtree(work, ignore_errors=True)
        say(f"prepared in {time.time() - start:.0f}s: {model_path}")
