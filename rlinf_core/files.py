"""Folders and files written whole or not at all: a crash or an error leaves the previous one (or
none), never a half-written one. Used for checkpoints, exported weights, prepared assets, run
records (profiles, metrics) and the plots and GIFs a run writes."""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import Iterator


@contextlib.contextmanager
def atomic_folder(path: str, suffix: str = ".tmp") -> Iterator[str]:
    """Yield an empty scratch folder, ``path`` + ``suffix``, to write into. When the block
    finishes it replaces ``path`` (parents are created); when it raises, the scratch folder is
    removed and ``path`` is left as it was. A scratch folder a crash left behind is emptied
    first, so the same ``path`` can simply be written again."""
    work = path.rstrip("/") + suffix
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(work, path)


@contextlib.contextmanager
def atomic_file(path: str, suffix: str = ".tmp", fsync: bool = False) -> Iterator[str]:
    """Yield a scratch path, ``path`` + ``suffix``, to write one file to. When the block finishes
    the file replaces ``path``; when it raises, the scratch file is removed and ``path`` is left
    as it was. Writers that infer a format from the name must be told it (``format="png"``).

    Processes that may write the same ``path`` at once need a suffix of their own (the pid).
    ``fsync`` puts the content on disk before the rename, for a file whose presence vouches for
    others (a checkpoint's manifest): a power cut then cannot leave it renamed but empty."""
    tmp = path + suffix
    try:
        yield tmp
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    os.replace(tmp, path)
