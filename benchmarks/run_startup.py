"""Where a short `rlinf run` spends its time: before Ray, Ray's start, the worker groups' start,
the actor's load, the steps and the shutdown (the phases every test run and every user run pays).

    python benchmarks/run_startup.py --repeats 3

Builds a tiny Qwen2 checkpoint and a 24-row addition set in a temporary folder, then runs a
4-step GRPO recipe (collocated, 2 CPUs) through the CLI's entry point in a fresh process per
repeat, with timers wrapped around the trainer's phases. Prints one JSON line per repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, sys, time
T0 = time.time()
marks = {}
import rlinf_core.cluster.worker as W
import rlinf_core.runner as R

def timed(owner, name, label):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        start = time.time()
        try:
            return original(*args, **kwargs)
        finally:
            marks[label(args) if callable(label) else label] = round(time.time() - start, 2)
    setattr(owner, name, wrapper)

timed(R, "ensure_ray", "ray_start_s")
timed(W.WorkerGroup, "wait_started", lambda a: f"start_{a[0].name}_s")
timed(R.Trainer, "launch", "launch_s")
timed(R.Trainer, "shutdown", "shutdown_s")
original_execute = W.WorkerGroup.execute
def execute(self, method, *args, **kwargs):
    start = time.time()
    out = original_execute(self, method, *args, **kwargs)
    if method == "load":
        marks[f"{self.name}_load_s"] = round(time.time() - start, 2)
    return out
W.WorkerGroup.execute = execute
original_launch = R.Trainer.launch
def launch(self):
    marks["before_launch_s"] = round(time.time() - T0, 2)
    return original_launch(self)
R.Trainer.launch = launch
from rlinf_core.cli import main
try:
    main(["run", sys.argv[1], "runner.output_dir=" + sys.argv[2]])
except SystemExit:
    pass
marks["total_s"] = round(time.time() - T0, 2)
print("RUN-STARTUP " + json.dumps(marks))
"""

RECIPE = """
cluster: {{num_cpus_per_node: 2, devices_per_rank: {{actor: 2, rollout: 2, reward: 2}}}}
runner: {{max_steps: 4, save_interval: 0, seed: 3}}
data: {{train_data_paths: [{data}], rollout_batch_size: 4}}
rollout: {{model: {{model_path: {model}}}, max_new_tokens: 8}}
actor: {{global_batch_size: 8, micro_batch_size: 8}}
algorithm: {{group_size: 4}}
tracking: {{backends: [jsonl]}}
"""


def prepare(folder: str) -> str:
    from rlinf_core.tiny import TinyModelSpec, build_tiny_checkpoint

    data = os.path.join(folder, "train.jsonl")
    with open(data, "w") as fh:
        for i in range(24):
            a, b = 10 + i, 30 + i
            fh.write(json.dumps({"prompt": f"What is {a} + {b}?", "solutions": [f"\\boxed{{{a + b}}}"]}) + "\n")
    corpus = [f"What is {a} + {b}? The answer is \\boxed{{{a + b}}}." for a in range(10, 40) for b in range(30, 60, 7)]
    model = build_tiny_checkpoint(os.path.join(folder, "ckpt"), corpus,
                                  TinyModelSpec(hidden_size=64, num_layers=2, intermediate_size=128))
    recipe = os.path.join(folder, "recipe.yaml")
    with open(recipe, "w") as fh:
        fh.write(RECIPE.format(data=data, model=model))
    return recipe


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        recipe = prepare(folder)
        for i in range(args.repeats):
            out = os.path.join(folder, f"run{i}")
            proc = subprocess.run([sys.executable, "-c", CHILD, recipe, out], capture_output=True, text=True,
                                  env={**os.environ, "RAY_AUTH_MODE": "disabled"})
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RUN-STARTUP ")), None)
            if proc.returncode != 0 or line is None:
                raise SystemExit(f"the run failed:\n{proc.stderr[-3000:]}")
            print(line[len("RUN-STARTUP "):])


if __name__ == "__main__":
    main()
