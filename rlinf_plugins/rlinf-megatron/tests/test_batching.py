"""Which rows a model-parallel group trains on (the union of its members' shards, minibatch by
minibatch) and the token-budget micro-batches, against hand-computed layouts."""

import pytest
import torch

from rlinf_core.testing.batches import random_trajectory_batch
from rlinf_megatron.batching import micro_batches, union_order
from rlinf_megatron.parallel import union_of

from .conftest import run_two_rank_script


def test_union_is_minibatch_by_minibatch():
    # two members with 4 rows each, 2 minibatches: minibatch 0 = member 0's rows 0-1, member 1's rows 0-1
    order, positions = union_order([4, 4], 2)
    assert order == [(0, 0), (0, 1), (1, 0), (1, 1), (0, 2), (0, 3), (1, 2), (1, 3)]
    assert positions == [[0, 1, 4, 5], [2, 3, 6, 7]]
    with pytest.raises(ValueError, match="actor rank 1's 3 rows do not split into 2 minibatches"):
        union_order([4, 3], 2)


def test_union_of_batches_keeps_every_field_and_hands_rows_back():
    shards = [random_trajectory_batch(4, seed=s) for s in (1, 2)]
    union, positions = union_of(shards, 2)
    assert len(union) == 8
    for member, shard in enumerate(shards):
        for row, k in enumerate(positions[member]):
            assert torch.equal(union.response_ids[k], shard.response_ids[row])
            assert torch.equal(union.prompt_ids[k], shard.prompt_ids[row])
            assert float(union.advantages[k]) == float(shard.advantages[row])


def test_token_budget_micro_batches():
    lengths = [10, 3, 7, 3, 12, 5]
    # sorted: 1(3) 3(3) 5(5) 2(7) 0(10) 4(12); budget 16: [1,3,5] = 3 x 5 = 15; [2] + 0 would be 2 x 10 = 20
    assert micro_batches(lengths, range(6), 16, 99) == [[1, 3, 5], [2], [0], [4]]
    assert micro_batches(lengths, range(6), 20, 99) == [[1, 3, 5], [2, 0], [4]]
    assert micro_batches(lengths, range(6), 8, 99) == [[1, 3], [5], [2], [0], [4]]  # 10 and 12 run alone, over budget
    assert micro_batches(lengths, [0, 2, 4], 0, 2) == [[2, 0], [4]]  # no budget: fixed rows


def test_the_ranks_of_one_replica_train_on_the_same_rows(tmp_path):
    """Two data-parallel replicas keep their own shards; one replica split by context parallelism
    trains both ranks on the union of the two shards (Megatron-Core's parallel_state on gloo)."""
    run_two_rank_script("same_rows.py", tmp_path)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    shards = [random_trajectory_batch(4, seed=10 + r) for r in (0, 1)]
    for r in (0, 1):  # context parallel 1: two replicas, each on its own shard
        got = ranks[r][1]
        assert got["size"] == 1 and got["union"] == [shards[r].response_ids[i].tolist() for i in range(4)]
    expected = union_of(shards, 2)[0]
    for r in (0, 1):  # context parallel 2: one replica, both ranks on the same union
        got = ranks[r][2]
        assert got["size"] == 2 and got["member"] == r
        assert got["union"] == [expected.response_ids[i].tolist() for i in range(8)]
        assert got["positions"] == union_order([4, 4], 2)[1]
