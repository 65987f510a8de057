"""PPO's critic: a value model (the policy checkpoint's transformer with a scalar head) that lives
on the actor's ranks beside the policy, with its own optimizer and its own state in checkpoints.

Follows RLHF PPO practice (Ouyang et al. 2022; verl's and OpenRLHF's critics): the critic starts
from the policy's weights with a new value head, predicts for each response token the value of
the state before it (the hidden state at the position whose logits predict that token), and is
trained on GAE returns with PPO's clipped value loss, token-mean over the step's batch on all
ranks, AdamW, global-norm clipping, data parallel over the actor ranks (DDP on the actor's
process group).

Deviations: the value head starts at zero (every value 0 at first: the first advantages are the
returns themselves) rather than randomly; the critic is not a worker group of its own (it
cannot be placed apart from the actor: see the package README); one sequence per row,
right-padded, causal attention (rlinf-torch's layout: a real token never sees the padding).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List

import torch

from rlinf_core import Ragged, TrajectoryBatch
from rlinf_core.interfaces.algorithm import ActorContext
from rlinf_ppo.gae import clipped_value_loss
from rlinf_torch.packing import pack

STATE_FILE = "critic.pt"


@dataclass
class CriticSettings:
    lr: float
    weight_decay: float
    clip_grad: float
    value_clip: float
    micro_batch_size: int
    updates_per_step: int


class ValueModel(torch.nn.Module):
    """A causal LM's transformer and a zero-initialised scalar head: one value per position."""

    def __init__(self, backbone: torch.nn.Module, hidden_size: int):
        super().__init__()
        self.backbone = backbone
        self.head = torch.nn.Linear(hidden_size, 1)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, input_ids: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, position_ids=position_ids, use_cache=False).last_hidden_state
        return self.head(hidden.float()).squeeze(-1)


class Critic:
    """The value model of one actor rank (see the module docstring)."""

    def __init__(self, context: ActorContext, settings: CriticSettings, model_path: str):
        from transformers import AutoModel

        self.context, self.settings = context, settings
        backbone = AutoModel.from_pretrained(model_path, dtype=torch.float32)
        self.pad_id = int(getattr(backbone.config, "pad_token_id", None) or 0)
        model = ValueModel(backbone, backbone.config.hidden_size).to(context.device)
        self.module = model
        if context.world_size > 1:
            ids = [context.device.index or 0] if context.device.type == "cuda" else None
            model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
        self.model = model
        self.optimizer = torch.optim.AdamW(self.module.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)

    def sum_over_ranks(self, t: torch.Tensor) -> torch.Tensor:
        """``t`` summed over the actor ranks (back on its own device)."""
        if self.context.world_size == 1:
            return t
        out = t.to(self.context.device)
        torch.distributed.all_reduce(out)
        return out.to(t.device)

    def _micro_batches(self, batch: TrajectoryBatch) -> List[List[int]]:
        lengths = (batch.prompt_ids.lengths + batch.response_ids.lengths).tolist()
        order = sorted(range(len(batch)), key=lambda i: lengths[i])
        m = self.settings.micro_batch_size
        return [order[i : i + m] for i in range(0, len(order), m)]

    def _forward(self, batch: TrajectoryBatch, rows: List[int]) -> torch.Tensor:
        """The values before each response token of ``rows``, in row order: rlinf-torch's
        one-sequence-per-row layout (right padding, no mask needed under causal attention)."""
        packed = pack([batch.prompt_ids[i] for i in rows], [batch.response_ids[i] for i in rows], build_mask=False,
                      row_tokens=0, pad_id=self.pad_id)
        device = self.context.device
        values = self.model(packed.input_ids.to(device), packed.position_ids.to(device))
        return values.flatten()[packed.logit_index.to(device)]

    @torch.no_grad()
    def values(self, batch: TrajectoryBatch) -> Ragged:
        """The value of the state before every response token of ``batch`` (CPU, fp32)."""
        self.model.eval()
        out: List[torch.Tensor] = [torch.zeros(0)] * len(batch)
        for rows in self._micro_batches(batch):
            values = self._forward(batch, rows).float().cpu()
            for i, piece in zip(rows, torch.split(values, [len(batch.response_ids[i]) for i in rows])):
                out[i] = piece
        return Ragged.from_list(out, dtype=torch.float32)

    def train(self, batch: TrajectoryBatch, returns: Ragged, old_values: Ragged) -> Dict[str, float]:
        """``updates_per_step`` updates on the clipped value loss toward ``returns``; metrics over all ranks."""
        s = self.settings
        self.model.train()
        tokens = float(self.sum_over_ranks(torch.tensor([float(batch.response_ids.lengths.sum())], dtype=torch.float64))[0])
        sums = torch.zeros(3, dtype=torch.float64)  # value loss, clipped tokens, gradient norm (last update)
        for _ in range(s.updates_per_step):
            sums[:2] = 0.0
            for rows in self._micro_batches(batch):
                values = self._forward(batch, rows)
                target = torch.cat([returns[i] for i in rows]).to(values.device)
                old = torch.cat([old_values[i] for i in rows]).to(values.device)
                loss, clipped = clipped_value_loss(values, old, target, s.value_clip)
                # DDP averages over ranks; the loss is a share of the global token mean.
                (loss.sum() / max(tokens, 1.0) * self.context.world_size).backward()
                sums[0] += float(loss.detach().sum())
                sums[1] += float(clipped.sum())
            norm = torch.nn.utils.clip_grad_norm_(self.module.parameters(), s.clip_grad or float("inf"))
            if torch.isfinite(norm):
                self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            sums[2] = float(norm)
        reduced = self.sum_over_ranks(sums[:2].clone())
        return {"critic/value_loss": float(reduced[0]) / max(tokens, 1.0),
                "critic/value_clipfrac": float(reduced[1]) / max(tokens, 1.0),
                "critic/grad_norm": float(sums[2]), "critic/lr": s.lr}

    def save(self, path: str, extra: Dict[str, float]) -> None:
        """Weights and optimizer into ``path/critic.pt`` (rank 0: the replicas are identical)."""
        if self.context.rank == 0:
            state = {"model": self.module.state_dict(), "optimizer": self.optimizer.state_dict(), **extra}
            torch.save(state, os.path.join(path, STATE_FILE))

    def load(self, path: str) -> Dict[str, float]:
        file = os.path.join(path, STATE_FILE)
        if not os.path.exists(file):
            from rlinf_core.errors import ConfigError

            raise ConfigError(f"Checkpoint state {file!r} is missing: it was not saved by algorithm.name=ppo.")
        state = torch.load(file, map_location=self.context.device, weights_only=False)
        self.module.load_state_dict(state.pop("model"))
        self.optimizer.load_state_dict(state.pop("optimizer"))
        return state
