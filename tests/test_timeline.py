"""The timeline's arithmetic (busy time and fractions) against hand-computed values, and its plot;
the spans of a real run through Ray are checked in tests/test_e2e_grpo.py."""

import os

from rlinf_core.flow.timeline import Span, busy_fractions, busy_seconds, plot_timeline, read_spans


def test_busy_seconds_merges_overlaps_and_clips_to_the_window():
    assert busy_seconds([], 0.0, 10.0) == 0.0
    assert busy_seconds([(1.0, 3.0), (2.0, 4.0)], 0.0, 10.0) == 3.0  # [1, 4]
    assert busy_seconds([(1.0, 2.0), (5.0, 6.0)], 0.0, 10.0) == 2.0
    assert busy_seconds([(-5.0, 1.0), (9.0, 20.0)], 0.0, 10.0) == 2.0  # clipped to [0, 1] and [9, 10]
    assert busy_seconds([(2.0, 8.0), (3.0, 4.0)], 0.0, 10.0) == 6.0  # nested


def test_busy_fractions_divide_by_wall_time_and_ranks():
    spans = [
        Span("rollout", 0, "generate", 0.0, 6.0, 1),
        Span("rollout", 1, "generate", 0.0, 2.0, 1),
        Span("actor", 0, "train_step", 6.0, 10.0, 1),
        Span("actor", 0, "state_dict_for_rollout", 9.0, 10.0, 1),  # overlaps the train_step span
    ]
    fractions = busy_fractions(spans, {"rollout": 2, "actor": 1, "reward": 1}, 0.0, 10.0)
    assert fractions == {"rollout": (6.0 + 2.0) / 20.0, "actor": 0.4, "reward": 0.0}


def test_plot_draws_one_lane_per_component_and_rank(tmp_path):
    spans = [Span("rollout", r, "generate", 100.0 + step, 100.6 + step, step) for step in (1, 2) for r in (0, 1)]
    spans += [Span("actor", 0, "train_step", 100.6 + step, 101.0 + step, step) for step in (1, 2)]
    path = plot_timeline(spans, str(tmp_path / "timeline.png"), last_steps=1)
    assert os.path.getsize(path) > 5_000
    assert read_spans(str(tmp_path / "absent.jsonl")) == []
