"""Typed config: schema dataclasses, the recipe loader and the derived sizes."""

from rlinf_core.config.derived import DerivedSizes, derive_sizes
from rlinf_core.config.fields import doc
from rlinf_core.config.loader import build_config, field_docs, load_config, section, to_container
from rlinf_core.config.schema import (
    ActorConfig,
    AlgorithmConfig,
    ClusterConfig,
    DataConfig,
    ModelConfig,
    OptimConfig,
    PluginsConfig,
    RewardConfig,
    RlinfConfig,
    RolloutConfig,
    RunnerConfig,
    TrackingConfig,
)

__all__ = [
    "ActorConfig",
    "AlgorithmConfig",
    "ClusterConfig",
    "DataConfig",
    "DerivedSizes",
    "ModelConfig",
    "OptimConfig",
    "PluginsConfig",
    "RewardConfig",
    "RlinfConfig",
    "RolloutConfig",
    "RunnerConfig",
    "TrackingConfig",
    "build_config",
    "derive_sizes",
    "doc",
    "field_docs",
    "load_config",
    "section",
    "to_container",
]
