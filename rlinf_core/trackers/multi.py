"""Fan-out to several trackers at once, and the flattening of a config into params."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from rlinf_core.interfaces.tracker import ResumeInfo, Tracker



def flatten_params(tree: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists become their string form."""
    flat: Dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


class MultiTracker(Tracker):
    """Forwards every call to each tracker; ``finish`` closes all even if one of them fails."""

    def __init__(self, trackers: List[Tracker]):
        self.trackers = trackers

    def start(
        self, run_name: str, params: Mapping[str, Any], config_yaml: str, resume: Optional[ResumeInfo] = None
    ) -> None:
        for t in self.trackers:
            t.start(run_name, params, config_yaml, resume=resume)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        for t in self.trackers:
            t.log_metrics(metrics, step)

    def log_artifact(self, path: str, artifact_path: Optional[str] = None) -> None:
        for t in self.trackers:
            t.log_artifact(path, artifact_path)

    def finish(self, status: str = "FINISHED") -> None:
        errors = []
        for t in self.trackers:
            try:
                t.finish(status)
            except Exception as exc:  # keep closing the others; report below
                errors.append(f"{type(t).__name__}: {exc}")
        if errors:
            raise RuntimeError("trackers failed to finish: " + "; ".join(errors))

    @property
    def run_id(self) -> Optional[str]:
        return next((t.run_id for t in self.trackers if t.run_id), None)

    def describe(self) -> Dict[str, str]:
        out: Dict[str, str] = {}
        for t in self.trackers:
            out.update(t.describe())
        return out


def build_trackers(registry: Any, config: Any, output_dir: str) -> MultiTracker:
    """Instantiate every tracker named in ``tracking.backends``."""
    trackers = []
    for name in config.backends:
        cls = registry.get("trackers", name, field_name="tracking.backends")
        trackers.append(cls(config, output_dir))
    return MultiTracker(trackers)
