"""A streamed step (parts trained as they arrive, one update) against the whole-batch step."""

import pytest
import torch

from rlinf_core import TrainSetup
from rlinf_core.testing.algorithms import ClippedPolicyGradient
from rlinf_torch import TorchActorConfig, TorchTrainBackend


def backend(tiny_checkpoint, **kw):
    cfg = TorchActorConfig(**{"micro_batch_size": 2, **kw})
    cfg.model.model_path = tiny_checkpoint
    # With eps far above the gradients, AdamW's first step is lr * g / eps: linear in the
    # gradient, so rounding differences stay rounding-sized (with a small eps it is lr * sign(g)
    # and a gradient near 0 in one sum and -0 in the other moves a weight by 2 lr).
    # No clipping either: it would hide a gradient off by a constant factor.
    cfg.optim.lr, cfg.optim.adam_eps, cfg.optim.weight_decay, cfg.optim.clip_grad = 1.0, 1.0, 0.0, 0.0
    b = TorchTrainBackend(cfg)
    b.load(TrainSetup(seed=0, temperature=1.0, total_optimizer_steps=10))
    return b


def streamed(b, batch, algorithm, cuts, recompute=True):
    b.begin_streamed_step(algorithm, recompute, num_seqs=len(batch))
    for start, end in zip(cuts, cuts[1:]):
        b.train_part(batch.select(list(range(start, end))))
    return b.finish_streamed_step()


def weights(b):
    return {k: v.clone() for k, v in b.model.state_dict().items()}


@pytest.mark.parametrize("loss_agg", ["token-mean", "seq-mean"])
def test_streamed_parts_make_the_whole_batch_update(tiny_checkpoint, make_batch, loss_agg):
    """Token-mean is the case the end-of-step division exists for; seq-mean needs none."""
    batch = make_batch(n=8)
    algorithm = ClippedPolicyGradient(loss_agg=loss_agg)
    whole, parts = backend(tiny_checkpoint), backend(tiny_checkpoint)
    m_whole = whole.train_step(batch, algorithm, num_minibatches=1, recompute_logprobs=True)
    m_parts = streamed(parts, batch, algorithm, [0, 2, 6, 8])
    w_whole, w_parts = weights(whole), weights(parts)
    start = weights(backend(tiny_checkpoint))
    moved = max(float((w_whole[k] - start[k]).abs().max()) for k in w_whole)
    gap = max(float((w_whole[k] - w_parts[k]).abs().max()) for k in w_whole)
    assert moved > 1e-3  # the update did something
    assert gap < 1e-6 * moved, (gap, moved)
    for key in ("train/loss", "train/ratio", "train/grad_norm", "train/clip_fraction"):
        assert m_parts[key] == pytest.approx(m_whole[key], rel=1e-4, abs=1e-6), key
    assert m_parts["train/optimizer_steps"] == 1.0


def test_a_streamed_step_of_inert_rows_steps_on_zero_gradients(tiny_checkpoint, make_batch):
    batch = make_batch(n=4, advantages=(0.0, 0.0))
    algorithm = ClippedPolicyGradient()
    whole, parts = backend(tiny_checkpoint), backend(tiny_checkpoint)
    m_whole = whole.train_step(batch, algorithm, num_minibatches=1, recompute_logprobs=True)
    m_parts = streamed(parts, batch, algorithm, [0, 2, 4])
    assert m_parts["train/skipped_zero_advantage_seqs"] == m_whole["train/skipped_zero_advantage_seqs"] == 4.0
    assert m_parts["train/grad_norm"] == m_whole["train/grad_norm"] == 0.0
    w_whole, w_parts = weights(whole), weights(parts)
    assert all(torch.equal(w_whole[k], w_parts[k]) for k in w_whole)  # zero gradients: nothing moved in either


def test_streamed_calls_out_of_order_are_refused(tiny_checkpoint, make_batch):
    b = backend(tiny_checkpoint)
    with pytest.raises(RuntimeError, match="begin_streamed_step"):
        b.train_part(make_batch())
    with pytest.raises(ValueError, match="num_epochs"):
        backend(tiny_checkpoint, num_epochs=2).begin_streamed_step(ClippedPolicyGradient(), True, 4)
