"""The placement simulator on synthetic profiles whose step times are computed by hand, the
profile built from a timeline, candidate enumeration, and `rlinf plan` on given profiles."""

import json
import subprocess
from dataclasses import replace
import sys

import pytest

from rlinf_core.cluster.placement import parse_placement
from rlinf_core.flow.timeline import Span
from rlinf_core.plan.candidates import candidates, layouts_of, rank_candidates
from rlinf_core.plan.profile import ComponentProfile, Profile, build_profile
from rlinf_core.plan.simulate import CostModel, Layout, predict


def profile(threads, rollout_s_per_token, actor_s_per_token, staleness=0, device_type="cpu"):
    """1000 generated tokens, 500 trained tokens per step; reward tail 0.1 s, sync 0.2 s, overhead 0.05 s."""
    def comp(per_unit, units, unit):
        return ComponentProfile(ranks=1, threads=threads, devices=list(range(threads)), unit=unit,
                                per_unit_s=per_unit, units_per_step=units, seconds_per_step=per_unit * units)
    return Profile(cpu="test", placement=f"{threads} threads", max_staleness=staleness, steps=5, step_s=0.0,
                   sync_s=0.2, offload_s=0.0, driver_s=0.05, reward_tail_s=0.1, response_length_mean=10.0,
                   response_length_max=20.0, device_type=device_type, components={
                       "rollout": comp(rollout_s_per_token, 1000.0, "generated token"),
                       "reward": comp(0.001, 100.0, "response"),
                       "actor": comp(actor_s_per_token, 500.0, "trained token")})


@pytest.fixture
def model():
    # 1 thread: rollout 0.01 s/token (10 s a step), actor 0.02 s/token (10 s); 2 threads: 0.006, 0.012 (6 s each).
    return CostModel([profile(1, 0.01, 0.02), profile(2, 0.006, 0.012)])


def lay(ranks, threads, devices):
    return Layout(ranks=ranks, threads=threads, devices=tuple(devices), nodes=(0,) * ranks)


def test_synchronous_steps_add_their_phases(model):
    both = {"rollout": lay(1, 2, [0, 1]), "reward": lay(1, 2, [0, 1]), "actor": lay(1, 2, [0, 1])}
    assert predict(model, both, 0, offload=False).step_s == pytest.approx(6 + 0.1 + 6 + 0.2 + 0.05)
    split = {"rollout": lay(1, 1, [0]), "reward": lay(1, 1, [0]), "actor": lay(1, 1, [1])}
    assert predict(model, split, 0, offload=False).step_s == pytest.approx(10 + 0.1 + 10 + 0.2 + 0.05)
    two_ranks = {"rollout": lay(2, 1, [0, 1]), "reward": lay(2, 1, [0, 1]), "actor": lay(2, 1, [0, 1])}
    # On CPU cores two one-thread ranks do the batch as one two-thread rank does: 6 s each, not 5.
    assert predict(model, two_ranks, 0, offload=False).step_s == pytest.approx(6 + 0.1 + 6 + 0.25)
    # On GPUs of their own, two ranks split the one-device time: 5 s each.
    gpus = CostModel([profile(1, 0.01, 0.02, device_type="gpu"), profile(2, 0.006, 0.012, device_type="gpu")])
    assert predict(gpus, two_ranks, 0, offload=False).step_s == pytest.approx(5 + 0.1 + 5 + 0.25)


def test_staleness_overlaps_rollout_and_training(model):
    split = {"rollout": lay(1, 1, [0]), "reward": lay(1, 1, [0]), "actor": lay(1, 1, [1])}
    pred = predict(model, split, 1, offload=False)
    assert pred.step_s == pytest.approx(max(10.1, 10) + 0.25) and pred.bottleneck == "rollout"
    # Hybrid: the actor's 2 threads on cores 0-1, the rollout's one on core 0. While both run, core 0
    # holds 2 threads: both go at half speed. The actor's 6 s end at 12 s, when the rollout has done
    # 6 of its 10.1 s; the remaining 4.1 s run alone: 16.1 s, plus sync and overhead.
    hybrid = {"rollout": lay(1, 1, [0]), "reward": lay(1, 1, [0]), "actor": lay(1, 2, [0, 1])}
    pred = predict(model, hybrid, 1, offload=False)
    assert pred.step_s == pytest.approx(16.1 + 0.25) and pred.bottleneck == "rollout"


def test_thread_scaling_is_interpolated_in_log_log_and_assumed_from_one_point(model):
    assert model.per_unit("rollout", 1) == pytest.approx(0.01)
    assert model.per_unit("rollout", 2) == pytest.approx(0.006)
    assert model.per_unit("rollout", 4) == pytest.approx(0.006 * 0.6)  # the 1 -> 2 slope continued
    single = CostModel([profile(2, 0.006, 0.012)], alpha=1.0)
    assert single.per_unit("actor", 1) == pytest.approx(0.024)
    assert any("one thread count" in note for note in single.notes)


def test_streamed_steps_pipeline_their_parts_on_separate_devices(model):
    split = {"rollout": lay(1, 1, [0]), "reward": lay(1, 1, [0]), "actor": lay(1, 1, [1])}
    # 4 parts: the rollout's 10.1 s (with scoring) and the actor's 10 s in quarters, 2.525 s and
    # 2.5 s: the first part's generation, three more at the rollout's pace, the last part's training.
    pred = predict(model, split, 0, offload=False, parts=4)
    assert pred.step_s == pytest.approx(2.525 + 3 * 2.525 + 2.5 + 0.25) and pred.bottleneck == "rollout"
    # On shared devices the parts go to the actor after sampling: the synchronous sum.
    both = {"rollout": lay(1, 2, [0, 1]), "reward": lay(1, 2, [0, 1]), "actor": lay(1, 2, [0, 1])}
    assert predict(model, both, 0, offload=False, parts=4).step_s == pytest.approx(6 + 0.1 + 6 + 0.25)


def test_candidates_on_two_devices_and_their_ranking(model):
    labels = [c.label for c in candidates(2)]
    assert labels == ["collocated", "collocated, 2 ranks each", "disaggregated 1+1", "disaggregated 1+1, staleness 1",
                      "hybrid (rollout 1, actor 2), staleness 1"]
    layouts = layouts_of(candidates(2)[4], 2)
    assert layouts["actor"] == lay(1, 2, [0, 1]) and layouts["rollout"] == lay(1, 1, [0])
    ranked = [(c.label, round(p.step_s, 2)) for c, p in rank_candidates(model, 2)]
    assert ranked == [("disaggregated 1+1, staleness 1", 10.35), ("collocated", 12.35),
                      ("collocated, 2 ranks each", 12.35), ("hybrid (rollout 1, actor 2), staleness 1", 16.35),
                      ("disaggregated 1+1", 20.35)]
    # Streamed candidates when the recipe can stream: 16 prompts in parts of 2 on one rollout rank,
    # 8 parts of 1.2625 s and 1.25 s: 1.2625 + 7 x 1.2625 + 1.25 + 0.25.
    assert not any("streamed" in c.label for c, _ in rank_candidates(model, 2, prompts_per_step=16, stream_groups=2))
    streamed = dict((c.label, (c, p)) for c, p in rank_candidates(model, 2, prompts_per_step=16, stream_groups=2,
                                                                   stream_model=model))
    cand, pred = streamed["disaggregated 1+1, streamed"]
    assert pred.step_s == pytest.approx(8 * 1.2625 + 1.25 + 0.25)
    assert "runner.groups_per_part=2" in cand.overrides() and "runner.max_staleness=0" in cand.overrides()


def test_profile_from_a_timeline_and_metrics():
    placement = parse_placement("rollout,reward: 0, actor: 1", cpus_per_node=2,
                                devices_per_rank={"actor": 1, "rollout": 1, "reward": 1})
    spans, history = [], []
    for step in (1, 2, 3):
        t = 100.0 * step
        spans += [Span("rollout", 0, "generate_part", t, t + 2.0, step), Span("reward", 0, "score_part", t + 2.0, t + 2.5, step),
                  Span("actor", 0, "train_on", t + 3.0, t + 7.0, step), Span("rollout", 0, "generate", t + 8, t + 9, step)]
        history.append({"step": step, "time/step": 8.0, "time/rollout": 2.2, "time/reward": 0.3, "time/train": 4.1,
                        "time/sync": 0.5, "rollout/generated_tokens": 400.0, "rollout/generated_responses": 16.0,
                        "train/tokens": 1000.0, "rollout/response_length": 25.0, "rollout/response_length_max": 40.0,
                        "memory/actor_peak_mb": 600.0 + step, "time/rollout_decode_fixed_share": 0.3 + 0.1 * step})
    prof = build_profile(spans, history, placement, 0, "split", warmup=1)
    assert prof.steps == 2 and prof.step_s == 8.0
    assert prof.components["rollout"].per_unit_s == pytest.approx(2.0 / 400)  # validation's generate not counted
    assert prof.components["reward"].per_unit_s == pytest.approx(0.5 / 16)
    assert prof.components["actor"].per_unit_s == pytest.approx(4.0 / 1000) and prof.components["actor"].peak_mb == 603.0
    assert prof.components["actor"].threads == 1 and prof.components["actor"].devices == [1]
    assert prof.driver_s == pytest.approx(8.0 - (2.0 + 0.3 + 4.0 + 0.5))
    # The rollout's fixed share: the median over the profiled steps (0.5, 0.6); one call a step.
    assert prof.components["rollout"].fixed_share == pytest.approx(0.55)
    assert prof.components["rollout"].calls_per_step == 1.0 and prof.components["actor"].fixed_share == 0.0


def test_rlinf_plan_ranks_candidates_from_given_profiles(tmp_path):
    from dataclasses import asdict

    paths = []
    for threads, r, a in ((1, 0.01, 0.02), (2, 0.006, 0.012)):
        path = tmp_path / f"p{threads}.json"
        path.write_text(json.dumps(asdict(profile(threads, r, a))))
        paths += ["--profile", str(path)]
    recipe = tmp_path / "r.yaml"
    recipe.write_text("cluster: {num_cpus_per_node: 2}\n")
    proc = subprocess.run([sys.executable, "-m", "rlinf_core.cli", "plan", str(recipe), *paths],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line[:2].strip().isdigit()]
    assert [r[1] for r in rows] == ["10.35", "12.35", "12.35", "16.35", "20.35"]
    assert "use the best:  cluster.component_placement='rollout,reward: 0, actor: 1'" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "rlinf_core.cli", "plan", str(recipe), "--profile", str(recipe)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "is not a profile" in bad.stderr


def auto_plan(label, predicted, profiles):
    from rlinf_core.plan.auto import AutoPlan

    return AutoPlan(next(c for c in candidates(2) if c.label == label), "test", 3, predicted, list(profiles))


def test_auto_replan_stays_within_the_drift_and_switches_beyond_it(model):
    from rlinf_core.config import load_config
    from rlinf_core.plan.auto import replan

    cfg = load_config(None, ["cluster.num_cpus_per_node=2", "data.rollout_batch_size=4", "algorithm.group_size=4",
                             "actor.global_batch_size=8", "actor.micro_batch_size=4"])
    profiles = model.profiles
    own = profile(2, 0.006, 0.012)  # the same costs again: the ranking of the test above
    # Predicted 12.35 s for collocated, measured 12.0 s: -3%, within the default 20%.
    chosen, why = replan(cfg, auto_plan("collocated", 12.35, profiles), own, 12.0)
    assert chosen is None and "within runner.replan_drift 20%" in why
    # Measured 20 s: +62%. Re-ranked, the best (10.35 s) is more than 5% faster than 20 s: switch.
    chosen, why = replan(cfg, auto_plan("collocated", 12.35, profiles), own, 20.0)
    best = "disaggregated 1+1, staleness 1"
    assert chosen.label == best and why.startswith(f"switching to {best}")
    # Started without a profile (no prediction): re-ranked always; 10.35 s is not 5% below 10.5 s: stay.
    chosen, why = replan(cfg, auto_plan("collocated", None, []), own, 10.5)
    assert chosen is None and "less than 5% faster" in why
    chosen, why = replan(cfg, auto_plan(best, None, profiles), own, 20.0)
    assert chosen is None and "still the fastest" in why


def test_candidates_over_the_nodes_memory_do_not_fit():
    from rlinf_core.config import load_config
    from rlinf_core.plan.auto import ranked_fits

    cfg = load_config(None, ["cluster.num_cpus_per_node=2", "data.rollout_batch_size=4", "algorithm.group_size=4",
                             "actor.global_batch_size=8", "actor.micro_batch_size=4"])
    heavy = [profile(1, 0.01, 0.02), profile(2, 0.006, 0.012)]
    for p, (rollout, reward, actor) in zip(heavy, ((900.0, 300.0, 1500.0), (1000.0, 300.0, 1400.0))):
        p.components["rollout"].peak_mb, p.components["reward"].peak_mb, p.components["actor"].peak_mb = rollout, reward, actor
    # Every rank at its component's largest peak: one rank each is 1000 + 300 + 1500 = 2800 MB;
    # "collocated, 2 ranks each" doubles it, 5600 MB, over a 4000 MB node.
    ranking = ranked_fits(cfg, heavy, memory_mb=4000.0)
    ranked, skip = ranking.ranked, ranking.skip
    assert {c.label: p.memory_mb for c, p in ranked}["collocated"] == 2800.0
    assert "hybrid (rollout 1, actor 2), staleness 1" in {c.label for c, _ in ranked}
    assert skip["collocated, 2 ranks each"] == "needs ~5600 MB on a node (its ranks' profiled peaks), a node has 4000 MB"
    assert "collocated, 2 ranks each" not in {c.label for c, _ in ranked}


def test_candidates_on_two_nodes_and_memory_per_node(model):
    for p in model.profiles:
        p.components["rollout"].peak_mb, p.components["reward"].peak_mb, p.components["actor"].peak_mb = 1000.0, 300.0, 1500.0
    ranked = {c.label: p for c, p in rank_candidates(model, 2, nodes=2)}
    assert sorted(ranked) == ["collocated on 2 nodes", "collocated on 2 nodes, 2 ranks per node each",
                              "disaggregated 1+1 nodes", "disaggregated 1+1 nodes, staleness 1"]
    # 2-thread ranks, one per node: each phase's work halves (3 s each); 2 one-thread ranks per
    # node share its cores as one 2-thread rank would: 3 s each too.
    assert ranked["collocated on 2 nodes"].step_s == pytest.approx(3 + 0.1 + 3 + 0.25)
    assert ranked["collocated on 2 nodes, 2 ranks per node each"].step_s == pytest.approx(3 + 0.1 + 3 + 0.25)
    assert ranked["disaggregated 1+1 nodes, staleness 1"].step_s == pytest.approx(6.1 + 0.25)
    # A node holds one rank of each component (2800 MB), or the rollout and reward (1300) / the actor (1500).
    assert ranked["collocated on 2 nodes"].memory_mb == 2800.0
    assert ranked["disaggregated 1+1 nodes"].memory_mb == 1500.0


def test_an_overlapped_profile_gives_each_component_its_co_run_factor(model):
    # Beside each other on cores 0 and 1 (staleness 1), the rollout ran 5% and the actor 20%
    # slower per unit than alone at one thread (0.01 and 0.02 s a token).
    overlapped = profile(1, 0.0105, 0.024, staleness=1)
    overlapped.components["actor"].devices = [1]
    both = CostModel([*model.profiles, overlapped])
    assert both.co_run == pytest.approx({"rollout": 1.05, "actor": 1.2})
    assert both.per_unit("actor", 1) == pytest.approx(0.02)  # solo costs come from the solo runs only
    assert model.co_run == {"rollout": 1.0, "actor": 1.0} and any("no overlapped run" in n for n in model.notes)
    split = {"rollout": lay(1, 1, [0]), "reward": lay(1, 1, [0]), "actor": lay(1, 1, [1])}
    # Both slowed while both run: the rollout's 10.1 s end at 10.605 s; the actor has done
    # 10.605 / 1.2 of its 10 s and finishes the rest alone.
    assert predict(both, split, 1, offload=False).step_s == pytest.approx(10.605 + (10 - 10.605 / 1.2) + 0.25)
    # Synchronous but two ranks of each component at once: on CPU cores, as one 2-thread rank (no
    # factor: the thread scaling has the cores' sharing); on GPUs, each phase pays its factor.
    two_ranks = {"rollout": lay(2, 1, [0, 1]), "reward": lay(2, 1, [0, 1]), "actor": lay(2, 1, [0, 1])}
    assert predict(both, two_ranks, 0, offload=False).step_s == pytest.approx(6 + 0.1 + 6 + 0.25)
    on_gpus = CostModel([replace(p, device_type="gpu") for p in both.profiles])
    assert predict(on_gpus, two_ranks, 0, offload=False).step_s == pytest.approx(5 * 1.05 + 0.1 + 5 * 1.2 + 0.25)
    assert predict(both, split, 0, offload=False).step_s == pytest.approx(10 + 0.1 + 10 + 0.25)  # one at a time
    # Streamed in 4 parts: generation 2.525 s a part, 1.05x after the first; training 2.5 s a part,
    # 1.2x (3 s) but the last: the actor waits for nothing after the first part and ends at
    # 2.525 + 3 + 3 + 3 + 2.5.
    assert predict(both, split, 0, offload=False, parts=4).step_s == pytest.approx(2.525 + 3 * 3 + 2.5 + 0.25)
