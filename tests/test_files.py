"""atomic_folder and atomic_file: the new folder or file replaces the old one whole, or an error leaves the old one."""

import os

import pytest

from rlinf_core.files import atomic_file, atomic_folder


def test_replaces_the_old_folder_or_leaves_it_on_error(tmp_path):
    target = tmp_path / "deep" / "ckpt"
    with atomic_folder(str(target)) as work:
        assert os.listdir(work) == [] and work == str(target) + ".tmp"
        (tmp_path / "deep" / "ckpt.tmp" / "a.txt").write_text("one")
    assert os.listdir(target) == ["a.txt"] and not (tmp_path / "deep" / "ckpt.tmp").exists()

    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_folder(str(target)) as work:
            open(os.path.join(work, "b.txt"), "w").write("half")
            raise RuntimeError("disk full")
    assert os.listdir(target) == ["a.txt"] and not (tmp_path / "deep" / "ckpt.tmp").exists()

    (tmp_path / "deep" / "ckpt.preparing").mkdir()
    (tmp_path / "deep" / "ckpt.preparing" / "stale.txt").write_text("from a crash")
    with atomic_folder(str(target), suffix=".preparing") as work:
        assert os.listdir(work) == []  # what a crash left is gone
        open(os.path.join(work, "c.txt"), "w").write("two")
    assert os.listdir(target) == ["c.txt"]


def test_atomic_file_replaces_the_file_or_leaves_it(tmp_path):
    target = tmp_path / "profile.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_file(str(target)) as tmp, open(tmp, "w") as fh:
            fh.write("half")
            raise RuntimeError("crash while writing")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["profile.json"]
    with atomic_file(str(target)) as tmp, open(tmp, "w") as fh:
        fh.write("new")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["profile.json"]


def test_atomic_file_suffix_names_the_scratch_file(tmp_path):
    target = tmp_path / "store.db"
    with pytest.raises(RuntimeError):
        with atomic_file(str(target), suffix=".42.tmp") as tmp:
            assert tmp == str(target) + ".42.tmp"
            open(tmp, "w").write("half")
            raise RuntimeError("crash while writing")
    assert list(tmp_path.iterdir()) == []
    with atomic_file(str(target), suffix=".42.tmp") as tmp:
        open(tmp, "w").write("whole")
    assert target.read_text() == "whole" and [p.name for p in tmp_path.iterdir()] == ["store.db"]


def test_atomic_file_fsyncs_the_content_before_the_rename_when_asked(tmp_path, monkeypatch):
    target = tmp_path / "manifest.json"
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append((target.exists(), os.fstat(fd).st_size)) or real_fsync(fd))
    with atomic_file(str(target)) as tmp:
        open(tmp, "w").write("{}")
    assert synced == []  # by default: no fsync
    target.unlink()
    with atomic_file(str(target), fsync=True) as tmp:
        open(tmp, "w").write("{}")
    assert synced == [(False, 2)] and target.read_text() == "{}"
