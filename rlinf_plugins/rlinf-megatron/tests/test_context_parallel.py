"""Context parallelism's CPU-runnable parts: Megatron's load-balanced split by hand, and on two
gloo ranks the response tokens' log-probs and entropies gathered whole, equal to one rank's, with
each rank's logits receiving exactly their share of the gradient."""


import pytest
import torch

from rlinf_core.testing.batches import random_trajectory_batch
from rlinf_megatron.context import cp_positions
from rlinf_megatron.micro import VocabSlice, make_micro_batch, response_logprobs

from .conftest import run_two_rank_script


def test_load_balanced_split():
    # 8 positions, CP 2: chunks of 2; rank 0 holds chunks 0 and 3, rank 1 chunks 1 and 2
    assert cp_positions(8, 2, 0).tolist() == [0, 1, 6, 7]
    assert cp_positions(8, 2, 1).tolist() == [2, 3, 4, 5]
    with pytest.raises(ValueError, match="does not split into 2 x 2 equal chunks"):
        cp_positions(10, 2, 0)


def test_two_context_parallel_ranks_gather_the_tokens_and_split_the_gradient(tmp_path):
    vocab = 40
    batch = random_trajectory_batch(3, seed=6, max_response=9)
    batch.prompt_ids.values.remainder_(vocab)
    batch.response_ids.values.remainder_(vocab)
    mb = make_micro_batch(batch, [2, 0, 1], pad_id=0, device=torch.device("cpu"), width_multiple=4)
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(*mb.input_ids.shape, vocab, generator=g)
    total = int(mb.targets.numel())
    weights = {"logp": torch.randn(total, generator=g), "entropy": torch.randn(total, generator=g)}
    torch.save({"mb": mb, "logits": logits, "weights": weights, "vocab": vocab}, tmp_path / "in.pt")
    run_two_rank_script("cp_logprobs.py", tmp_path)

    whole = logits.clone().requires_grad_(True)
    logp, entropy = response_logprobs(whole, mb, VocabSlice(0, vocab, 0.9, None))
    (logp @ weights["logp"] + entropy @ weights["entropy"]).backward()
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank{rank}.pt")
        assert torch.allclose(got["logp"], logp.detach(), atol=1e-6)  # every token, in order, on every rank
        assert torch.allclose(got["entropy"], entropy.detach(), atol=1e-6)
        assert torch.allclose(got["grad"], whole.grad[:, got["positions"]], atol=1e-6)
