"""Run checkpoints: atomic directories with a manifest of checksums, and finding the latest good one.

Layout of ``<output_dir>/checkpoints/step_000040/``: ``actor/`` (a Hugging Face checkpoint,
tokenizer included), ``actor_state/`` (optimizer, scheduler, RNG and reference-policy state
per actor rank), ``runner.json`` (step, data position, driver RNG, tracker run id, metric
history) and ``manifest.json``, written last with the size and SHA-256 of every file. A
checkpoint is written into ``step_000040.tmp`` and renamed, so a crash leaves either a
complete checkpoint or a ``.tmp`` folder that is ignored and cleaned up.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import warnings
from typing import Dict, List, Optional, Tuple

from rlinf_core.errors import ConfigError
from rlinf_core.files import atomic_file

MANIFEST = "manifest.json"
FORMAT = 1
_STEP_DIR = re.compile(r"^step_(\d{6,})$")


def step_dir(root: str, step: int) -> str:
    return os.path.join(root, f"step_{step:06d}")


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(path: str, step: int) -> None:
    """Record every file of checkpoint folder ``path``; call this last, after all content is written."""
    files: Dict[str, Dict[str, object]] = {}
    for dirpath, _, names in os.walk(path):
        for name in sorted(names):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, path)
            if rel == MANIFEST:
                continue
            files[rel] = {"bytes": os.path.getsize(full), "sha256": _sha256(full)}
    # fsync: the manifest vouches for every other file, so it must never be renamed in empty.
    with atomic_file(os.path.join(path, MANIFEST), fsync=True) as tmp, open(tmp, "w") as fh:
        json.dump({"format": FORMAT, "step": step, "created": time.time(), "files": files}, fh, indent=1)


def verify(path: str) -> Tuple[bool, str]:
    """(ok, reason): the manifest exists and every file it lists has its size and checksum."""
    manifest = os.path.join(path, MANIFEST)
    if not os.path.exists(manifest):
        return False, "no manifest (the checkpoint was never completed)"
    try:
        with open(manifest) as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        return False, f"unreadable manifest: {exc}"
    for rel, meta in data.get("files", {}).items():
        full = os.path.join(path, rel)
        if not os.path.exists(full):
            return False, f"missing file {rel}"
        if os.path.getsize(full) != meta["bytes"]:
            return False, f"file {rel} has {os.path.getsize(full)} bytes, the manifest says {meta['bytes']}"
        if _sha256(full) != meta["sha256"]:
            return False, f"file {rel} fails its checksum"
    return True, "ok"


def list_steps(root: str) -> List[Tuple[int, str]]:
    """(step, path) of every checkpoint folder under ``root``, newest first (.tmp folders excluded)."""
    if not os.path.isdir(root):
        return []
    found = []
    for name in os.listdir(root):
        m = _STEP_DIR.match(name)
        if m:
            found.append((int(m.group(1)), os.path.join(root, name)))
    return sorted(found, reverse=True)


def latest_valid(root: str) -> Optional[str]:
    """The newest checkpoint that verifies; broken ones are skipped with a warning naming them."""
    for _, path in list_steps(root):
        ok, reason = verify(path)
        if ok:
            return path
        warnings.warn(f"skipping checkpoint {path}: {reason}", stacklevel=2)
    return None


def resolve_resume(resume: str, root: str) -> Optional[str]:
    """The checkpoint ``runner.resume`` asks for: ``none``, ``auto`` (latest good one, if any) or a path."""
    if resume in ("none", "", None):
        return None
    if resume == "auto":
        return latest_valid(root)
    ok, reason = verify(resume)
    if not ok:
        raise ConfigError(f"`runner.resume`={resume!r} is not a usable checkpoint: {reason}.")
    return resume


def clean_partial(root: str) -> None:
    """Remove ``.tmp`` folders left by a save that was interrupted."""
    if os.path.isdir(root):
        for name in os.listdir(root):
            if name.endswith(".tmp"):
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def prune(root: str, keep_last: int) -> None:
    """Keep the ``keep_last`` newest checkpoints (0 keeps all)."""
    if keep_last <= 0:
        return
    for _, path in list_steps(root)[keep_last:]:
        shutil.rmtree(path, ignore_errors=True)


def model_folder(path: str) -> str:
    """The Hugging Face folder behind ``path``: the folder itself, or the ``actor/`` of a run
    checkpoint (``checkpoints/step_000080`` or ``checkpoints/best``)."""
    if os.path.isdir(os.path.join(path, "actor")) and not os.path.exists(os.path.join(path, "config.json")):
        return os.path.join(path, "actor")
    return path
