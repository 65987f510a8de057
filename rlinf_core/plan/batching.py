"""A continuous-batching decode engine (vLLM's and SGLang's scheduling) as a step-time model.

`rlinf plan` on CPU times the HF rollout's own calls; at GPU scale (``benchmarks/plan_at_scale.py``)
there is nothing to time, so the rollout is simulated from costs per decode step. The engine
runs up to ``max_seqs`` sequences at once; one decode step gives each running sequence one
token and takes

    fixed + compute x running + kv_read x live tokens

(``fixed``: reading the weights and the scheduler's and launches' own time; ``compute``: the
matmuls of one more row; ``kv_read``: reading one cached token's keys and values, so a step
gets slower as the running sequences grow). Sequences are admitted first come, first served
while the KV cache (``kv_capacity`` tokens) holds their context and the next step's tokens;
when the running sequences' growth fills the cache, the last admitted is preempted (vLLM V1's
recompute preemption): it goes back to the head of the queue with the tokens it has, and pays a prefill of its whole
context when it is admitted again. Prefills are charged at ``prefill`` seconds per token,
added to the step that admits them.

Deviations from a real engine: a step's time is linear in its rows and cached tokens (no
kernel-shape effects), prefill does not share a step with decode (chunked prefill), and block
granularity is one token. The model is event-driven: between two events (a sequence finishes,
or the cache fills) the running set is fixed, so the steps' times sum in closed form.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from dataclasses import dataclass
from typing import List, Sequence, Tuple


@dataclass(frozen=True)
class DecodeCosts:
    """One engine's costs; seconds, and tokens for the cache."""

    fixed: float  # per decode step
    compute: float  # per running sequence per step
    kv_read: float  # per cached token per step
    prefill: float  # per prompt (or recomputed) token
    kv_capacity: int  # tokens the KV cache holds
    max_seqs: int  # sequences running at once (vLLM's max_num_seqs)


@dataclass
class _Seq:
    group: int
    prompt: int  # tokens cached when admitted: the prompt, plus what it generated before a preemption
    length: int  # tokens still to generate
    start: int = 0  # the step clock at its admission


class _Running:
    """The running sequences in admission order, with their cached tokens kept as one sum."""

    def __init__(self) -> None:
        self.seqs: "OrderedDict[int, _Seq]" = OrderedDict()
        self.ends: List[Tuple[int, int]] = []  # heap of (clock at which it ends, serial); stale after a preemption
        self.offset = 0  # sum of (prompt - start): the cache holds offset + len(seqs) x clock
        self.serial = 0

    def add(self, seq: _Seq, clock: int) -> None:
        seq.start, self.serial = clock, self.serial + 1
        self.seqs[self.serial] = seq
        heapq.heappush(self.ends, (clock + seq.length, self.serial))
        self.offset += seq.prompt - clock

    def _drop(self, seq: _Seq) -> None:
        self.offset -= seq.prompt - seq.start

    def cached(self, clock: int) -> int:
        return self.offset + len(self.seqs) * clock

    def next_end(self) -> int:
        while self.ends[0][1] not in self.seqs:
            heapq.heappop(self.ends)
        return self.ends[0][0]

    def pop_ended(self) -> _Seq:
        seq = self.seqs.pop(heapq.heappop(self.ends)[1])
        self._drop(seq)
        return seq

    def preempt_last(self, clock: int) -> _Seq:
        """The last admitted, turned into a sequence that recomputes its context when readmitted."""
        _, seq = self.seqs.popitem(last=True)
        self._drop(seq)
        made = clock - seq.start
        return _Seq(seq.group, seq.prompt + made, seq.length - made)


def _steps_time(costs: DecodeCosts, steps: int, running: int, cached: int) -> float:
    """``steps`` decode steps of ``running`` sequences whose cache holds ``cached`` tokens at the first."""
    kv_tokens = steps * cached + running * steps * (steps - 1) // 2
    return steps * (costs.fixed + costs.compute * running) + costs.kv_read * kv_tokens


def group_finish_times(costs: DecodeCosts, group_lengths: Sequence[Sequence[int]], prompt: int) -> List[float]:
    """When each group's last response is done on one engine that gets the groups' sequences in order."""
    _check(costs, group_lengths, prompt)
    waiting = [_Seq(g, prompt, n) for g, group in enumerate(group_lengths) for n in group][::-1]  # a stack: head last
    running = _Running()
    clock, now = 0, 0.0
    finish = [0.0] * len(group_lengths)
    while waiting or running.seqs:
        now += _admit(costs, waiting, running, clock)
        cached, m = running.cached(clock), len(running.seqs)
        until_end = running.next_end() - clock
        until_full = (costs.kv_capacity - cached) // m  # steps whose new tokens still fit
        steps = min(until_end, until_full)
        now += _steps_time(costs, steps, m, cached)
        clock += steps
        if steps == until_end:
            seq = running.pop_ended()
            finish[seq.group] = max(finish[seq.group], now)
        else:
            waiting.append(running.preempt_last(clock))
    return finish


def _check(costs: DecodeCosts, group_lengths: Sequence[Sequence[int]], prompt: int) -> None:
    for g, group in enumerate(group_lengths):
        if any(n < 1 for n in group):
            raise ValueError(f"group {g}: every response generates at least one token")
        if group and prompt + max(group) > costs.kv_capacity:
            raise ValueError(f"group {g}: a response of {prompt + max(group)} tokens does not fit a KV cache of "
                             f"{costs.kv_capacity}: raise kv_capacity or lower the length cap")
    if costs.max_seqs < 1:
        raise ValueError("max_seqs must be at least 1")


def _admit(costs: DecodeCosts, waiting: List[_Seq], running: _Running, clock: int) -> float:
    """Admits queued sequences while they fit; returns the seconds their prefills take."""
    seconds, cached = 0.0, running.cached(clock)
    # Room for its context and for the next step's token of every running sequence: without the
    # second, a sequence just preempted would be readmitted into a cache with no room to grow.
    while waiting and len(running.seqs) < costs.max_seqs and (
        cached + waiting[-1].prompt + len(running.seqs) + 1 <= costs.kv_capacity
    ):
        seq = waiting.pop()
        running.add(seq, clock)
        cached += seq.prompt
        seconds += costs.prefill * seq.prompt
    return seconds
