"""The critic on the tiny checkpoint, on CPU: values start at zero, do not depend on which rows
share a micro-batch, move toward the returns when trained, and survive a save/load exactly."""

import torch

from rlinf_core.interfaces.algorithm import ActorContext
from rlinf_core.data import Ragged
from rlinf_core.testing.batches import random_trajectory_batch
from rlinf_ppo.critic import Critic, CriticSettings


def critic(checkpoint, micro=3, lr=1e-3, updates=1):
    context = ActorContext(rank=0, world_size=1, device=torch.device("cpu"), seed=0, model_path=checkpoint,
                           total_optimizer_steps=4)
    return Critic(context, CriticSettings(lr=lr, weight_decay=0.0, clip_grad=1.0, value_clip=0.0, micro_batch_size=micro,
                                          updates_per_step=updates), checkpoint)


def test_values_start_at_zero_and_ignore_the_micro_batch_layout(tiny_checkpoint):
    batch = random_trajectory_batch(6, seed=2, max_response=9)
    a, b = critic(tiny_checkpoint, micro=4), critic(tiny_checkpoint, micro=1)
    values = a.values(batch)
    assert values.lengths.tolist() == batch.response_ids.lengths.tolist()
    assert torch.equal(values.values, torch.zeros_like(values.values))  # zero-initialised head
    torch.nn.init.normal_(a.module.head.weight, std=0.5)
    b.module.head.weight.data.copy_(a.module.head.weight.data)
    assert torch.allclose(a.values(batch).values, b.values(batch).values, atol=1e-5)  # padding changes nothing


def test_training_fits_the_returns_and_state_round_trips(tiny_checkpoint, tmp_path):
    batch = random_trajectory_batch(8, seed=3, max_response=9)
    c = critic(tiny_checkpoint, lr=3e-3, updates=1)
    old = c.values(batch)
    returns = Ragged(values=torch.where(torch.arange(old.values.numel()) % 2 == 0, 1.0, -0.5), offsets=old.offsets)
    losses = [c.train(batch, returns, c.values(batch))["critic/value_loss"] for _ in range(15)]
    assert losses[0] > 0.3 and losses[-1] < 0.5 * losses[0], losses  # 0.5 * mean(R^2) = 0.3125 at first
    c.save(str(tmp_path), {"critic_steps": 15})
    again = critic(tiny_checkpoint, lr=3e-3)
    assert again.load(str(tmp_path)) == {"critic_steps": 15}
    assert torch.equal(again.values(batch).values, c.values(batch).values)
    after_a, after_b = (x.train(batch, returns, old) for x in (c, again))
    assert after_a == after_b  # the optimizer state came back too
