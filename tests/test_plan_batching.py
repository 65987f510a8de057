"""The continuous-batching decode model (rlinf_core/plan/batching.py) against hand-computed times."""

import pytest

from rlinf_core.plan.batching import DecodeCosts, group_finish_times


def costs(**kw) -> DecodeCosts:
    base = dict(fixed=0.0, compute=0.0, kv_read=0.0, prefill=0.0, kv_capacity=10_000, max_seqs=64)
    return DecodeCosts(**{**base, **kw})


def test_a_full_engine_queues_and_a_freed_slot_takes_the_next():
    # max 2 running, 1 s a step: g0 (3) and g1 (5) start at 0; g2 (2) takes g0's slot at step 3
    # and ends at step 5 with g1.
    assert group_finish_times(costs(fixed=1.0, max_seqs=2), [[3], [5], [2]], prompt=0) == [3.0, 5.0, 5.0]


def test_a_step_reads_the_whole_cache_and_pays_per_row():
    # prompt 2, 3 new tokens: the steps read 2, 3 and 4 cached tokens (9 s at 1 s a token), each
    # pays 10 s for its one row, and the prompt's prefill 2 x 0.5 s.
    c = costs(kv_read=1.0, compute=10.0, prefill=0.5)
    assert group_finish_times(c, [[3]], prompt=2) == [40.0]


def test_a_group_ends_with_its_longest_response():
    assert group_finish_times(costs(fixed=1.0), [[2, 7, 4], [1]], prompt=0) == [7.0, 1.0]


def test_a_full_cache_preempts_the_last_admitted_which_recomputes_its_context():
    # Cache of 6 tokens, two sequences of 4: after 3 steps the cache holds 6 and the next step
    # would need 8, so the second (3 tokens made) is preempted. The first ends at step 4 (4 s);
    # the second is readmitted with a 3-token context (3 s of prefill) and makes its last token.
    c = costs(fixed=1.0, prefill=1.0, kv_capacity=6, max_seqs=2)
    assert group_finish_times(c, [[4], [4]], prompt=0) == [4.0, 8.0]


def test_more_rows_or_a_longer_cache_make_steps_slower():
    alone = group_finish_times(costs(fixed=1.0, compute=0.1, kv_read=0.01), [[100]], prompt=50)[0]
    shared = group_finish_times(costs(fixed=1.0, compute=0.1, kv_read=0.01), [[100, 100]], prompt=50)[0]
    # 100 steps: 1 + 0.1 rows + 0.01 x (50 .. 149 per row)
    assert alone == pytest.approx(100 * 1.1 + 0.01 * sum(range(50, 150)))
    assert shared == pytest.approx(100 * 1.2 + 0.01 * 2 * sum(range(50, 150)))


def test_a_response_longer_than_the_cache_is_refused_with_its_group():
    with pytest.raises(ValueError, match="group 1: a response of 12 tokens does not fit a KV cache of 10"):
        group_finish_times(costs(kv_capacity=10), [[3], [10]], prompt=2)
