def test_left_pad_right_aligns_every_row():
    from rlinf_core import left_pad

    ids, mask = left_pad([torch.tensor([5, 6, 7]), [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert ids.dtype == mask.dtype == torch.long


"""Ragged sequences and the trajectory batch that crosses worker boundaries."""

import pickle

import pytest
import torch

from rlinf_core import Ragged, RolloutRequest, TrajectoryBatch


def batch(n_prompts=2, group=2):
    prompts = [[1, 2, 3], [4]]
    responses = [[5], [6, 7], [8, 9, 10], []]
    return TrajectoryBatch(
        prompt_ids=Ragged.from_list([prompts[i // group] for i in range(n_prompts * group)]),
        response_ids=Ragged.from_list(responses),
        response_logprobs=Ragged.from_list([[-0.5] * len(r) for r in responses], dtype=torch.float32),
        group_ids=torch.tensor([0, 0, 1, 1]),
        prompt_uids=["a", "a", "b", "b"],
        answers=[["1"], ["1"], ["2"], ["2"]],
        truncated=torch.tensor([False, True, False, False]),
        rewards=torch.tensor([1.0, 0.0, 0.0, 1.0]),
    )


def test_ragged_roundtrip_and_lengths():
    r = Ragged.from_list([[1, 2], [], [3]])
    assert len(r) == 3
    assert r.lengths.tolist() == [2, 0, 1]
    assert [t.tolist() for t in r.to_list()] == [[1, 2], [], [3]]
    assert r[-1].tolist() == [3]
    assert r.select([2, 0]).to_list()[1].tolist() == [1, 2]
    both = Ragged.cat([r, Ragged.from_list([[9, 9]])])
    assert [t.tolist() for t in both.to_list()] == [[1, 2], [], [3], [9, 9]]
    with pytest.raises(IndexError):
        r[3]


def test_batch_select_cat_and_pickle():
    b = batch()
    sub = b.select([3, 0])
    assert sub.prompt_uids == ["b", "a"]
    assert sub.response_ids[0].tolist() == []
    assert sub.rewards.tolist() == [1.0, 1.0]
    assert sub.advantages is None
    joined = TrajectoryBatch.cat([sub, b])
    assert len(joined) == 6
    again = pickle.loads(pickle.dumps(b))
    assert torch.equal(again.response_ids.values, b.response_ids.values)


def test_batch_validates_sizes():
    b = batch()
    with pytest.raises(ValueError, match="4 responses"):
        TrajectoryBatch(**{**b.__dict__, "prompt_uids": ["a"]})
    with pytest.raises(ValueError, match="lengths differ"):
        TrajectoryBatch(**{**b.__dict__, "response_logprobs": Ragged.from_list([[0.0]] * 4)})
    with pytest.raises(ValueError, match="2 prompts but 1 uids"):
        RolloutRequest(prompt_ids=Ragged.from_list([[1], [2]]), prompt_uids=["a"], answers=[["1"], ["2"]], group_size=2)


def test_distinct_rows_groups_equal_tokens_in_first_seen_order():
    from rlinf_core import distinct_rows

    a, b = torch.tensor([5, 6]), torch.tensor([5, 7])
    rows = distinct_rows([a, b, a.clone(), b, torch.tensor([5])])
    assert rows.first == [0, 1, 4]
    assert rows.of_row.tolist() == [0, 1, 0, 1, 2]
    assert rows.repeats and not distinct_rows([a, b]).repeats
