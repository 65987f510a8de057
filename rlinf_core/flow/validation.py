"""Validation during a run, through the run's own rollout and reward workers.

``val/<file>/avg@K`` and ``val/<file>/pass@k`` on each ``data.val_data_paths`` file, with the
sampling settings of ``runner.val_*`` (greedy by default), scored by the run's reward. The
prompts are spread over the rollout ranks; the texts come back to the driver, which keeps
the per-problem bookkeeping of :mod:`rlinf_core.evaluation.evaluator` (validation sets are
small; the training step is what keeps data off the driver).
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Sequence, Tuple

from rlinf_core.data import Ragged, RolloutRequest, SamplingParams
from rlinf_core.evaluation.evaluator import EvalSettings, example_items, per_problem, run_items
from rlinf_core.evaluation.scores import summarize
from rlinf_core.flow.sampling import chunks
from rlinf_core.interfaces.task import Example


class WorkerValidation:
    """Validates the current rollout weights on ``val_sets`` ((name, examples) pairs)."""

    def __init__(self, cfg: Any, groups: Dict[str, Any], val_sets: Sequence[Tuple[str, List[Example]]]):
        self.cfg, self.groups, self.val_sets = cfg, groups, val_sets

    def _generate(self, prompt_ids: List[List[int]], sampling: SamplingParams, seed: int) -> List[str]:
        """Texts for ``prompt_ids`` (one sample each), spread over the rollout ranks."""
        rollout = self.groups["rollout"]
        futures = []
        for r, chunk in enumerate(chunks(prompt_ids, rollout.world_size)):
            if chunk:
                uids = [str(i) for i in range(len(chunk))]
                request = RolloutRequest(Ragged.from_list(chunk), uids, [[""]] * len(chunk), 1, seed=seed + r, sampling=sampling)
                futures.append(rollout.call("generate", request, ranks=[r]))
        return [text for f in futures for part in f.wait() for text in (part.response_texts or [])]

    def _score(self, texts: List[str], golds: List[List[str]]) -> List[bool]:
        from rlinf_core.evaluation.local import verdicts_from

        result = self.groups["reward"].execute("score", texts, golds, ranks=[0])[0]
        return verdicts_from(result, self.cfg.reward.name)

    def run(self) -> Dict[str, float]:
        cfg = self.cfg
        settings = EvalSettings(
            samples=cfg.runner.val_samples, temperature=cfg.runner.val_temperature, top_p=cfg.runner.val_top_p,
            top_k=cfg.rollout.top_k, max_new_tokens=cfg.rollout.max_new_tokens, seed=cfg.runner.seed,
        )
        metrics: Dict[str, float] = {}
        start = time.perf_counter()
        for name, examples in self.val_sets:
            items = example_items(examples, settings.samples)
            _, verdicts = run_items(items, settings, self._generate, self._score)
            for key, value in summarize(per_problem(items, verdicts, len(examples), settings.samples)).items():
                metrics[f"val/{name}/{key}"] = value
        metrics["time/validation"] = time.perf_counter() - start
        return metrics
