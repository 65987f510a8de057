"""Generation and grading in this process, for ``rlinf eval``: the rollout backend and the
reward are resolved by name from the registry, exactly as training workers resolve them."""

from __future__ import annotations

from typing import Any, List, Tuple

from rlinf_core.data import Ragged, RolloutRequest, SamplingParams
from rlinf_core.errors import PluginError
from rlinf_core.evaluation.evaluator import GenerateFn, ScoreFn


def verdicts_from(result: Any, reward_name: str) -> List[bool]:
    """The reward's per-response ``correct`` component as booleans."""
    if "correct" not in result.components:
        raise PluginError(
            f"Reward '{reward_name}' returns no `correct` component, so accuracy cannot be computed; "
            f"evaluate with a reward that reports one (e.g. math)."
        )
    return [float(c) > 0.5 for c in result.components["correct"]]


def local_functions(model_path: str, backend_name: str, reward_name: str, registry: Any) -> Tuple[GenerateFn, ScoreFn, Any]:
    """(generate, score, close) backed by an in-process rollout backend and reward."""
    backend_cls = registry.get("rollout_backends", backend_name, field_name="--backend")
    cfg = backend_cls.config_class()
    cfg.model.model_path = model_path
    backend = backend_cls(cfg)
    backend.load()
    reward_cls = registry.get("rewards", reward_name, field_name="--reward")
    reward = reward_cls(reward_cls.config_class())

    def generate(prompt_ids: List[List[int]], sampling: SamplingParams, seed: int) -> List[str]:
        n = len(prompt_ids)
        request = RolloutRequest(
            prompt_ids=Ragged.from_list(prompt_ids), prompt_uids=[str(i) for i in range(n)], answers=[[""]] * n,
            group_size=1, seed=seed, sampling=sampling,
        )
        return list(backend.generate(request).response_texts or [])

    def score(texts: List[str], golds: List[List[str]]) -> List[bool]:
        return verdicts_from(reward.score(texts, golds), reward_name)

    return generate, score, reward.close
