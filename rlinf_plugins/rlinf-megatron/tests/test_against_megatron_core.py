"""The converted shards load into real Megatron-Core GPTModels (local layer spec, CPU, gloo) with
every name and size matching, and what those models hold converts back to the Hugging Face
weights bit for bit: TP 2 with tied embeddings, TP 2 x PP 2 untied (TP 1 / PP 1 are the same code with one
shard; the cheap round trips of test_convert.py cover all four layouts). Forward passes need CUDA (marked gpu elsewhere); tied
embeddings across pipeline stages too (Megatron moves the shared copy to CUDA to sync it)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rlinf_megatron.convert import megatron_to_hf
from rlinf_megatron.shapes import Layout, ModelShape

from .conftest import qwen2_state

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).with_name("mcore_shards.py")


@pytest.mark.parametrize("tp, pp, tied", [(2, 1, True), (2, 2, False)])
def test_shards_load_into_gptmodel_and_convert_back_exactly(tmp_path, tp, pp, tied):
    config, state = qwen2_state(tied, seed=tp * 10 + pp)
    torch.save({"config": config, "state": state}, tmp_path / "hf.pt")
    proc = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), str(tp), str(pp)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    shards = {(t, p): torch.load(tmp_path / f"shard_{t}_{p}.pt") for t in range(tp) for p in range(pp)}
    back = megatron_to_hf(shards, ModelShape.from_hf_config(config), Layout(tp, pp, fused_norms=False))
    assert sorted(back) == sorted(state)
    for name, tensor in state.items():
        assert torch.equal(back[name], tensor), name
