"""A Hugging Face vision-language-action policy (OpenVLA, Kim et al. 2024, arXiv:2406.09246) for
evaluation episodes, on GPUs: ``policy.kind: hf`` with ``policy.path``.

The model is loaded with ``AutoModelForVision2Seq`` and ``AutoProcessor`` (``trust_remote_code``:
OpenVLA ships its own modelling code) and acts through its public ``predict_action(**inputs,
unnorm_key=..., do_sample=False)``, one environment's camera image and the task's language
instruction at a time, as OpenVLA's LIBERO evaluation does. Conventions of that evaluation
kept here: the prompt ``In: What action should the robot take to <instruction>?\\nOut:``, the
agent-view image rotated by 180 degrees (LIBERO renders it upside down; OpenVLA was fine-tuned
on the rotated image), and the gripper dimension mapped from OpenVLA's [0 close, 1 open] to
LIBERO's [+1 close, -1 open], binarised.

Deviations from RLinf: evaluation only. RLinf fine-tunes OpenVLA-OFT with PPO/GRPO over its
action tokens' log-probabilities; here a VLA acts, and training (``runner.max_steps`` > 0) is
refused. OpenVLA-OFT's own action head (parallel decoding, continuous actions) has a different
API and is not wired in. What ran where: the loading and acting path runs in CI on a tiny
locally built model with OpenVLA's interface (tests/test_vla.py); a real OpenVLA only in the
``gpu``-marked test, which has not run on hardware.
"""

from __future__ import annotations

import os
from typing import Any, List

import numpy as np

from rlinf_core.errors import ConfigError


def openvla_prompt(instruction: str) -> str:
    """OpenVLA's prompt for a task instruction (its fine-tuning format)."""
    return f"In: What action should the robot take to {instruction.lower().rstrip('.')}?\nOut:"


def camera_image(frame: np.ndarray) -> np.ndarray:
    """LIBERO's raw agent-view image [H, W, 3] turned the right way up (rotated 180 degrees)."""
    return np.ascontiguousarray(np.asarray(frame)[::-1, ::-1])


def to_libero_action(action: np.ndarray) -> np.ndarray:
    """OpenVLA's 7-d action (end-effector delta, gripper in [0 close, 1 open]) as LIBERO's
    (the same delta, gripper -1 open or +1 close)."""
    out = np.asarray(action, dtype=np.float64).copy()
    if out.shape[-1] != 7:
        raise ValueError(f"an OpenVLA action has 7 dimensions, got {out.shape}")
    opened = 2.0 * out[..., 6] - 1.0  # [0, 1] -> [-1, 1], +1 open
    out[..., 6] = -np.where(opened >= 0, 1.0, -1.0)
    return out


VLA_AUTO_CLASSES = ("AutoModelForVision2Seq", "AutoModelForImageTextToText")


def vla_class(path: str) -> Any:
    """The model class of a VLA checkpoint. OpenVLA's config maps ``AutoModelForVision2Seq`` to
    its own code, an auto class transformers 5 no longer has, so the class is read from the
    config's ``auto_map`` under either name; a checkpoint without code of its own loads through
    ``AutoModelForImageTextToText``."""
    from transformers import AutoConfig, AutoModelForImageTextToText
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    auto_map = getattr(AutoConfig.from_pretrained(path, trust_remote_code=True), "auto_map", None) or {}
    for name in VLA_AUTO_CLASSES:
        if name in auto_map:
            return get_class_from_dynamic_module(auto_map[name], path)
    return AutoModelForImageTextToText


def check_vla_settings(path: str, device: str) -> None:
    """Refuse, before anything loads or is written, a VLA that cannot start on this machine: no
    ``policy.path``, a local path that does not exist, or a CUDA device where there is none."""
    import torch

    if not path:
        raise ConfigError("`policy.path` is empty: `policy.kind: hf` needs a VLA checkpoint "
                          "(a directory or a hub id such as openvla/openvla-7b-finetuned-libero-spatial).")
    if path.startswith(("/", ".", "~")) and not os.path.isdir(os.path.expanduser(path)):
        raise ConfigError(f"`policy.path` {path!r} is not a directory (a VLA checkpoint's folder).")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"`policy.device`={device!r} but this machine has no CUDA device: a VLA of "
                          "billions of parameters is a GPU policy (use policy.device=cpu only for tiny models).")


class VLAPolicy:
    """A loaded VLA that maps a batch of camera images and one instruction to actions."""

    def __init__(self, path: str, unnorm_key: str, device: str, dtype: str):
        import torch
        from transformers import AutoProcessor

        check_vla_settings(path, device)
        self.device, self.dtype = device, getattr(torch, dtype)
        try:
            self.processor = AutoProcessor.from_pretrained(path, trust_remote_code=True)
            # torch_dtype: the name OpenVLA's transformers (4.40) knows; transformers 5 still takes it.
            self.model = vla_class(path).from_pretrained(path, torch_dtype=self.dtype).to(device)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"`policy.path` {path!r}: not a loadable vision-to-action checkpoint ({exc}).") from None
        if not hasattr(self.model, "predict_action"):
            raise ConfigError(f"`policy.path` {path!r} loads {type(self.model).__name__}, which has no "
                              "predict_action(): an OpenVLA-style checkpoint is needed.")
        self.unnorm_key = unnorm_key or None
        self.model.eval()

    def act(self, frames: np.ndarray, instruction: str) -> np.ndarray:
        """Actions [n, 7] in LIBERO's convention for camera frames [n, H, W, 3]."""
        import torch
        from PIL import Image

        prompt = openvla_prompt(instruction)
        actions: List[Any] = []
        with torch.inference_mode():
            for frame in frames:
                inputs = self.processor(prompt, Image.fromarray(camera_image(frame))).to(self.device, dtype=self.dtype)
                actions.append(np.asarray(self.model.predict_action(**inputs, unnorm_key=self.unnorm_key,
                                                                    do_sample=False)))
        return to_libero_action(np.stack(actions))
