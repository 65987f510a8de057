"""The decode loop's fixed share (rlinf_core.plan.decode_cost) on hand-made step timings, and
how the simulator splits a rollout call with it."""

import pytest

from rlinf_core.plan.decode_cost import DecodeSteps, fixed_share, fixed_step_seconds
from rlinf_core.plan.profile import ComponentProfile, Profile
from rlinf_core.plan.simulate import CostModel, Layout, predict


def steps(a, b, rows):
    return DecodeSteps(rows=list(rows), seconds=[a + b * r for r in rows])


def test_the_fixed_part_of_a_step_is_the_intercept_even_with_a_stalled_step():
    loop = steps(0.010, 0.001, [8, 8, 6, 6, 5, 3, 3, 2, 1, 1])
    assert fixed_step_seconds(loop.rows, loop.seconds) == pytest.approx(0.010)
    loop.seconds[4] += 0.5  # another process took the core for one step
    assert fixed_step_seconds(loop.rows, loop.seconds) == pytest.approx(0.010)


def test_no_fixed_part_without_rows_leaving_or_with_too_few_steps():
    assert fixed_step_seconds([4, 4, 4, 4], [0.1, 0.1, 0.1, 0.1]) is None
    assert fixed_step_seconds([4, 2], [0.1, 0.05]) is None
    assert fixed_share([DecodeSteps()], 1.0) is None


def test_the_share_sums_every_loop_of_a_call():
    # Two chunks of 4 steps, 10 ms fixed per step: 80 ms of a 200 ms call.
    loops = [steps(0.010, 0.002, [4, 3, 2, 1]), steps(0.010, 0.004, [4, 4, 2, 1])]
    assert fixed_share(loops, 0.200) == pytest.approx(0.4)
    assert fixed_share(loops, 0.050) == 1.0  # never over the whole call


def test_the_step_timer_records_rows_in_order():
    loop = DecodeSteps()
    loop.start()
    for rows in (3, 2, 1):
        loop.step(rows)
    assert loop.rows == [3, 2, 1] and len(loop.seconds) == 3 and all(s >= 0 for s in loop.seconds)


def profile(share, calls, rollout_busy=12.0, device_type="gpu"):
    """One rollout rank that was busy ``rollout_busy`` s a step over 1000 tokens in ``calls`` calls
    (on GPUs: ranks on devices of their own split the rows; on CPU cores see tests/test_plan.py)."""
    def comp(per_unit, units, unit, **kw):
        return ComponentProfile(ranks=1, threads=1, devices=[0], unit=unit, per_unit_s=per_unit,
                                units_per_step=units, seconds_per_step=per_unit * units, **kw)
    return Profile(cpu="test", placement="split", max_staleness=0, steps=5, step_s=0.0, sync_s=0.0, offload_s=0.0,
                   driver_s=0.0, reward_tail_s=0.0, response_length_mean=10.0, response_length_max=20.0,
                   device_type=device_type, components={
                       "rollout": comp(rollout_busy / 1000, 1000.0, "generated token", fixed_share=share,
                                       calls_per_step=calls),
                       "reward": comp(0.0, 100.0, "response"),
                       "actor": comp(0.01, 500.0, "trained token")})


def lay(ranks, devices):
    return Layout(ranks=ranks, threads=1, devices=tuple(devices), nodes=(0,) * ranks)


def test_a_split_rollout_pays_the_fixed_share_in_every_call():
    # Profiled in 2 calls a step with half of each call fixed: 12 s = whole x (2 x 0.5 + 0.5),
    # so one whole-batch call costs 8 s.
    model = CostModel([profile(0.5, 2)])
    assert model.fixed_share == 0.5
    one = {"rollout": lay(1, [0]), "reward": lay(1, [0]), "actor": lay(1, [1])}
    assert predict(model, one, 0, offload=False).phases["rollout"] == pytest.approx(8.0)
    # Two ranks: each pays 8 x (0.5 + 0.5 / 2) = 6 s, not 4.
    two = {"rollout": lay(2, [0, 1]), "reward": lay(2, [0, 1]), "actor": lay(2, [0, 1])}
    assert predict(model, two, 0, offload=False).phases["rollout"] == pytest.approx(6.0)
    # Four streamed parts on one rank: 8 x (4 x 0.5 + 0.5) = 20 s.
    assert predict(model, one, 0, offload=False, parts=4).phases["rollout"] == pytest.approx(20.0)


def test_without_a_measured_share_a_split_is_its_share_and_the_model_says_so():
    model = CostModel([profile(0.0, 1)])
    two = {"rollout": lay(2, [0, 1]), "reward": lay(2, [0, 1]), "actor": lay(2, [0, 1])}
    assert predict(model, two, 0, offload=False).phases["rollout"] == pytest.approx(6.0)
    assert any("did not time its decode steps" in n for n in model.notes)
