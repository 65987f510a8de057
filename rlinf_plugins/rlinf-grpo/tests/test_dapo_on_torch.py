"""DAPO's overlong filtering through a real train backend (rlinf-torch, this package's test extra).

The torch backend's own tests drive it with rlinf_core.testing's probe algorithm; what DAPO does
with the backend's inputs (here ``LossInputs.truncated``) is tested here, with DAPO itself.
"""

import torch

from rlinf_core import TrainSetup
from rlinf_core.testing.batches import random_trajectory_batch
from rlinf_grpo import DAPO, DAPOConfig
from rlinf_torch import TorchActorConfig, TorchTrainBackend


def torch_backend(tiny_checkpoint: str) -> TorchTrainBackend:
    cfg = TorchActorConfig(micro_batch_size=2)
    cfg.model.model_path = tiny_checkpoint
    cfg.optim.lr = 1e-3
    b = TorchTrainBackend(cfg)
    b.load(TrainSetup(seed=0, temperature=1.0, total_optimizer_steps=10))
    return b


def test_masked_truncated_rows_get_no_gradient(tiny_checkpoint):
    b = torch_backend(tiny_checkpoint)
    batch = random_trajectory_batch(n=4, seed=4)
    batch.truncated = torch.ones(4, dtype=torch.bool)
    algo = DAPO(DAPOConfig(max_response_length=16, mask_truncated=True))
    metrics = b.train_step(batch, algo, num_minibatches=1, recompute_logprobs=True)
    assert metrics["train/grad_norm"] == 0.0 and metrics["train/loss"] == 0.0
