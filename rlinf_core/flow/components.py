"""The core's component workers: each wraps the plugin its config section names.

Every worker receives the resolved config as a plain dict and rebuilds the typed config
and the plugin registry inside its own process, so plugin classes are looked up by name
where they run and never pickled across Ray.
"""

from __future__ import annotations

import socket
from typing import Any, Dict, List, Optional, Tuple

from omegaconf import OmegaConf

from rlinf_core.cluster.worker import Worker
from rlinf_core.config.loader import build_config, section
from rlinf_core.data import BatchPlan, PartShape, RolloutRequest, TrajectoryBatch
from rlinf_core.flow.assembly import assemble
from rlinf_core.flow.metrics import merge_rewards, scored_tensors
from rlinf_core.interfaces.algorithm import ActorContext
from rlinf_core.interfaces.reward import RewardResult
from rlinf_core.interfaces.train import TrainSetup
from rlinf_core.plugins import get_registry


def typed_config(container: Dict[str, Any]) -> Tuple[Any, Any]:
    """(typed config, registry) rebuilt in this process from the driver's resolved config."""
    registry = get_registry(container.get("plugins", {}).get("modules", []))
    return build_config(OmegaConf.create(container), registry), registry


class RolloutWorker(Worker):
    """One rollout rank: the backend named by ``rollout.backend``."""

    def __init__(self, container: Dict[str, Any]):
        cfg, registry = typed_config(container)
        cls = registry.get("rollout_backends", cfg.rollout.backend, field_name="rollout.backend")
        self.backend = cls(section(cfg, "rollout"), rank=self.rank, world_size=self.world_size)
        self.backend.load()

    def generate(self, request: RolloutRequest) -> TrajectoryBatch:
        return self.backend.generate(request)

    def generate_part(self, request: RolloutRequest) -> Tuple[TrajectoryBatch, PartShape]:
        """A training step's part: the responses (left in the object store for the reward and
        actor ranks) and their shape (for the driver)."""
        part = self.backend.generate(request)
        expected = len(request.prompt_uids) * request.group_size
        if len(part) != expected:
            raise RuntimeError(
                f"rollout backend '{type(self.backend).__name__}' returned {len(part)} responses for "
                f"{len(request.prompt_uids)} prompts x group_size {request.group_size} = {expected}"
            )
        if part.response_texts is None or len(part.response_texts) != len(part):
            raise RuntimeError(
                f"rollout backend '{type(self.backend).__name__}' did not decode response_texts for every response"
            )
        return part, PartShape.of(part, self.backend.last_generate_costs())

    def update_weights(self, state_dict: Dict[str, Any]) -> None:
        self.backend.update_weights(state_dict)

    def offload(self) -> None:
        self.backend.offload()

    def onload(self) -> None:
        self.backend.onload()


class RewardWorker(Worker):
    """One reward rank: the scorer named by ``reward.name``. Methods run on the main thread of a
    sync Ray actor, so graders that rely on signal-based timeouts still work here."""

    def __init__(self, container: Dict[str, Any]):
        cfg, registry = typed_config(container)
        cls = registry.get("rewards", cfg.reward.name, field_name="reward.name")
        self.reward = cls(section(cfg, "reward"))
        self.reward.start()

    def score(self, responses: List[str], answers: List[List[str]]) -> RewardResult:
        result = self.reward.score(responses, answers)
        if len(result.scores) != len(responses):
            raise RuntimeError(
                f"reward '{type(self.reward).__name__}' returned {len(result.scores)} scores for {len(responses)} responses"
            )
        return result

    def score_part(self, part: TrajectoryBatch, rows: List[int]) -> RewardResult:
        """Scores of ``rows`` of a rollout part that came straight from the rollout rank."""
        texts = part.response_texts or []
        return self.score([texts[i] for i in rows], [part.answers[i] for i in rows])

    def close(self) -> None:
        self.reward.close()


class ActorWorker(Worker):
    """One actor rank: the train backend named by ``actor.backend`` and the algorithm."""

    def __init__(self, container: Dict[str, Any]):
        cfg, registry = typed_config(container)
        algo_cls = registry.get("algorithms", cfg.algorithm.name, field_name="algorithm.name")
        self.algorithm = algo_cls(section(cfg, "algorithm"))
        cls = registry.get("train_backends", cfg.actor.backend, field_name="actor.backend")
        self.backend = cls(section(cfg, "actor"), rank=self.rank, world_size=self.world_size)
        self.model_path = cfg.actor.model.model_path

    def rendezvous(self) -> Tuple[str, int]:
        """An address and free port on this rank's node for torch.distributed (called on rank 0)."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("", 0))
            port = s.getsockname()[1]
        return socket.gethostbyname(socket.gethostname()), port

    def load(self, setup: TrainSetup) -> None:
        import torch

        self.backend.load(setup)
        device = getattr(self.backend, "device", None) or torch.device("cpu")
        self.algorithm.attach(ActorContext(self.rank, self.world_size, device, setup.seed,
                                           self.model_path, setup.total_optimizer_steps))

    def train_step(self, batch: TrajectoryBatch, num_minibatches: int, recompute_logprobs: bool) -> Dict[str, float]:
        """The policy's updates on ``batch`` and then the algorithm's own (a critic's), one metrics dict."""
        batch = self.algorithm.before_update(batch)
        metrics = self.backend.train_step(batch, self.algorithm, num_minibatches, recompute_logprobs)
        metrics.update(self.algorithm.after_update(batch))
        return metrics

    def train_on(self, plan: BatchPlan, num_minibatches: int, recompute_logprobs: bool, *parts: TrajectoryBatch) -> Dict[str, float]:
        """One step's updates on this rank's shard of the planned batch. ``parts`` arrive as
        object references from the rollout ranks; Ray fetches them into this process."""
        return self.train_step(assemble(parts, plan, self.algorithm), num_minibatches, recompute_logprobs)

    def begin_streamed_step(self, recompute_logprobs: bool, num_seqs: int) -> None:
        """Start a step trained part by part (:mod:`rlinf_core.flow.streaming`)."""
        self.backend.begin_streamed_step(self.algorithm, recompute_logprobs, num_seqs)

    def train_part(self, policy_version: int, shard: List[int], part: TrajectoryBatch, *scores: RewardResult) -> None:
        """Train this rank's ``shard`` of one part, straight from the rollout and reward ranks:
        ``scores`` are the reward calls' results on the part's rows, in row order."""
        rewards, components = scored_tensors(merge_rewards(list(scores)))
        plan = BatchPlan([(0, list(range(len(part))))], rewards, components, policy_version, shard)
        self.backend.train_part(assemble([part], plan, self.algorithm))

    def finish_streamed_step(self) -> Dict[str, float]:
        return self.backend.finish_streamed_step()

    def offload(self) -> None:
        self.backend.offload()

    def onload(self) -> None:
        self.backend.onload()

    def state_dict_for_rollout(self) -> Optional[Dict[str, Any]]:
        state = self.backend.state_dict_for_rollout()
        return state if self.rank == 0 else None

    def save_checkpoint(self, path: str) -> None:
        self.backend.save_checkpoint(path)

    def save_state(self, path: str) -> None:
        self.backend.save_state(path)
        self.algorithm.save_state(path)

    def load_state(self, path: str) -> None:
        self.backend.load_state(path)
        self.algorithm.load_state(path)
