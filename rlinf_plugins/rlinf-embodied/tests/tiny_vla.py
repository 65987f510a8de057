"""A tiny vision-language-action checkpoint with OpenVLA's public interface, built locally.

``write_tiny_vla(folder)`` writes a Hugging Face checkpoint whose modelling and processing code
travels with it (``auto_map``, loaded with ``trust_remote_code`` as OpenVLA's is): a processor
``processor(prompt, image)`` giving ``input_ids`` and ``pixel_values``, and a model whose
``predict_action(**inputs, unnorm_key=..., do_sample=False)`` returns a 7-d action un-normalised
with per-dataset statistics the way OpenVLA does (the 1st and 99th percentiles; the gripper
left in [0, 1]). A few hundred parameters: it runs on CPU in milliseconds.
"""

from __future__ import annotations

import json
from pathlib import Path

MODELING = '''
import numpy as np
import torch
from transformers import PretrainedConfig, PreTrainedModel


class TinyVLAConfig(PretrainedConfig):
    model_type = "tiny_vla"

    def __init__(self, norm_stats=None, **kwargs):
        self.norm_stats = norm_stats or {}
        super().__init__(**kwargs)


class TinyVLA(PreTrainedModel):
    config_class = TinyVLAConfig

    def __init__(self, config):
        super().__init__(config)
        self.head = torch.nn.Linear(4, 7)
        self.post_init()

    def _init_weights(self, module):
        pass

    def predict_action(self, input_ids=None, pixel_values=None, unnorm_key=None, do_sample=False, **kwargs):
        features = torch.cat([pixel_values.float().mean(dim=(2, 3)), input_ids.float().mean(1, keepdim=True) / 100], 1)
        normalized = torch.tanh(self.head(features.to(self.head.weight.dtype)))[0].float().detach().numpy()
        if unnorm_key is None:
            if len(self.config.norm_stats) != 1:
                raise ValueError(f"pass unnorm_key, one of {sorted(self.config.norm_stats)}")
            unnorm_key = next(iter(self.config.norm_stats))
        stats = self.config.norm_stats[unnorm_key]["action"]
        low, high = np.array(stats["q01"]), np.array(stats["q99"])
        mask = np.array(stats["mask"], dtype=bool)
        return np.where(mask, 0.5 * (normalized + 1) * (high - low) + low, (normalized + 1) / 2)
'''

PROCESSING = '''
import numpy as np
import torch
from transformers import BatchFeature


class TinyVLAProcessor:
    prompts = []  # what it was asked, for the tests

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        return cls()

    @classmethod
    def register_for_auto_class(cls, auto_class="AutoProcessor"):
        pass

    def __call__(self, prompt, image):
        TinyVLAProcessor.prompts.append(prompt)
        pixels = torch.tensor(np.asarray(image.resize((8, 8))), dtype=torch.float32).permute(2, 0, 1)[None] / 255
        ids = torch.tensor([[min(ord(c), 127) for c in prompt]])
        return BatchFeature({"input_ids": ids, "pixel_values": pixels})
'''


def write_tiny_vla(folder: Path, seed: int = 0) -> Path:
    """Write the checkpoint into ``folder`` (code, config and weights); returns ``folder``."""
    import importlib.util
    import sys

    import torch

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "modeling_tiny_vla.py").write_text(MODELING)
    (folder / "processing_tiny_vla.py").write_text(PROCESSING)
    stats = {"libero_spatial": {"action": {"q01": [-0.9] * 6 + [0.0], "q99": [0.9] * 6 + [1.0],
                                           "mask": [True] * 6 + [False]}}}
    spec = importlib.util.spec_from_file_location("modeling_tiny_vla", folder / "modeling_tiny_vla.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["modeling_tiny_vla"] = module
    spec.loader.exec_module(module)
    torch.manual_seed(seed)
    model = module.TinyVLA(module.TinyVLAConfig(norm_stats=stats))
    torch.nn.init.normal_(model.head.weight, std=3.0)
    model.save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "modeling_tiny_vla.TinyVLAConfig",
                          "AutoModelForVision2Seq": "modeling_tiny_vla.TinyVLA",
                          "AutoProcessor": "processing_tiny_vla.TinyVLAProcessor"}
    (folder / "config.json").write_text(json.dumps(config))
    return folder
