"""A user plugin module (loaded by file path) that registers a rollout backend, a train backend
and a task, each with its own config fields: the config tests use it to check that a
section takes its schema from the plugin it names."""

from dataclasses import dataclass
from typing import Iterator, List

from rlinf_core import Example, RolloutBackend, Task, TrainBackend, hookimpl
from rlinf_core.config import ActorConfig, DataConfig, RolloutConfig, doc


@dataclass
class EchoRolloutConfig(RolloutConfig):
    echo_times: int = doc(1, "How many times the echo backend repeats the prompt.", ge=1)


class EchoRollout(RolloutBackend):
    """Answers each prompt with the prompt itself (log-prob 0)."""

    config_class = EchoRolloutConfig

    def load(self):
        pass

    def generate(self, request):
        import torch

        from rlinf_core import Ragged, TrajectoryBatch

        prompts = [p for p in request.prompt_ids.to_list() for _ in range(request.group_size)]
        responses = [p.repeat(self.config.echo_times) for p in prompts]
        n = len(responses)
        return TrajectoryBatch(
            prompt_ids=Ragged.from_list(prompts),
            response_ids=Ragged.from_list(responses),
            response_logprobs=Ragged.from_list([torch.zeros(len(r)) for r in responses]),
            group_ids=torch.arange(len(request.prompt_uids)).repeat_interleave(request.group_size),
            prompt_uids=[u for u in request.prompt_uids for _ in range(request.group_size)],
            answers=[a for a in request.answers for _ in range(request.group_size)],
            truncated=torch.zeros(n, dtype=torch.bool),
        )

    def update_weights(self, state_dict):
        pass


@dataclass
class NullTrainConfig(ActorConfig):
    strategy: str = doc("ddp", "Data-parallel strategy.", choices=("ddp", "fsdp2"))


class NullTrain(TrainBackend):
    config_class = NullTrainConfig

    def load(self, setup):
        pass

    def compute_logprobs(self, batch):
        return batch.response_logprobs, batch.response_logprobs

    def train_step(self, batch, algorithm, num_minibatches, recompute_logprobs):
        return {}

    def state_dict_for_rollout(self):
        return {}

    def save_checkpoint(self, path):
        pass

    def save_state(self, path):
        pass

    def load_state(self, path):
        pass


@dataclass
class ListTaskConfig(DataConfig):
    operand_max: int = doc(9, "Largest operand.", ge=0)


class ListTask(Task):
    config_class = ListTaskConfig

    def load(self, paths: List[str]) -> List[Example]:
        return [Example(uid=str(i), prompt_ids=[i], answers=[str(i)]) for i in range(self.config.operand_max + 1)]

    def batches(self, examples, batch_size, seed, epoch) -> Iterator[List[Example]]:
        for i in range(0, len(examples), batch_size):
            yield examples[i : i + batch_size]


@hookimpl
def register_rollout_backends(register):
    register("echo", EchoRollout)


@hookimpl
def register_train_backends(register):
    register("noop", NullTrain)


@hookimpl
def register_tasks(register):
    register("list", ListTask)
