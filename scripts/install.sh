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
  [ -f "$plugin/pyproject.toml" ] && editables+=(-e "$plugin")
done
python -m pip install -q "torch==2.13.0" "${editables[@]}"
