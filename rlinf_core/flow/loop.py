"""The run from start to finish: validate, launch, step, validate, keep the best, save, report.

The step itself is :meth:`rlinf_core.runner.Trainer.step`. Around it: a validation at step 0
(``runner.val_at_start``) so the run's report compares start, best and final in one unit;
validation every ``runner.val_interval`` steps and at the end, printed when it happens; the
best-validation checkpoint kept in ``checkpoints/best`` (``runner.keep_best``); periodic
and final checkpoints; SIGINT/SIGTERM stop at the end of a step with a checkpoint; steps
with no finite update counted; each step's component spans go to the timeline
(:mod:`rlinf_core.flow.timeline`), and at the end the run's cost profile
(:mod:`rlinf_core.plan.profile`). The last lines printed say whether the model got better
and name every output.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional

import yaml

from rlinf_core import checkpoint as ckpt
from rlinf_core.cluster.node_loss import explain_node_loss
from rlinf_core.errors import WorkerError
from rlinf_core.flow.best import BEST_DIR, Point, ValidationRecord, read_best_info, summary_lines, validation_metric_names
from rlinf_core.flow.timeline import Timeline
from rlinf_core.interfaces.tracker import ResumeInfo
from rlinf_core.plan.auto import AutoPlan, choose_placement, is_auto, with_candidate
from rlinf_core.plan.profile import write_profile
from rlinf_core.runner import RunResult, Trainer, TrainingDiverged, prepare_assets, prepare_output_dir
from rlinf_core.trackers import build_trackers, flatten_params


class StopFlag:
    """SIGINT/SIGTERM ask the loop to stop at the end of the current step; a second SIGINT aborts."""

    def __init__(self) -> None:
        self.signal_name: Optional[str] = None
        self._previous: Dict[int, Any] = {}

    def __enter__(self) -> "StopFlag":
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signal_name is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name
        print(f"\n[rlinf] {self.signal_name}: stopping after this step and saving a checkpoint "
              f"(press Ctrl-C again to abort without saving)", file=sys.stderr, flush=True)

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _format_validation(metrics: Dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if not k.startswith("time/"))


class RunState:
    """What the loop keeps across steps: the validation record, bad-step count, last validated step."""

    def __init__(self, trainer: Trainer, result: RunResult, tracker: Any, say: Any):
        self.trainer, self.result, self.tracker, self.say = trainer, result, tracker, say
        metric = trainer.best_metric or next(iter(_val_names(trainer)), None)
        self.record = ValidationRecord.from_history(metric, trainer.history) if metric else None
        on_disk = read_best_info(trainer.checkpoint_root) if trainer.best_metric else None
        if self.record is not None and on_disk and on_disk.get("metric") == metric:
            # A best saved after the checkpoint this run resumed from still counts.
            if self.record.best is None or on_disk["value"] > self.record.best.value:
                self.record.best = Point(int(on_disk["step"]), float(on_disk["value"]))
        self.bad_steps = 0
        self.evaluated_at = -1
        self.timeline: Optional[Timeline] = None
        self.auto: Optional[AutoPlan] = None  # cluster.component_placement=auto: the choice and its re-plan

    def replan_due(self, step: int) -> bool:
        return self.auto is not None and not self.auto.replanned and step == self.auto.replan_at

    def spans_of(self, step: int, since: float, metrics: Dict[str, float]) -> None:
        """Add the step's component spans to the timeline and its busy fractions to ``metrics``."""
        if self.timeline is not None:
            metrics.update(self.timeline.collect(step, since, time.time()))

    def validate(self, step: int, metrics: Dict[str, float]) -> None:
        """Run validation, print it, log it into ``metrics``, and save a new best checkpoint."""
        trainer = self.trainer
        self.result.validation = trainer.evaluate()
        metrics.update(self.result.validation)
        self.evaluated_at = step
        self.say(f"validation at step {step}: {_format_validation(self.result.validation)}")
        if self.record is not None and self.record.observe(step, self.result.validation) and trainer.best_metric:
            where = trainer.save(step, best=self.record)
            self.say(f"new best {self.record.metric} {self.record.best.value:.4f} at step {step}: {where}")


def _val_names(trainer: Trainer) -> List[str]:
    return validation_metric_names(trainer.cfg.data.val_data_paths, trainer.cfg.runner.val_samples)


def _one_step(state: RunState, stop: StopFlag, progress: Any) -> bool:
    """One training step with its validation and checkpoint; False when the data ran out."""
    trainer, cfg = state.trainer, state.trainer.cfg
    step = trainer.step_count + 1
    prompts = None if trainer.prefetch.has(step) else trainer.cursor.next()
    if prompts is None and not trainer.prefetch.has(step):
        return False  # runner.max_epochs passes over the data are done
    # Sample the next step while this one trains, unless a checkpoint or the end comes first.
    save_step = bool(cfg.runner.save_interval) and step % cfg.runner.save_interval == 0
    ahead = (cfg.runner.max_staleness > 0 and step < cfg.runner.max_steps and not save_step and stop.signal_name is None
             and not state.replan_due(step))
    started = time.time()
    metrics = trainer.step(step, prompts, prefetch_next=ahead)
    trainer.step_count = step
    last = step == cfg.runner.max_steps or stop.signal_name is not None
    if trainer.val_sets and (last or (cfg.runner.val_interval and step % cfg.runner.val_interval == 0)):
        state.validate(step, metrics)
    state.spans_of(step, started, metrics)
    state.tracker.log_metrics(metrics, step)
    trainer.history.append({"step": step, **metrics})
    progress.update(step, metrics)
    bad = metrics.get("train/skipped_updates", 0) > 0 and metrics.get("train/optimizer_steps", 1) == 0
    state.bad_steps = state.bad_steps + 1 if bad else 0
    if state.bad_steps >= cfg.runner.max_consecutive_bad_steps:
        raise TrainingDiverged(
            f"{state.bad_steps} consecutive steps had no finite update (NaN or Inf in the loss or gradients; "
            f"see train/skipped_updates). Last complete checkpoint: "
            f"{ckpt.latest_valid(trainer.checkpoint_root) or 'none'}. Lower actor.optim.lr or check the reward."
        )
    if cfg.runner.save_interval and step % cfg.runner.save_interval == 0 and step < cfg.runner.max_steps:
        trainer.save(step)
        state.spans_of(step, started, {})  # the checkpoint's spans belong to this step too
    return True


def _train(state: RunState) -> None:
    """Step 0 validation, the steps, and the closing validation and checkpoint."""
    from rlinf_core.flow.progress import StepProgress

    trainer, cfg, result = state.trainer, state.trainer.cfg, state.result
    with StopFlag() as stop, StepProgress(cfg.runner.max_steps, start_step=trainer.step_count) as progress:
        state.say = progress.note
        if trainer.val_sets and cfg.runner.val_at_start and trainer.step_count == 0:
            start_metrics: Dict[str, float] = {}
            started = time.time()
            state.validate(0, start_metrics)
            state.spans_of(0, started, start_metrics)
            state.tracker.log_metrics(start_metrics, 0)
            trainer.history.append({"step": 0, **start_metrics})
        while state.trainer.step_count < cfg.runner.max_steps and stop.signal_name is None:
            if not _one_step(state, stop, progress):
                break
            if state.replan_due(state.trainer.step_count) and state.trainer.step_count < cfg.runner.max_steps:
                _replan(state)
        trainer = state.trainer
        result.steps = trainer.step_count
        result.stopped_by_signal = stop.signal_name
        state.say = print
    if trainer.val_sets and trainer.step_count > 0 and state.evaluated_at != trainer.step_count:
        closing: Dict[str, float] = {}
        state.validate(trainer.step_count, closing)  # the data ran out before max_steps: evaluate the end too
        state.tracker.log_metrics(closing, trainer.step_count)
    if trainer.step_count > 0:
        result.final_checkpoint = trainer.save(trainer.step_count)


def _replan(state: RunState) -> None:
    """cluster.component_placement=auto: plan from this run's steps so far and, if another
    placement is predicted faster, continue there through a checkpoint (rlinf_core.plan.auto)."""
    import statistics

    from rlinf_core.flow.timeline import TIMELINE_FILE, read_spans
    from rlinf_core.plan.auto import replan, save_choice, with_candidate
    from rlinf_core.plan.profile import build_profile

    trainer, plan = state.trainer, state.auto
    assert plan is not None
    steps = [h for h in trainer.history if h.get("step", 0) > 0]
    measured = statistics.median(h["time/step"] for h in (steps[1:] or steps))
    own = build_profile(read_spans(os.path.join(trainer.output_dir, TIMELINE_FILE)), trainer.history, trainer.placement,
                        trainer.cfg.runner.max_staleness, plan.candidate.label, warmup=1 if len(steps) > 1 else 0,
                        groups_per_part=trainer.cfg.runner.groups_per_part)
    chosen, why = replan(trainer.cfg, plan, own, measured)
    state.say(f"placement auto at step {trainer.step_count}: {why}")
    if chosen is not None:
        checkpoint = trainer.save(trainer.step_count)
        trainer.shutdown()
        cfg = with_candidate(trainer.cfg, chosen)
        cfg.runner.resume = checkpoint
        moved = Trainer(cfg)
        moved.validate()
        moved.restore_driver_state()
        moved.launch()
        state.trainer, state.result.history = moved, moved.history
        state.timeline = Timeline(moved.output_dir, moved.groups)
        plan.candidate = chosen
    save_choice(trainer.output_dir, plan, why)


def _outputs(trainer: Trainer, tracker: Any, result: RunResult, artifacts: Dict[str, Optional[str]]) -> Dict[str, str]:
    outputs = dict(tracker.describe())
    outputs.update({name: path for name, path in artifacts.items() if path})
    best = read_best_info(trainer.checkpoint_root) if trainer.best_metric else None
    if best is not None:
        outputs["best checkpoint"] = (f"{os.path.join(trainer.checkpoint_root, BEST_DIR)} "
                                      f"(step {best['step']}, {best['metric']} {best['value']:.4f})")
    outputs["final checkpoint"] = str(result.final_checkpoint)
    if best is not None:
        outputs["evaluate"] = (f"rlinf eval --model {os.path.join(trainer.checkpoint_root, BEST_DIR)} --benchmark FILE "
                               f"(or --model the final checkpoint; docs/evaluation.md)")
    return outputs


def _write_artifacts(state: RunState) -> Dict[str, Optional[str]]:
    """``curves.png``, ``timeline.png`` and ``profile.json``, each also logged to the trackers."""
    from rlinf_core.flow.plots import plot_curves

    trainer, cfg = state.trainer, state.trainer.cfg
    out: Dict[str, Optional[str]] = {
        "curves": plot_curves(trainer.history, os.path.join(trainer.output_dir, "curves.png")),
        "timeline": state.timeline.plot() if state.timeline is not None else None,
        "profile": write_profile(trainer.output_dir, trainer.history, trainer.placement, cfg.runner.max_staleness,
                                 f"{cfg.cluster.component_placement}; devices_per_rank "
                                 f"{dict(cfg.cluster.devices_per_rank)}", cfg.runner.groups_per_part),
    }
    for path in out.values():
        if path:
            state.tracker.log_artifact(path)
    return out


def run(cfg: Any) -> RunResult:
    """Train as ``cfg`` says; returns the metric history and where things were written."""
    # Chosen before any asset is prepared: a bad runner.plan_profiles must leave nothing written.
    auto = choose_placement(cfg) if is_auto(cfg) else None
    if auto is not None:
        cfg = with_candidate(cfg, auto.candidate)
        print(f"[rlinf] placement auto: {auto.candidate.label} ({auto.reason})", file=sys.stderr, flush=True)
    prepare_assets(cfg)
    trainer = Trainer(cfg)
    trainer.validate()
    result = RunResult(output_dir=trainer.output_dir, steps=0)
    resume_state = trainer.restore_driver_state() if trainer.resumed_from else None
    if resume_state is not None and trainer.step_count >= cfg.runner.max_steps:
        print(f"{trainer.output_dir} already holds a finished run (step {trainer.step_count}/{cfg.runner.max_steps}). "
              f"Raise runner.max_steps to continue it, or train afresh with another runner.output_dir or runner.resume=none.")
        result.steps, result.final_checkpoint = trainer.step_count, trainer.resumed_from
        return result

    config_yaml = _open_output_dir(trainer)
    tracker = build_trackers(trainer.registry, cfg.tracking, trainer.output_dir)
    status, artifacts = "FAILED", {}
    state: Optional[RunState] = None
    try:
        run_name = cfg.tracking.run_name or time.strftime("grpo-%Y%m%d-%H%M%S")
        resume = ResumeInfo(run_id=trainer.run_id, step=trainer.step_count) if resume_state is not None else None
        # The trackers' imports and store set-up (seconds for MLflow) overlap the workers'
        # start-up, during which this process mostly waits on the worker processes.
        with ThreadPoolExecutor(1, thread_name_prefix="tracker-start") as pool:
            started = pool.submit(tracker.start, run_name, flatten_params(trainer.container), config_yaml, resume=resume)
            trainer.launch()
            started.result()
        trainer.run_id = result.run_id = tracker.run_id
        if resume is not None:
            print(f"[rlinf] resumed from {trainer.resumed_from} at step {trainer.step_count}", file=sys.stderr)
        result.history = trainer.history
        state = RunState(trainer, result, tracker, print)
        state.timeline = Timeline(trainer.output_dir, trainer.groups)
        state.auto = auto
        _train(state)
        trainer = state.trainer  # another one if the run changed placement
        if trainer.history:
            artifacts = _write_artifacts(state)
        status = "KILLED" if result.stopped_by_signal else "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    except WorkerError as exc:
        raise explain_node_loss(exc, (state.trainer if state is not None else trainer).groups) or exc from None
    finally:
        trainer = state.trainer if state is not None else trainer
        trainer.shutdown()
        try:
            tracker.finish(status)
        except Exception as exc:
            if status == "FINISHED":
                raise
            # The run's own error is already propagating; do not let a tracker hide it.
            print(f"warning: trackers failed to close: {exc}", file=sys.stderr)
    _print_ending(state, trainer, tracker, result, artifacts)
    return result


def _open_output_dir(trainer: Trainer) -> str:
    """Make the output dir ready (unfinished checkpoints removed) and write config.yaml; returns its text."""
    prepare_output_dir(trainer.output_dir)
    ckpt.clean_partial(trainer.checkpoint_root)
    config_yaml = yaml.safe_dump(trainer.container, sort_keys=False)
    with open(os.path.join(trainer.output_dir, "config.yaml"), "w") as fh:
        fh.write(config_yaml)
    return config_yaml


def _print_ending(
    state: Optional[RunState], trainer: Trainer, tracker: Any, result: RunResult,
    artifacts: Dict[str, Optional[str]],
) -> None:
    """The run's last lines: final validation, the summary and outputs, how to resume a stopped run."""
    print()
    if result.validation:
        print(f"final validation: {_format_validation(result.validation)}")
    for line in summary_lines(state.record if state else None, _outputs(trainer, tracker, result, artifacts)):
        print(line)
    if result.stopped_by_signal:
        print(f"Stopped on {result.stopped_by_signal} at step {result.steps}. Resume with the same command "
              f"(runner.resume=auto continues from {result.final_checkpoint}).")
