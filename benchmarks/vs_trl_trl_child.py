"""The TRL side of the rlinf-vs-TRL GRPO benchmark: one run of TRL's GRPOTrainer, timed per step.

Run by the benchmark driver in a subprocess with the bench venv's python::

    /work/bench-venv/bin/python benchmarks/vs_trl_trl_child.py --spec SPEC.json --out RESULT.json

SPEC.json (all keys required): model_path, rows (AReaL-boba rows, already in consumption order:
step s uses rows[s*P:(s+1)*P]), prompts_per_step P, group_size G, steps, max_new_tokens,
max_prompt_length, temperature, lr, weight_decay, max_grad_norm, adam_beta1, adam_beta2,
adam_eps, seed, bf16, threads.

RESULT.json: {"system": "trl", "trl_version", "transformers_version", "torch_version",
"torch_threads", "grpo_config", "steps": [{"step", "wall_s", "generate_s",
"generation_only_s", "reward_s", "train_s", "reward_mean", "correct_rate",
"completion_tokens", "prompt_tokens", "order_ok"}], "prompt_order_ok", "peak_rss_mb_self"}.
wall_s runs from the end of the previous optimizer step (train start for step 1) to the end of
this one; generate_s is TRL's ``_generate_and_score_completions`` (tokenise, generate, decode,
reward, advantages); generation_only_s its ``_generate_single_turn`` (``model.generate``);
train_s = wall_s - generate_s. Token counts come from the prompt/completion masks TRL builds
(completions include their EOS, padding excluded).

Differences from rlinf that TRL 1.16 imposes: it has no ``max_prompt_length`` (prompts are never
truncated or dropped), so a prompt longer than the spec's limit is an error here (rlinf drops
such prompts at load time, so the driver's rows should not contain any); the advantage epsilon
is fixed at 1e-4 (rlinf: 1e-6); with one update per generation TRL takes the old log-probs as
the current ones (ratio 1) instead of recomputing them with an extra forward pass.

Environment
-----------
The bench venv (torch is always pinned on the same command line, so pip never swaps in a CUDA
build)::

    python3 -m venv /work/bench-venv
    B=/work/bench-venv/bin/python
    $B -m pip install -q --upgrade pip "setuptools>=68" wheel
    $B -m pip install -q "torch==2.13.0"
    cd /work/main && $B -m pip install -q "torch==2.13.0" -e ".[test,tensorboard]" \\
        -e rlinf_plugins/rlinf-grpo/ -e rlinf_plugins/rlinf-hf/ -e rlinf_plugins/rlinf-math-tiny/ \\
        -e rlinf_plugins/rlinf-math/ -e rlinf_plugins/rlinf-torch/
    $B -m pip install -q "torch==2.13.0" "trl==1.16.0" psutil matplotlib

(the editable line is scripts/install.sh's, with its plugin loop expanded). Result: torch
2.13.0+cpu, transformers 5.23.0 (unchanged by TRL), trl 1.16.0, accelerate 1.15.0,
datasets 5.2.0.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from typing import Any, Dict, List, Optional

import torch
import transformers
import trl
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import GRPOConfig, GRPOTrainer

from rlinf_math.reward import MathReward, MathRewardConfig

SPEC_KEYS = (
    "model_path", "rows", "prompts_per_step", "group_size", "steps", "max_new_tokens", "max_prompt_length",
    "temperature", "lr", "weight_decay", "max_grad_norm", "adam_beta1", "adam_beta2", "adam_eps", "seed",
    "bf16", "threads",
)


class StepLog:
    """Per-step measurements shared by the trainer, the reward function and the callback."""

    def __init__(self) -> None:
        self.current: Dict[str, Any] = {}
        self.steps: List[Dict[str, Any]] = []

    def add(self, key: str, value: float) -> None:
        self.current[key] = self.current.get(key, 0.0) + value


class TimedGRPOTrainer(GRPOTrainer):
    """GRPOTrainer that times generation and scoring and checks which rows each step consumed."""

    def __init__(self, *args: Any, step_log: StepLog, rows_per_step: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.step_log = step_log
        self.rows_per_step = rows_per_step

    def _generate_single_turn(self, *args: Any, **kwargs: Any):
        start = time.perf_counter()
        out = super()._generate_single_turn(*args, **kwargs)
        self.step_log.add("generation_only_s", time.perf_counter() - start)
        return out

    def _generate_and_score_completions(self, inputs: List[Dict[str, Any]]) -> Dict[str, Any]:
        start = time.perf_counter()
        out = super()._generate_and_score_completions(inputs)
        log = self.step_log
        log.add("generate_s", time.perf_counter() - start)
        log.add("completion_tokens", int(out["completion_mask"].sum()))
        log.add("prompt_tokens", int(out["prompt_mask"].sum()))
        first = self.state.global_step * self.rows_per_step  # global_step = steps completed so far
        expected = [i for i in range(first, first + self.rows_per_step) for _ in range(self.num_generations)]
        log.current["order_ok"] = [x["row_index"] for x in inputs] == expected
        return out


def make_reward_fn(reward: MathReward, step_log: StepLog):
    """TRL reward function: rlinf's math reward on the assistant text, recording the exact scores."""

    def math_reward(completions: List[Any], solutions: List[List[str]], **_: Any) -> List[float]:
        start = time.perf_counter()
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        result = reward.score(texts, [list(s) for s in solutions])
        step_log.add("reward_s", time.perf_counter() - start)
        step_log.current["reward_mean"] = sum(result.scores) / len(result.scores)
        correct = result.components["correct"]
        step_log.current["correct_rate"] = sum(correct) / len(correct)
        return list(result.scores)

    return math_reward


class StepTimer(TrainerCallback):
    """Closes each step's record at the end of its optimizer step."""

    def __init__(self, step_log: StepLog) -> None:
        self.step_log = step_log
        self.last = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self.last = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        rec = {"step": state.global_step, "wall_s": now - self.last, **self.step_log.current}
        rec["train_s"] = rec["wall_s"] - rec.get("generate_s", 0.0)
        self.step_log.steps.append(rec)
        self.step_log.current = {}
        self.last = now


def grpo_config(spec: Dict[str, Any], output_dir: str) -> GRPOConfig:
    """One optimizer step per generation over all P*G completions, no KL, constant LR, nothing extra."""
    batch = spec["prompts_per_step"] * spec["group_size"]
    return GRPOConfig(
        output_dir=output_dir,
        per_device_train_batch_size=batch, gradient_accumulation_steps=1,
        num_generations=spec["group_size"], steps_per_generation=1, num_iterations=1,
        shuffle_dataset=False, max_steps=spec["steps"], seed=spec["seed"],
        max_completion_length=spec["max_new_tokens"], temperature=spec["temperature"], top_p=1.0, top_k=0,
        beta=0.0, loss_type="dapo", scale_rewards="group",
        learning_rate=spec["lr"], lr_scheduler_type="constant", warmup_steps=0, weight_decay=spec["weight_decay"],
        max_grad_norm=spec["max_grad_norm"], adam_beta1=spec["adam_beta1"], adam_beta2=spec["adam_beta2"],
        adam_epsilon=spec["adam_eps"], optim="adamw_torch",  # rlinf's torch.optim.AdamW (TRL default: fused)
        bf16=bool(spec["bf16"]), use_cpu=True, use_vllm=False,
        gradient_checkpointing=False, activation_checkpointing=False,  # the latter: transformers 5.23 name
        report_to="none", save_strategy="no", eval_strategy="no", logging_strategy="steps", logging_steps=1,
        log_completions=False, disable_tqdm=True, dataloader_num_workers=0,
    )


CONFIG_KEYS = (
    "per_device_train_batch_size", "gradient_accumulation_steps", "num_generations", "steps_per_generation",
    "generation_batch_size", "num_iterations", "shuffle_dataset", "max_steps", "seed", "max_completion_length",
    "temperature", "top_p", "top_k", "beta", "loss_type", "scale_rewards", "epsilon", "epsilon_high",
    "mask_truncated_completions", "learning_rate", "lr_scheduler_type", "warmup_steps", "weight_decay",
    "max_grad_norm", "adam_beta1", "adam_beta2", "adam_epsilon", "optim", "bf16", "use_cpu", "use_vllm",
    "gradient_checkpointing", "activation_checkpointing", "report_to", "save_strategy", "eval_strategy",
    "logging_steps",
)


def check_prompts(tokenizer, rows: List[Dict[str, Any]], limit: int) -> None:
    """TRL 1.16 has no max_prompt_length: refuse rows rlinf would have dropped as too long."""
    lengths = [len(ids) for ids in tokenizer.apply_chat_template(
        [r["prompt"] for r in rows], add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]]
    too_long = [i for i, n in enumerate(lengths) if n > limit]
    if too_long:
        raise ValueError(f"{len(too_long)} prompts exceed max_prompt_length={limit} (first: row {too_long[0]}, "
                         f"{lengths[too_long[0]]} tokens); rlinf drops these, so drop them from the spec's rows")


def run(spec: Dict[str, Any]) -> Dict[str, Any]:
    missing = [k for k in SPEC_KEYS if k not in spec]
    if missing:
        raise KeyError(f"spec is missing {missing}")
    torch.set_num_threads(int(spec["threads"]))
    P, rows = spec["prompts_per_step"], spec["rows"]
    if len(rows) < spec["steps"] * P:
        raise ValueError(f"{len(rows)} rows, but {spec['steps']} steps x {P} prompts need {spec['steps'] * P}")
    tokenizer = AutoTokenizer.from_pretrained(spec["model_path"], padding_side="left")
    check_prompts(tokenizer, rows[: spec["steps"] * P], spec["max_prompt_length"])
    dataset = Dataset.from_list(
        [{"prompt": r["prompt"], "solutions": list(r["solutions"]), "row_index": i} for i, r in enumerate(rows)])
    transformers.set_seed(spec["seed"])
    model = AutoModelForCausalLM.from_pretrained(spec["model_path"], dtype=torch.float32)
    step_log, reward = StepLog(), MathReward(MathRewardConfig())
    output_dir = tempfile.mkdtemp(prefix="trl-grpo-")
    try:
        args = grpo_config(spec, output_dir)
        trainer = TimedGRPOTrainer(
            model=model, reward_funcs=make_reward_fn(reward, step_log), args=args, train_dataset=dataset,
            processing_class=tokenizer, callbacks=[StepTimer(step_log)], step_log=step_log, rows_per_step=P)
        trainer.train()
    finally:
        reward.close()
        shutil.rmtree(output_dir, ignore_errors=True)
    return {
        "system": "trl",
        "trl_version": trl.__version__,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "grpo_config": {k: getattr(args, k) for k in CONFIG_KEYS},
        "steps": step_log.steps,
        "prompt_order_ok": all(s.get("order_ok", False) for s in step_log.steps),
        "peak_rss_mb_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="SPEC.json (see the module docstring)")
    parser.add_argument("--out", required=True, help="where to write RESULT.json")
    ns = parser.parse_args(argv)
    with open(ns.spec) as f:
        result = run(json.load(f))
    with open(ns.out, "w") as f:
        json.dump(result, f, indent=2, default=str)


if __name__ == "__main__":
    main()
