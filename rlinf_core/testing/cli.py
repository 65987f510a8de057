"""Running the ``rlinf`` CLI from tests, as a user does: a subprocess of this Python.

``run_cli`` runs a command to its end; ``start_cli`` starts one in the background (to signal
or kill it); ``wait_for_path`` waits on a condition (a file appearing), failing at once with the
command's stderr if it exits first. The embedded Ray's token authentication is off, as in
every test run on one machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any, Dict, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]


def cli_env(extra_env: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    return {**os.environ, "RAY_AUTH_MODE": "disabled", **(extra_env or {})}


def run_cli(*args: str, extra_env: Optional[Dict[str, str]] = None, timeout: float = 600, **kwargs: Any) -> subprocess.CompletedProcess:
    """``rlinf ARGS...`` to its end, output captured as text."""
    cmd = [sys.executable, "-m", "rlinf_core.cli", *map(str, args)]
    return subprocess.run(cmd, env=cli_env(extra_env), capture_output=True, text=True, timeout=timeout, **kwargs)


def start_cli(*args: str, extra_env: Optional[Dict[str, str]] = None, **popen: Any) -> subprocess.Popen:
    """``rlinf ARGS...`` in the background, stdout and stderr piped as text."""
    cmd = [sys.executable, "-m", "rlinf_core.cli", *map(str, args)]
    return subprocess.Popen(cmd, env=cli_env(extra_env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def wait_for_path(path: PathLike, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Return once ``path`` exists; fail with the command's stderr if it ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise AssertionError(f"the command ended (code {proc.returncode}) before {path} appeared:\n{proc.communicate()[1][-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {timeout:.0f}s")
        time.sleep(0.2)


def addition_rows(path: PathLike, n: int = 32) -> str:
    """A training file of ``n`` chat-format additions ("What is 10 + 30?" -> "40"); returns its path."""
    import json

    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            row = {"prompt": [{"role": "user", "content": f"What is {10 + i} + {30 + i}?"}], "solutions": [str(40 + 2 * i)]}
            fh.write(json.dumps(row) + "\n")
    return os.fspath(path)


def short_run_overrides(checkpoint: PathLike, data: PathLike, output_dir: PathLike, max_new_tokens: int = 16) -> list:
    """The overrides that turn a recipe into a short test run: a given checkpoint and data file, no
    validation, nothing prepared, JSONL tracking into ``output_dir``."""
    return [
        f"rollout.model.model_path={os.fspath(checkpoint)}", f"data.train_data_paths=[{os.fspath(data)}]",
        "data.val_data_paths=[]", "runner.prepare=null", f"runner.output_dir={os.fspath(output_dir)}",
        "tracking.backends=[jsonl]", f"rollout.max_new_tokens={max_new_tokens}",
    ]


def metrics_by_step(output_dir: PathLike) -> Dict[int, Dict[str, Any]]:
    """The run's ``metrics.jsonl`` rows by step, training steps only (step 0 is the first validation)."""
    import json

    with open(os.path.join(output_dir, "metrics.jsonl"), encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return {r["step"]: r for r in rows if r["step"] > 0}
