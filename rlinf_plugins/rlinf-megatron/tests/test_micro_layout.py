"""The micro-batch layout the backend feeds GPTModel: on a Hugging Face Qwen2 (same weights,
same causal attention; GPTModel itself needs CUDA), the logits the layout picks give the same
log-probs as the trainer's recomputation, with right padding and no padding mask, and the
width rounded up for sequence parallelism."""

import torch

from rlinf_core.testing.batches import random_trajectory_batch
from rlinf_core.testing.rollouts import forward_logprobs
from rlinf_megatron.micro import VocabSlice, make_micro_batch, response_logprobs

from .conftest import qwen2_state


def test_picked_logits_give_the_trainers_logprobs():
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config, state = qwen2_state(tied=True, seed=5)
    model = Qwen2ForCausalLM(Qwen2Config(**{k: v for k, v in config.items() if k != "architectures"})).eval()
    model.load_state_dict(state)
    batch = random_trajectory_batch(6, seed=4, max_response=9)
    rows = [5, 0, 3, 2]
    mb = make_micro_batch(batch, rows, pad_id=0, device=torch.device("cpu"), width_multiple=4)
    assert mb.input_ids.shape[1] % 4 == 0
    with torch.no_grad():
        logits = model(mb.input_ids, position_ids=mb.position_ids).logits  # [b, s, V], causal, right-padded
    logp, entropy = response_logprobs(logits, mb, VocabSlice(0, config["vocab_size"], 0.8, None))
    expected = forward_logprobs(model, batch.select(rows), temperature=0.8)
    assert torch.allclose(logp, expected, atol=1e-5)
    assert mb.response_lengths.tolist() == [len(batch.response_ids[i]) for i in rows]
    assert entropy.shape == logp.shape and bool((entropy > 0).all())
