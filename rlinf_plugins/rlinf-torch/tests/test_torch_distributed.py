"""DDP and FSDP2 over gloo on real Ray ranks give the same update as one process on the whole batch.

This pins down the loss scaling across ranks: each rank's loss is its share of the global
minibatch mean, multiplied by the world size because data-parallel backends average grads.
The ranks resolve rlinf_core.testing's probe algorithm by name (``plugins.modules``), as they
would an algorithm plugin.
"""

import pytest
import torch

from rlinf_core import TrainSetup
from rlinf_core.config import load_config, section
from rlinf_core.flow.step import actor_shards
from rlinf_core.testing.algorithms import PROBE_NAME, ClippedPolicyGradient
from rlinf_core.testing.groups import actor_group
from rlinf_torch import TorchTrainBackend

pytestmark = pytest.mark.slow


# share 8: every row has the same prompt, so each 2-row micro-batch runs the shared-prompt
# forward (one process and DDP; multi-rank FSDP2 falls back to one sequence per row).
# A zero advantage: the ranks skip different numbers of inert rows, yet run as many forwards
# (FSDP2's all-gathers) and report the full minibatch's metrics. token advantages: they are
# whitened over both ranks' tokens, as over the whole batch in one process.
@pytest.mark.parametrize("strategy,share,advantages", [
    ("ddp", 1, "sequence"), ("fsdp2", 1, "sequence"), ("ddp", 8, "sequence"), ("fsdp2", 8, "sequence"),
    ("ddp", 1, "token"),
])
def test_two_ranks_match_one_process(ray_cluster, tiny_checkpoint, strategy, share, advantages, make_batch):
    cfg = load_config(None, [
        f"rollout.model.model_path={tiny_checkpoint}", "cluster.num_cpus_per_node=2",
        "cluster.component_placement='actor: all'", f"actor.strategy={strategy}", "actor.global_batch_size=4",
        f"actor.micro_batch_size={1 if share == 1 else 2}", "actor.optim.lr=1e-2", "data.rollout_batch_size=2",
        "plugins.modules=[rlinf_core.testing.algorithms]", f"algorithm.name={PROBE_NAME}", "algorithm.group_size=4",
        f"algorithm.token_advantages={advantages == 'token'}",
    ])
    batch = make_batch(n=8, seed=1, max_response=9, advantages=(1.2, 0.0, 0.4, -0.7), share_prompts=share)
    setup = TrainSetup(seed=0, temperature=1.0, total_optimizer_steps=2)

    single = TorchTrainBackend(section(cfg, "actor"))
    single.load(setup)
    order = actor_shards(8, 4, 1, 0, 1)[0]  # the same minibatches the two ranks will split
    expected_metrics = single.train_step(batch.select(order), ClippedPolicyGradient(section(cfg, "algorithm")), 2, True)
    expected = single.state_dict_for_rollout()

    with actor_group(cfg, total_optimizer_steps=2) as group:
        shards = actor_shards(8, 4, 2, 0, 1)
        metrics = group.call_each("train_step", [(batch.select(s), 2, True) for s in shards]).wait()
        got = group.execute("state_dict_for_rollout")[0]
    assert metrics[0]["train/optimizer_steps"] == 2.0
    for key in ("train/policy_loss", "train/ratio", "train/clip_fraction", "train/loss"):
        assert metrics[0][key] == pytest.approx(expected_metrics[key], abs=1e-5), key
    # AdamW's first steps are nearly sign(g): on entries whose gradient is near eps, rounding-level
    # differences between forward layouts (here shared-prompt vs per-row, other micro-batch cuts)
    # grow to a few 1e-5; a wrong gradient moves weights by ~lr = 1e-2. token advantages: every token
    # has a non-zero (whitened, float64 statistics summed across ranks) advantage; measured 7.2e-5.
    atol = 2e-5 if share == 1 and advantages == "sequence" else 1e-4
    for name, tensor in expected.items():
        assert torch.allclose(got[name], tensor, atol=atol), (name, float((got[name] - tensor).abs().max()))
