"""Vocab-parallel log-probs and entropy against log_softmax over the true vocabulary: values and
gradients, on one rank (padding masked) and split over two gloo ranks (the tensor-parallel
reduction Megatron's ``reduce_from_tensor_model_parallel_region`` performs)."""


import torch

from rlinf_megatron.logprobs import vocab_parallel_logprobs_and_entropy

from .conftest import run_two_rank_script

VOCAB, PADDED, T, TEMP = 300, 384, 11, 0.7


def reference(logits: torch.Tensor, targets: torch.Tensor):
    """log_softmax / entropy over the first VOCAB columns only (the rollout's distribution)."""
    logp_all = torch.log_softmax(logits[:, :VOCAB].float() / TEMP, -1)
    return logp_all.gather(-1, targets[:, None]).squeeze(-1), -(logp_all.exp() * logp_all).sum(-1)


def inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(T, PADDED, generator=g) * 3
    logits[:, VOCAB:] = 50.0  # padding with huge logits: must take no probability mass
    targets = torch.randint(0, VOCAB, (T,), generator=g)
    targets[0], targets[1] = 0, VOCAB - 1  # the first and last real columns
    return logits, targets


def test_one_rank_equals_log_softmax_over_the_true_vocabulary_with_gradients():
    logits, targets = inputs()
    a = logits.clone().requires_grad_(True)
    logp, ent = vocab_parallel_logprobs_and_entropy(a, targets, 0, VOCAB, TEMP)
    b = logits.clone().requires_grad_(True)
    ref_logp, ref_ent = reference(b, targets)
    assert torch.allclose(logp, ref_logp, atol=1e-5) and torch.allclose(ent, ref_ent, atol=1e-5)
    w1, w2 = torch.randn(T), torch.randn(T)
    (logp @ w1 + ent @ w2).backward()
    (ref_logp @ w1 + ref_ent @ w2).backward()
    assert torch.isfinite(a.grad).all()
    assert torch.allclose(a.grad, b.grad, atol=1e-5)
    assert torch.equal(a.grad[:, VOCAB:], torch.zeros(T, PADDED - VOCAB))  # padding never trained


def test_two_tensor_parallel_ranks_equal_the_whole_vocabulary(tmp_path):
    logits, targets = inputs(seed=3)
    torch.save({"logits": logits, "targets": targets}, tmp_path / "in.pt")
    run_two_rank_script("tp_logprobs.py", tmp_path, str(VOCAB), str(TEMP))
    a = logits.clone().requires_grad_(True)
    ref_logp, ref_ent = reference(a, targets)
    w = torch.load(tmp_path / "weights.pt")
    (ref_logp @ w["logp"] + ref_ent @ w["entropy"]).backward()
    halves = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    for h in halves:  # every rank holds the whole result
        assert torch.allclose(h["logp"], ref_logp.detach(), atol=1e-5)
        assert torch.allclose(h["entropy"], ref_ent.detach(), atol=1e-5)
    grad = torch.cat([h["grad"] for h in halves], dim=-1)  # each rank's gradient is its own vocab slice's
    assert torch.allclose(grad, a.grad, atol=1e-5)
