"""A user plugin module for the dynamic-sampling tests: a rollout whose G samples of prompt [i]
are the texts "i j" (j = 0..G-1), and a reward that scores "i j" with j when i is even (a group
with different rewards) and 0 when i is odd or at least reward.varied_below (a uniform group)."""

from dataclasses import dataclass
from typing import List

from rlinf_core import RewardResult, RolloutBackend, hookimpl
from rlinf_core.config import RewardConfig, doc
from rlinf_core.interfaces.reward import Reward


class CountingRollout(RolloutBackend):
    def load(self):
        pass

    def generate(self, request):
        import torch

        from rlinf_core import Ragged, TrajectoryBatch

        g = request.group_size
        prompts = [p for p in request.prompt_ids.to_list() for _ in range(g)]
        responses = [torch.tensor([int(p[0]), j]) for p in request.prompt_ids.to_list() for j in range(g)]
        return TrajectoryBatch(
            prompt_ids=Ragged.from_list(prompts),
            response_ids=Ragged.from_list(responses),
            response_logprobs=Ragged.from_list([torch.zeros(2) for _ in responses]),
            group_ids=torch.arange(len(request.prompt_uids)).repeat_interleave(g),
            prompt_uids=[u for u in request.prompt_uids for _ in range(g)],
            answers=[a for a in request.answers for _ in range(g)],
            truncated=torch.zeros(len(responses), dtype=torch.bool),
            response_texts=[f"{int(r[0])} {int(r[1])}" for r in responses],
        )

    def update_weights(self, state_dict):
        pass


@dataclass
class EvenVariesConfig(RewardConfig):
    varied_below: int = doc(1000, "Only prompts i < this get varied rewards; the others' groups are uniform.", ge=0)


class EvenVaries(Reward):
    config_class = EvenVariesConfig

    def score(self, responses: List[str], answers: List[List[str]]) -> RewardResult:
        scores = []
        for text in responses:
            i, j = (int(x) for x in text.split())
            scores.append(float(j) if i % 2 == 0 and i < self.config.varied_below else 0.0)
        return RewardResult(scores=scores, metrics={"reward/scored": float(len(scores))})


@hookimpl
def register_rollout_backends(register):
    register("counting", CountingRollout)


@hookimpl
def register_rewards(register):
    register("even-varies", EvenVaries)
