"""Run as a script on one GPU: two steps on the Megatron backend (TP 1, PP 1, fp32) and on the
torch backend from the same checkpoint and batches; prints the largest weight difference and both
steps' metrics as JSON. The steps are rlinf_core.testing's probe algorithm with GRPO's default
settings (clip 0.2, token-mean, ratio early stop 5), which gives GRPO's numbers without an
algorithm plugin.

    python megatron_vs_torch.py CHECKPOINT
"""

import json
import sys

from transformers import AutoModelForCausalLM

from rlinf_core import TrainSetup, get_registry
from rlinf_core.config import load_config, section
from rlinf_core.testing.algorithms import PROBE_NAME
from rlinf_core.testing.batches import random_trajectory_batch


def run(checkpoint: str, backend: str):
    cfg = load_config(None, [f"rollout.model.model_path={checkpoint}", f"actor.backend={backend}", "actor.global_batch_size=4",
                             "actor.micro_batch_size=2", "actor.optim.lr=1e-2", "actor.optim.weight_decay=0.0",
                             "actor.share_prompts=false" if backend == "torch" else "actor.megatron.transformer_engine=false",
                             "data.rollout_batch_size=2", "algorithm.group_size=4",
                             "plugins.modules=[rlinf_core.testing.algorithms]", f"algorithm.name={PROBE_NAME}",
                             "algorithm.ratio_early_stop=5.0"])
    registry = get_registry(("rlinf_core.testing.algorithms",))
    algorithm = registry.get("algorithms", PROBE_NAME)(section(cfg, "algorithm"))
    engine = registry.get("train_backends", backend)(section(cfg, "actor"))
    engine.load(TrainSetup(seed=0, temperature=1.0, total_optimizer_steps=4))
    metrics = [engine.train_step(random_trajectory_batch(8, seed=s, max_response=9, advantages=(1.2, 0.0, 0.4, -0.7),
                                                         share_prompts=4), algorithm, 2, True) for s in (1, 2)]
    return metrics, {k: v.float().cpu() for k, v in engine.state_dict_for_rollout().items()}


if __name__ == "__main__":
    torch_metrics, torch_weights = run(sys.argv[1], "torch")
    mega_metrics, mega_weights = run(sys.argv[1], "megatron")
    worst = max(float((mega_weights[k] - v).abs().max()) for k, v in torch_weights.items())
    start = AutoModelForCausalLM.from_pretrained(sys.argv[1]).state_dict()
    moved = max(float((torch_weights[k] - v).abs().max()) for k, v in start.items())
    print(json.dumps({"max_abs_weight_diff": worst, "moved": moved, "names_equal": sorted(mega_weights) == sorted(torch_weights),
                      "torch": torch_metrics, "megatron": mega_metrics}))
