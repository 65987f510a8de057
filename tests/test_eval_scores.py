"""avg@K and the unbiased pass@k of the core's evaluator, against hand-computed values."""

import pytest

from rlinf_core.evaluation.scores import ks_for, pass_at_k, summarize


def test_pass_at_k_by_hand():
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # 1 - C(3,2)/C(5,2)
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 3, 3) == 1.0  # fewer wrong samples than k: always a hit
    assert pass_at_k(4, 1, 4) == 1.0
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_summary_by_hand():
    table = [[True, False, False, False], [True, True, False, True], [False] * 4]
    s = summarize(table)
    assert s["avg@4"] == pytest.approx((0.25 + 0.75 + 0) / 3)
    assert s["pass@1"] == pytest.approx(s["avg@4"])  # the unbiased pass@1 is avg@K
    assert s["pass@2"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)  # 1 - C(3,2)/C(4,2) = 0.5; 1 - 0 = 1
    assert s["pass@4"] == pytest.approx(2 / 3)
    assert ks_for(32) == [1, 2, 4, 8, 16, 32] and ks_for(5) == [1, 2, 4, 5] and ks_for(1) == [1]
