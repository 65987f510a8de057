"""Checkpoint manifests: verification, choosing the latest good checkpoint, pruning."""

import os

import pytest

from rlinf_core import checkpoint as ckpt
from rlinf_core.errors import ConfigError


def make(root, step, content=b"weights"):
    path = ckpt.step_dir(str(root), step)
    os.makedirs(os.path.join(path, "actor"))
    with open(os.path.join(path, "actor", "model.bin"), "wb") as fh:
        fh.write(content)
    ckpt.write_manifest(path, step)
    return path


def test_manifest_verifies_and_detects_damage(tmp_path):
    path = make(tmp_path, 1)
    assert ckpt.verify(path) == (True, "ok")
    with open(os.path.join(path, "actor", "model.bin"), "wb") as fh:
        fh.write(b"weightz")  # same size, different bytes
    assert ckpt.verify(path) == (False, "file actor/model.bin fails its checksum")
    os.remove(os.path.join(path, "actor", "model.bin"))
    assert ckpt.verify(path) == (False, "missing file actor/model.bin")


def test_latest_valid_skips_broken_ones_with_a_warning(tmp_path):
    make(tmp_path, 1)
    good = make(tmp_path, 2)
    os.makedirs(ckpt.step_dir(str(tmp_path), 3))  # never completed
    os.makedirs(ckpt.step_dir(str(tmp_path), 4) + ".tmp")  # an interrupted save
    with pytest.warns(UserWarning, match="step_000003: no manifest"):
        assert ckpt.latest_valid(str(tmp_path)) == good
    ckpt.clean_partial(str(tmp_path))
    assert not os.path.exists(ckpt.step_dir(str(tmp_path), 4) + ".tmp")


def test_resolve_resume_modes(tmp_path):
    path = make(tmp_path, 5)
    assert ckpt.resolve_resume("none", str(tmp_path)) is None
    assert ckpt.resolve_resume("auto", str(tmp_path)) == path
    assert ckpt.resolve_resume("auto", str(tmp_path / "empty")) is None
    assert ckpt.resolve_resume(path, str(tmp_path)) == path
    with pytest.raises(ConfigError, match="not a usable checkpoint: no manifest"):
        ckpt.resolve_resume(str(tmp_path / "nowhere"), str(tmp_path))


def test_prune_keeps_the_newest(tmp_path):
    for step in (1, 2, 3, 4):
        make(tmp_path, step)
    ckpt.prune(str(tmp_path), keep_last=2)
    assert [s for s, _ in ckpt.list_steps(str(tmp_path))] == [4, 3]
    ckpt.prune(str(tmp_path), keep_last=0)
    assert len(ckpt.list_steps(str(tmp_path))) == 2


def test_model_folder_takes_a_run_checkpoint_or_a_model_folder(tmp_path):
    from rlinf_core.checkpoint import model_folder

    for name in ("best", "step_000080"):
        (tmp_path / "checkpoints" / name / "actor").mkdir(parents=True)
        (tmp_path / "checkpoints" / name / "actor" / "config.json").write_text("{}")
        assert model_folder(str(tmp_path / "checkpoints" / name)) == str(tmp_path / "checkpoints" / name / "actor")
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text("{}")
    assert model_folder(str(hf)) == str(hf)
