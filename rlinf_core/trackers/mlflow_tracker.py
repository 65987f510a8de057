"""MLflow tracker: an embedded sqlite store under the run's output dir by default, no server.

MLflow 3.x refuses the plain file store unless MLFLOW_ALLOW_FILE_STORE is set, so the
default is ``sqlite:///<output_dir>/mlflow/mlflow.db`` with artifacts beside it. Metrics
go in one ``log_batch`` call per step: one call per scalar is 10-100x slower on sqlite.

A new sqlite store costs MLflow ~6 s of schema migrations (measured on 2 cores), every run.
The tracker migrates one empty store per MLflow version in the cache
(``$RLINF_CACHE/mlflow/``, default ``~/.cache/rlinf``) and copies it: ~0.1 s. The copy has
no experiments; MLflow adds its ``Default`` experiment on opening, as for a new store.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import sys
import time
from typing import Any, Dict, Mapping, Optional

from rlinf_core.files import atomic_file
from rlinf_core.interfaces.tracker import ResumeInfo, Tracker

# MLflow keys allow alphanumerics, underscores, dashes, periods, spaces, slashes and colons.
_BAD_KEY_CHARS = re.compile(r"[^\w\-\. /:]")
_MAX_BATCH_METRICS = 1000
_MAX_BATCH_PARAMS = 100
_MAX_PARAM_VALUE = 6000


def sanitize_metric_name(name: str) -> str:
    """A metric or param key MLflow accepts: '@' becomes '_at_' (``avg@32`` -> ``avg_at_32``), other
    characters MLflow refuses become '_'."""
    clean = _BAD_KEY_CHARS.sub("_", name.replace("@", "_at_")).strip("/") or "_"
    return clean.replace("//", "/")


def default_tracking_uri(output_dir: str) -> str:
    return "sqlite:///" + os.path.join(os.path.abspath(output_dir), "mlflow", "mlflow.db")


def _cache_dir() -> str:
    """``runner.cache_dir``'s default, which a tracker (given only its own section) cannot see."""
    return os.environ.get("RLINF_CACHE") or os.path.join(os.environ.get("HOME", "."), ".cache", "rlinf")


def empty_store_template() -> str:
    """The path of a migrated sqlite store with no experiments for this MLflow version,
    created (atomically, so concurrent runs never see half of it) the first time."""
    import mlflow
    from mlflow.tracking import MlflowClient

    path = os.path.join(_cache_dir(), "mlflow", f"empty-store-{mlflow.__version__}.db")
    if os.path.exists(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # A scratch name per process: runs starting at once may each build the template.
    with atomic_file(path, suffix=f".{os.getpid()}.tmp") as scratch:
        MlflowClient(tracking_uri="sqlite:///" + scratch).search_experiments()
        # MLflow creates experiment 0 with the creating process's working folder as its
        # artifact location; without it, each copy gets its own when MLflow opens it.
        with contextlib.closing(sqlite3.connect(scratch)) as db, db:
            db.execute("DELETE FROM experiments WHERE experiment_id = 0")
    return path


def seed_sqlite_store(db_path: str) -> None:
    """Give a new sqlite store its tables by copying the template; when the cache cannot be
    written, leave it to MLflow (slower, same result)."""
    if os.path.exists(db_path):
        return
    try:
        template = empty_store_template()
    except (OSError, sqlite3.Error) as exc:
        print(f"[rlinf] MLflow store template not cached ({exc}); MLflow creates the tables itself", file=sys.stderr)
        return
    with atomic_file(db_path) as scratch:
        shutil.copyfile(template, scratch)


class MLflowTracker(Tracker):
    """Logs to MLflow through ``MlflowClient`` (no global fluent state, safe beside user code)."""

    def __init__(self, config: Any, output_dir: str):
        super().__init__(config, output_dir)
        self.tracking_uri = config.mlflow_tracking_uri or default_tracking_uri(output_dir)
        self._client: Any = None
        self._run_id: Optional[str] = None

    def start(
        self, run_name: str, params: Mapping[str, Any], config_yaml: str, resume: Optional[ResumeInfo] = None
    ) -> None:
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        if self.tracking_uri.startswith("sqlite:///"):
            db_path = self.tracking_uri[len("sqlite:///") :]
            os.makedirs(os.path.dirname(db_path), exist_ok=True)
            seed_sqlite_store(db_path)
        self._client = MlflowClient(tracking_uri=self.tracking_uri)
        if resume is not None and resume.run_id:
            # Continue the same run; metrics of replayed steps are logged again at the same step
            # (MLflow keeps both values; the later timestamp is the one that counts).
            self._client.get_run(resume.run_id)
            self._client.update_run(resume.run_id, status="RUNNING")
            self._run_id = resume.run_id
            return
        name = self.config.experiment_name
        experiment = self._client.get_experiment_by_name(name)
        if experiment is None:
            artifacts = None
            if self.tracking_uri.startswith("sqlite:///"):
                artifacts = "file://" + os.path.join(os.path.abspath(self.output_dir), "mlflow", "artifacts")
            experiment_id = self._client.create_experiment(name, artifact_location=artifacts)
        else:
            experiment_id = experiment.experiment_id
        run = self._client.create_run(experiment_id, run_name=run_name)
        self._run_id = run.info.run_id
        items = [
            Param(sanitize_metric_name(k), str(v)[:_MAX_PARAM_VALUE]) for k, v in sorted(params.items())
        ]
        for i in range(0, len(items), _MAX_BATCH_PARAMS):
            self._client.log_batch(self._run_id, params=items[i : i + _MAX_BATCH_PARAMS])
        self._client.log_text(self._run_id, config_yaml, "config.yaml")

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(sanitize_metric_name(k), float(v), now, step) for k, v in metrics.items()]
        for i in range(0, len(items), _MAX_BATCH_METRICS):
            self._client.log_batch(self._run_id, metrics=items[i : i + _MAX_BATCH_METRICS])

    def log_artifact(self, path: str, artifact_path: Optional[str] = None) -> None:
        self._client.log_artifact(self._run_id, path, artifact_path)

    def finish(self, status: str = "FINISHED") -> None:
        if self._client is not None and self._run_id is not None:
            self._client.set_terminated(self._run_id, status=status)

    @property
    def run_id(self) -> Optional[str]:
        return self._run_id

    def describe(self) -> Dict[str, str]:
        return {
            "mlflow run": f"{self._run_id}",
            "mlflow ui": f"mlflow ui --backend-store-uri {self.tracking_uri}",
        }
