"""A factory of small scored trajectory batches for the algorithms' hand-computed tests."""

import pytest
import torch

from rlinf_core import Ragged, TrajectoryBatch


@pytest.fixture
def scored_batch():
    def make(rewards, groups, lengths, truncated=None):
        """One row per reward; ``lengths`` response tokens each; ``truncated`` flags (default none)."""
        n = len(rewards)
        return TrajectoryBatch(
            prompt_ids=Ragged.from_list([[1]] * n),
            response_ids=Ragged.from_list([[2] * k for k in lengths]),
            response_logprobs=Ragged.from_list([[0.0] * k for k in lengths], dtype=torch.float32),
            group_ids=torch.tensor(groups),
            prompt_uids=[str(g) for g in groups],
            answers=[["1"]] * n,
            truncated=torch.tensor(truncated or [False] * n),
            rewards=torch.tensor(rewards, dtype=torch.float32),
        )

    return make
