"""Channels on a real Ray cluster: order, backpressure, weighted batches, across processes."""

import threading

import pytest

from rlinf_core import Channel, WorkerGroup
from rlinf_core.errors import ChannelClosed, ChannelTimeout
from tests.workers_for_tests import ProducerWorker


def test_fifo_order(ray_cluster):
    ch = Channel.create("fifo")
    for i in range(5):
        ch.put(i)
    assert [ch.get() for _ in range(5)] == [0, 1, 2, 3, 4]
    ch.shutdown()


def test_backpressure_blocks_put_until_a_get(ray_cluster):
    ch = Channel.create("bounded", maxsize=2)
    ch.put("a")
    ch.put("b")
    with pytest.raises(ChannelTimeout):
        ch.put("c", timeout=0.3)
    started, done = threading.Event(), threading.Event()

    def producer():
        started.set()
        ch.put("c")
        done.set()

    t = threading.Thread(target=producer)
    t.start()
    assert started.wait(timeout=10)  # the producer is in put() (or about to be)
    assert not done.wait(timeout=0.3)  # and stays blocked there: the channel is full
    assert ch.get() == "a"
    t.join(timeout=10)
    assert done.is_set()
    assert [ch.get(), ch.get()] == ["b", "c"]
    ch.shutdown()


def test_get_batch_takes_items_until_the_target_weight(ray_cluster):
    ch = Channel.create("weighted")
    for i, w in enumerate([2, 1, 3, 4]):
        ch.put(i, weight=w)
    assert ch.get_batch(3) == [0, 1]  # 2 + 1 reaches 3
    assert ch.get_batch(5) == [2, 3]  # 3 + 4 passes 5
    with pytest.raises(ChannelTimeout):
        ch.get_batch(1, timeout=0.2)
    ch.shutdown()


def test_close_drains_then_raises(ray_cluster):
    ch = Channel.create("closing")
    ch.put("last")
    ch.close()
    assert ch.get_batch(10) == ["last"]
    with pytest.raises(ChannelClosed):
        ch.get()
    ch.shutdown()


def test_large_item_moves_through_the_object_store(ray_cluster):
    import torch

    ch = Channel.create("tensors")
    t = torch.arange(1_000_000, dtype=torch.float32)
    ch.put(t)
    out = ch.get()
    assert torch.equal(out, t)
    ch.shutdown()


def test_workers_produce_into_a_named_channel(ray_cluster):
    ch = Channel.create("from-workers")
    group = WorkerGroup.launch(ProducerWorker, "producers", num_ranks=2, num_cpus_per_rank=0.25)
    fut = group.call("produce", Channel.connect("from-workers"), 3)
    items = [ch.get(timeout=60) for _ in range(6)]
    assert fut.wait() == [3, 3]
    for rank in (0, 1):
        assert [x["i"] for x in items if x["rank"] == rank] == [0, 1, 2]  # per-producer order kept
    group.shutdown()
    ch.shutdown()
