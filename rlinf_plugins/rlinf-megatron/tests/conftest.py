"""A random Hugging Face Qwen2 whose heads, KV heads, FFN width and layers split over 2-way tensor
and pipeline parallelism, with a vocabulary that needs padding; and the runner of this folder's
two-rank gloo scripts."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch


def run_two_rank_script(name: str, workdir, *args: str) -> None:
    """Run ``tests/<name> WORKDIR PORT ARGS...`` (it spawns two gloo ranks); fail with its stderr."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name(name)), str(workdir), str(port), *args],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]


def qwen2_state(tied: bool, seed: int = 0):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=128, tie_word_embeddings=tied)
    model = Qwen2ForCausalLM(config)
    return config.to_dict(), {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.fixture(params=[True, False], ids=["tied", "untied"])
def hf_model(request):
    return qwen2_state(request.param)
