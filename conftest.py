"""Shared fixtures: the test plugin package installed for real, one Ray cluster per session,
and one tiny checkpoint (tokenizer + Qwen2) per session."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
FIXTURES = REPO / "tests" / "fixtures"


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` need CUDA: skipped, with the reason, on machines without it (CI's CPUs)."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="marked gpu: needs a CUDA device, none visible")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory) -> Path:
    """rlinf-testplugin installed (pip, entry point metadata and all) into a private site dir.

    It is put on sys.path and PYTHONPATH so this process, CLI subprocesses and Ray workers
    started afterwards all discover it, without touching the environment's site-packages.
    """
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site),
         str(FIXTURES / "rlinf-testplugin")],
        check=True,
    )
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    os.environ["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO), os.environ.get("PYTHONPATH", "")])
    from rlinf_core.plugins import _CACHE

    _CACHE.clear()
    return site


@pytest.fixture(scope="session")
def ray_cluster(plugin_site):
    """One embedded Ray for the whole session (each start costs 5-8 s here); 4 logical CPUs."""
    import ray

    from rlinf_core.cluster import ensure_ray

    ensure_ray(num_cpus=4)
    yield ray
    ray.shutdown()


TINY_CORPUS = [
    f"What is {a} + {b}? Let's add. The answer is \\boxed{{{a + b}}}." for a in range(0, 100, 7) for b in range(0, 100, 11)
] + ["<think>\nstep by step, carry the one.\n</think>"]


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> str:
    """A tiny Qwen2 + BPE tokenizer saved with save_pretrained (loads like a real checkpoint)."""
    from rlinf_core.tiny import TinyModelSpec, build_tiny_checkpoint

    path = tmp_path_factory.mktemp("tiny") / "ckpt"
    return build_tiny_checkpoint(str(path), TINY_CORPUS, TinyModelSpec(hidden_size=64, num_layers=2, intermediate_size=128))


@pytest.fixture
def cpu_hog():
    """Another process spinning on a core, as on a loaded machine, for as long as the test runs."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield proc
    proc.kill()
    proc.wait()
