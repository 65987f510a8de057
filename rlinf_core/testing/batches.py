"""Random trajectory batches for testing train backends (no rollout needed)."""

from __future__ import annotations

from typing import Sequence

import torch

from rlinf_core.data import Ragged, TrajectoryBatch


def random_trajectory_batch(
    n: int = 4, seed: int = 0, max_response: int = 7, advantages: Sequence[float] = (1.0, -1.0), share_prompts: int = 1
) -> TrajectoryBatch:
    """``n`` rows of random token ids (4..199) with advantages repeated from ``advantages``;
    ``share_prompts`` consecutive rows get the same prompt tokens (a GRPO group). Rollout
    log-probs are zeros: recompute them (``recompute_logprobs=True``) when training on it."""
    g = torch.Generator().manual_seed(seed)
    distinct = [torch.randint(4, 200, (int(torch.randint(2, 6, (1,), generator=g)),), generator=g) for _ in range(n)]
    prompts = [distinct[i // share_prompts].clone() for i in range(n)]
    responses = [torch.randint(4, 200, (int(torch.randint(1, max_response, (1,), generator=g)),), generator=g) for _ in range(n)]
    adv = torch.tensor(list(advantages) * (n // len(advantages)))
    return TrajectoryBatch(
        prompt_ids=Ragged.from_list(prompts),
        response_ids=Ragged.from_list(responses),
        response_logprobs=Ragged.from_list([torch.zeros(len(r)) for r in responses]),
        group_ids=torch.arange(n) // 2,
        prompt_uids=[str(i // 2) for i in range(n)],
        answers=[["1"]] * n,
        truncated=torch.zeros(n, dtype=torch.bool),
        rewards=adv.clone(),
        advantages=adv,
    )
