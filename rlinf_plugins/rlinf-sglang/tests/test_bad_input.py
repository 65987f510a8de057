"""Bad input is one message naming the field or the missing piece, from the driver, before
anything is written. These run on CPU: SGLang is absent here, and a machine without a GPU is
refused by name."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlinf_core.errors import ConfigError
from rlinf_sglang.engine import check_architecture, check_device

RECIPE = Path(__file__).resolve().parents[3] / "cookbook" / "math-tiny" / "grpo.yaml"


def test_no_gpu_names_the_cpu_backends():
    with pytest.raises(ConfigError, match=r"needs a CUDA GPU.*rollout.backend=vllm.*rollout.backend=hf"):
        check_device(False)
    check_device(True)


def test_an_architecture_sglang_does_not_know(tiny_checkpoint, tmp_path):
    check_architecture(tiny_checkpoint, ["Qwen2ForCausalLM"], "0.5.23")
    with pytest.raises(ConfigError, match=r"`rollout.model.model_path`=.*SGLang 0.5.23 cannot serve architecture \['Qwen2ForCausalLM'\]"):
        check_architecture(tiny_checkpoint, ["LlamaForCausalLM"], "0.5.23")
    with pytest.raises(ConfigError, match=r"`rollout.model.model_path`=.*has no config.json"):
        check_architecture(str(tmp_path), ["Qwen2ForCausalLM"], "0.5.23")


def test_the_cli_names_the_extra_to_install_exits_2_and_writes_nothing(tmp_path, tiny_checkpoint):
    """Without SGLang importable (it is not installed here; a stand-in blocks it where it is)."""
    work, cache, blocker = tmp_path / "work", tmp_path / "cache", tmp_path / "block"
    for d in (work, cache, blocker):
        d.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['sglang'] = None\n")
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"What is {i} + 1?", "solutions": [str(i + 1)]}) + "\n" for i in range(20)))
    args = [f"rollout.model.model_path={tiny_checkpoint}", f"data.train_data_paths=[{data}]", "data.val_data_paths=[]",
            "runner.prepare=null", "rollout.backend=sglang"]
    before = sorted(tmp_path.rglob("*"))
    env = {**os.environ, "RLINF_CACHE": str(cache), "RAY_AUTH_MODE": "disabled",
           "PYTHONPATH": os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "rlinf_core.cli", "run", str(RECIPE), *args], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "pip install 'rlinf-sglang[gpu]'" in proc.stderr and proc.stderr.count("Error:") == 1
    assert "Traceback" not in proc.stderr
    assert sorted(tmp_path.rglob("*")) == before  # no output dir, no cache files
