"""Dataclasses that cross worker boundaries.

Sequences are ragged, never padded: a :class:`Ragged` stores all sequences back to back
in one flat tensor plus offsets, so a batch moves through Ray's object store as a few
contiguous buffers and the trainer can pack it without stripping padding. Everything here
is plain data (tensors, ints, strings): it serialises without pickling any code.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, ClassVar, Dict, List, Optional, Sequence, Tuple

if TYPE_CHECKING:
    import torch


@dataclass
class Ragged:
    """Variable-length sequences: ``values[offsets[i]:offsets[i+1]]`` is sequence i."""

    values: "torch.Tensor"
    offsets: "torch.Tensor"

    @classmethod
    def from_list(cls, seqs: Sequence[Any], dtype: Any = None) -> "Ragged":
        """Build from a list of 1-D tensors or lists of numbers."""
        import torch

        tensors = [s if isinstance(s, torch.Tensor) else torch.tensor(list(s), dtype=dtype) for s in seqs]
        if dtype is None:
            dtype = tensors[0].dtype if tensors else torch.long
        tensors = [t.to(dtype).reshape(-1) for t in tensors]
        lengths = torch.tensor([t.numel() for t in tensors], dtype=torch.long)
        offsets = torch.zeros(len(tensors) + 1, dtype=torch.long)
        if len(tensors):
            offsets[1:] = torch.cumsum(lengths, 0)
        values = torch.cat(tensors) if tensors else torch.zeros(0, dtype=dtype)
        return cls(values=values, offsets=offsets)

    def __len__(self) -> int:
        return int(self.offsets.numel()) - 1

    def __getitem__(self, i: int) -> "torch.Tensor":
        if not -len(self) <= i < len(self):
            raise IndexError(f"Ragged index {i} out of range for {len(self)} sequences")
        i %= len(self)
        return self.values[int(self.offsets[i]) : int(self.offsets[i + 1])]

    @property
    def lengths(self) -> "torch.Tensor":
        return self.offsets[1:] - self.offsets[:-1]

    def to_list(self) -> List["torch.Tensor"]:
        return [self[i] for i in range(len(self))]

    def select(self, indices: Sequence[int]) -> "Ragged":
        """The sequences at ``indices``, in that order."""
        return Ragged.from_list([self[int(i)] for i in indices], dtype=self.values.dtype)

    @staticmethod
    def cat(parts: Sequence["Ragged"]) -> "Ragged":
        """Concatenate several ragged batches into one."""
        import torch

        values = torch.cat([p.values for p in parts])
        offsets = [torch.zeros(1, dtype=torch.long)]
        base = 0
        for p in parts:
            offsets.append(p.offsets[1:] + base)
            base += int(p.offsets[-1])
        return Ragged(values=values, offsets=torch.cat(offsets))


@dataclass(frozen=True)
class DistinctRows:
    """Which rows hold the same tokens: ``first[j]`` is the first row with distinct content j,
    ``of_row[i]`` the distinct content of row i."""

    first: List[int]
    of_row: "torch.Tensor"  # [rows] long

    @property
    def repeats(self) -> bool:
        return len(self.first) < len(self.of_row)


def distinct_rows(rows: Sequence["torch.Tensor"]) -> DistinctRows:
    """Group token sequences by equal content (e.g. a GRPO group's G copies of one prompt), in first-seen order."""
    import torch

    index: Dict[tuple, int] = {}
    first: List[int] = []
    of_row = []
    for i, r in enumerate(rows):
        key = tuple(r.tolist())
        if key not in index:
            index[key] = len(first)
            first.append(i)
        of_row.append(index[key])
    return DistinctRows(first=first, of_row=torch.tensor(of_row, dtype=torch.long))


def left_pad(rows: Sequence[Any], pad_id: int) -> Tuple["torch.Tensor", "torch.Tensor"]:
    """``(input_ids, attention_mask)`` [rows, longest] with each row right-aligned, so every
    prompt ends where generation starts; ``rows`` are token tensors or lists."""
    import torch

    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        input_ids[i, width - len(r) :] = torch.as_tensor(r, dtype=torch.long)
        mask[i, width - len(r) :] = 1
    return input_ids, mask


@dataclass
class SamplingParams:
    """Per-request sampling settings that override the rollout config (e.g. for evaluation).

    ``temperature`` 0 means greedy decoding.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    max_new_tokens: int = 512


@dataclass
class RolloutRequest:
    """Prompts for one rollout call; the backend samples ``group_size`` responses for each."""

    prompt_ids: Ragged
    prompt_uids: List[str]
    answers: List[List[str]]
    group_size: int
    step: int = 0
    seed: int = 0  # sampling seed of this request (fixed per step and rank, for reproducible runs)
    sampling: Optional[SamplingParams] = None  # None: the rollout config's settings

    def __post_init__(self) -> None:
        n = len(self.prompt_ids)
        if len(self.prompt_uids) != n or len(self.answers) != n:
            raise ValueError(
                f"RolloutRequest: {n} prompts but {len(self.prompt_uids)} uids and {len(self.answers)} answers"
            )


@dataclass
class TrajectoryBatch:
    """Sampled trajectories: one row per response, grouped by the prompt it answers.

    Filled stage by stage: the rollout sets the ids and sampling log-probs, the reward sets
    ``rewards``, the algorithm sets ``advantages``, the actor may set ``old_logprobs`` and (an
    algorithm with a critic) ``values``.
    """

    prompt_ids: Ragged
    response_ids: Ragged
    response_logprobs: Ragged
    group_ids: "torch.Tensor"
    prompt_uids: List[str]
    answers: List[List[str]]
    truncated: "torch.Tensor"
    response_texts: Optional[List[str]] = None
    rewards: Optional["torch.Tensor"] = None
    reward_components: Dict[str, "torch.Tensor"] = field(default_factory=dict)
    advantages: Optional["torch.Tensor"] = None
    old_logprobs: Optional[Ragged] = None
    ref_logprobs: Optional[Ragged] = None
    policy_versions: Optional["torch.Tensor"] = None  # per row: updates behind the weights that sampled it
    values: Optional[Ragged] = None  # per response token: a critic's value estimates (PPO), set on the actor

    def __len__(self) -> int:
        return len(self.response_ids)

    def __post_init__(self) -> None:
        n = len(self.response_ids)
        sizes = {
            "prompt_ids": len(self.prompt_ids),
            "response_logprobs": len(self.response_logprobs),
            "group_ids": int(self.group_ids.numel()),
            "prompt_uids": len(self.prompt_uids),
            "answers": len(self.answers),
            "truncated": int(self.truncated.numel()),
        }
        if self.response_texts is not None:
            sizes["response_texts"] = len(self.response_texts)
        bad = {k: v for k, v in sizes.items() if v != n}
        if bad:
            raise ValueError(f"TrajectoryBatch: {n} responses but {bad}")
        if not bool((self.response_logprobs.lengths == self.response_ids.lengths).all()):
            raise ValueError("TrajectoryBatch: response_logprobs and response_ids lengths differ")

    @classmethod
    def from_samples(cls, request: "RolloutRequest", prompts: Sequence[Any], responses: Sequence[Any],
                     logprobs: Sequence[Any], truncated: Sequence[bool], texts: List[str]) -> "TrajectoryBatch":
        """A rollout's answer to ``request``: ``request.group_size`` rows per prompt, in prompt
        order (``prompts`` repeated accordingly), with the sampled tokens' log-probs and texts."""
        import torch

        g = request.group_size
        return cls(
            prompt_ids=Ragged.from_list(list(prompts), dtype=torch.long),
            response_ids=Ragged.from_list(list(responses), dtype=torch.long),
            response_logprobs=Ragged.from_list(list(logprobs), dtype=torch.float32),
            group_ids=torch.arange(len(request.prompt_uids)).repeat_interleave(g),
            prompt_uids=[u for u in request.prompt_uids for _ in range(g)],
            answers=[a for a in request.answers for _ in range(g)],
            truncated=torch.tensor(list(truncated), dtype=torch.bool),
            response_texts=texts,
        )

    def select(self, indices: Sequence[int]) -> "TrajectoryBatch":
        """The rows at ``indices`` (e.g. one minibatch), every filled field included."""
        import torch

        idx = torch.as_tensor(list(indices), dtype=torch.long)
        out: Dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                out[f.name] = None
            elif isinstance(value, Ragged):
                out[f.name] = value.select(idx.tolist())
            elif isinstance(value, list):
                out[f.name] = [value[i] for i in idx.tolist()]
            elif isinstance(value, dict):
                out[f.name] = {k: v[idx] for k, v in value.items()}
            else:
                out[f.name] = value[idx]
        return replace(self, **out)

    @staticmethod
    def cat(parts: Sequence["TrajectoryBatch"]) -> "TrajectoryBatch":
        """Concatenate batches (e.g. from several rollout ranks); group ids are kept as given."""
        import torch

        first = parts[0]
        out: Dict[str, Any] = {}
        for f in fields(first):
            values = [getattr(p, f.name) for p in parts]
            if any(v is None for v in values):
                out[f.name] = None
            elif isinstance(values[0], Ragged):
                out[f.name] = Ragged.cat(values)
            elif isinstance(values[0], list):
                out[f.name] = [x for v in values for x in v]
            elif isinstance(values[0], dict):
                keys = set(values[0])
                out[f.name] = {k: torch.cat([v[k] for v in values]) for k in keys}
            else:
                out[f.name] = torch.cat(values)
        return TrajectoryBatch(**out)


@dataclass
class PartShape:
    """The shape of one rollout part, returned to the driver beside the part itself (which
    stays in the object store): a few numbers per response, no tokens or texts."""

    group_ids: "torch.Tensor"  # as the rollout rank numbered them
    response_lengths: "torch.Tensor"
    prompt_lengths: "torch.Tensor"
    truncated: "torch.Tensor"
    # What the engine measured of the call that made the part (RolloutBackend.last_generate_costs);
    # a selection or concatenation of rows is no call, so it has none.
    engine_costs: Dict[str, float] = field(default_factory=dict)

    ROW_FIELDS: ClassVar[Tuple[str, ...]] = ("group_ids", "response_lengths", "prompt_lengths", "truncated")

    def __len__(self) -> int:
        return int(self.group_ids.numel())

    @classmethod
    def of(cls, batch: "TrajectoryBatch", engine_costs: Optional[Dict[str, float]] = None) -> "PartShape":
        return cls(
            group_ids=batch.group_ids.clone(),
            response_lengths=batch.response_ids.lengths.clone(),
            prompt_lengths=batch.prompt_ids.lengths.clone(),
            truncated=batch.truncated.clone(),
            engine_costs=dict(engine_costs or {}),
        )


@dataclass
class ScoredRows:
    """What the driver knows of scored responses: their shape and rewards, no tokens or texts.

    The driver uses it for metrics, dynamic sampling and the step's :class:`BatchPlan`; the
    responses themselves go from the rollout rank to the reward and actor ranks through the
    object store.
    """

    shape: PartShape
    rewards: "torch.Tensor"  # float32 [rows]
    reward_components: Dict[str, "torch.Tensor"]

    def __len__(self) -> int:
        return int(self.rewards.numel())

    def select(self, indices: Sequence[int]) -> "ScoredRows":
        """The rows at ``indices``, in that order."""
        import torch

        idx = torch.as_tensor(list(indices), dtype=torch.long)
        shape = PartShape(**{f: getattr(self.shape, f)[idx] for f in PartShape.ROW_FIELDS})
        return ScoredRows(shape, self.rewards[idx], {k: v[idx] for k, v in self.reward_components.items()})

    @staticmethod
    def cat(parts: Sequence["ScoredRows"]) -> "ScoredRows":
        """Rows of ``parts`` in order; every part must name the same components."""
        import torch

        keys = set(parts[0].reward_components)
        for p in parts[1:]:
            if set(p.reward_components) != keys:
                raise ValueError(f"reward components differ between parts: {sorted(keys)} vs {sorted(p.reward_components)}")
        shape = PartShape(**{f: torch.cat([getattr(p.shape, f) for p in parts]) for f in PartShape.ROW_FIELDS})
        return ScoredRows(
            shape=shape,
            rewards=torch.cat([p.rewards for p in parts]),
            reward_components={k: torch.cat([p.reward_components[k] for p in parts]) for k in sorted(keys)},
        )


@dataclass
class BatchPlan:
    """How an actor rank builds the step's batch from rollout parts it receives by reference.

    ``pieces`` lists (part index, rows) in batch order; groups are renumbered 0.. in order of
    first appearance; ``rewards`` etc. are the assembled batch's, row for row. ``shard`` is
    the rows of the assembled batch this rank trains on (all ranks assemble the same batch,
    so advantages that look across the batch are the same everywhere).
    """

    pieces: List[Any]  # [(part index, [row, ...]), ...]
    rewards: "torch.Tensor"
    reward_components: Dict[str, "torch.Tensor"]
    policy_version: int  # updates behind the weights that sampled every row of this batch
    shard: Optional[List[int]] = None  # None: every row
