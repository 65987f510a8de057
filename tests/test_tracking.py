"""Trackers: an MLflow run written to the embedded sqlite store and read back with the MLflow client."""

import json
import math

from omegaconf import OmegaConf

from rlinf_core.config import TrackingConfig
from rlinf_core.plugins import load_plugins
from rlinf_core.trackers import build_trackers, flatten_params
from rlinf_core.trackers.mlflow_tracker import default_tracking_uri, sanitize_metric_name


def tracking_config(**kw):
    cfg = OmegaConf.structured(TrackingConfig)
    cfg.experiment_name = "unit"
    for k, v in kw.items():
        cfg[k] = v
    return cfg


def test_sanitize_metric_name():
    assert sanitize_metric_name("rollout/rewards") == "rollout/rewards"
    assert sanitize_metric_name("time/step(s)") == "time/step_s_"
    assert sanitize_metric_name("val/aime24/avg@32") == "val/aime24/avg_at_32"
    assert sanitize_metric_name("reward/α!") == "reward/α_"  # \w keeps unicode letters


def test_flatten_params():
    assert flatten_params({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": "x"}) == {"a.b": 1, "a.c.d": [1, 2], "e": "x"}


def test_mlflow_jsonl_tensorboard_together(tmp_path):
    from mlflow.tracking import MlflowClient

    out = tmp_path / "run"
    registry = load_plugins(env={})
    tracker = build_trackers(registry, tracking_config(backends=["mlflow", "jsonl", "tensorboard"]), str(out))
    tracker.start("r1", {"runner.seed": 1, "algorithm.name": "grpo"}, "runner:\n  seed: 1\n")
    for step in range(3):
        tracker.log_metrics({"rollout/rewards": step * 0.5, "train/grad_norm": 1.0 + step, "bad/nan": math.nan}, step)
    run_id = tracker.run_id
    tracker.finish()

    client = MlflowClient(tracking_uri=default_tracking_uri(str(out)))
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"runner.seed": "1", "algorithm.name": "grpo"}
    history = client.get_metric_history(run_id, "rollout/rewards")
    assert [(m.step, m.value) for m in history] == [(0, 0.0), (1, 0.5), (2, 1.0)]
    artifacts = [a.path for a in client.list_artifacts(run_id)]
    assert "config.yaml" in artifacts
    assert (out / "mlflow" / "mlflow.db").exists()

    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2]
    assert rows[2]["train/grad_norm"] == 3.0 and rows[0]["bad/nan"] == "nan"
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))


def test_unknown_tracker_is_a_clear_error(tmp_path):
    import pytest

    from rlinf_core.errors import UnknownPluginError

    with pytest.raises(UnknownPluginError, match=r"Unknown tracker 'mlfow' \(config field `tracking.backends`\).*Did you mean 'mlflow'"):
        build_trackers(load_plugins(env={}), tracking_config(backends=["mlfow"]), str(tmp_path))


def test_third_party_tracker_registers_through_the_same_hook(tmp_path):
    module = tmp_path / "csv_tracker.py"
    module.write_text(
        "import os\n"
        "from rlinf_core import Tracker, hookimpl\n\n"
        "class CsvTracker(Tracker):\n"
        "    def start(self, run_name, params, config_yaml, resume=None):\n"
        "        self.path = os.path.join(self.output_dir, 'metrics.csv')\n"
        "        os.makedirs(self.output_dir, exist_ok=True)\n"
        "    def log_metrics(self, metrics, step):\n"
        "        with open(self.path, 'a') as fh:\n"
        "            for k, v in sorted(metrics.items()):\n"
        "                fh.write(f'{step},{k},{v}\\n')\n"
        "    def finish(self, status='FINISHED'):\n"
        "        pass\n\n"
        "@hookimpl\n"
        "def register_trackers(register):\n"
        "    register('csv', CsvTracker)\n"
    )
    registry = load_plugins(modules=[str(module)], env={})
    tracker = build_trackers(registry, tracking_config(backends=["csv", "console"]), str(tmp_path / "out"))
    tracker.start("r", {}, "")
    tracker.log_metrics({"rollout/rewards": 2.5}, step=4)
    tracker.finish()
    assert (tmp_path / "out" / "metrics.csv").read_text() == "4,rollout/rewards,2.5\n"


def test_new_stores_are_copies_of_one_migrated_template(tmp_path, monkeypatch):
    """The second store costs a file copy, and each copy gets MLflow's Default experiment with
    its own process's working folder, not the one that made the template."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from rlinf_core.trackers.mlflow_tracker import MLflowTracker

    monkeypatch.setenv("RLINF_CACHE", str(tmp_path / "cache"))
    runs = []
    for name in ("a", "b"):
        monkeypatch.chdir(tmp_path)
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        tracker = MLflowTracker(tracking_config(), str(tmp_path / name / "out"))
        tracker.start(f"run-{name}", {"x": 1}, "x: 1\n")
        tracker.log_metrics({"loss": 0.5}, step=1)
        tracker.finish()
        runs.append((tracker.tracking_uri, tracker.run_id))
    assert (tmp_path / "cache" / "mlflow" / f"empty-store-{mlflow.__version__}.db").is_file()
    for (uri, run_id), name in zip(runs, ("a", "b")):
        client = MlflowClient(tracking_uri=uri)
        experiments = {e.name: e.artifact_location for e in client.search_experiments()}
        assert sorted(experiments) == ["Default", "unit"]
        assert experiments["Default"].startswith(str(tmp_path / name))
        assert [m.value for m in client.get_metric_history(run_id, "loss")] == [0.5]
