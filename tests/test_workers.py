"""WorkerGroup on a real Ray cluster: calls, rank selection, failures that never hang."""

import time

import pytest

from rlinf_core import WorkerError, WorkerGroup
from tests.workers_for_tests import BrokenInitWorker, EchoWorker


@pytest.fixture(scope="module")
def echo(ray_cluster):
    group = WorkerGroup.launch(EchoWorker, "echo", kwargs={"prefix": "hi "}, num_ranks=2, num_cpus_per_rank=0.5)
    yield group
    group.shutdown()


def test_call_all_and_selected_ranks(echo):
    assert echo.execute("hello", "bob") == ["hi bob from rank 0/2", "hi bob from rank 1/2"]
    fut = echo.call("hello", name="ann", ranks=[1])
    assert fut.wait() == ["hi ann from rank 1/2"]
    assert echo.call_each("hello", [("x",), ("y",)]).wait() == ["hi x from rank 0/2", "hi y from rank 1/2"]
    with pytest.raises(IndexError):
        echo.call("hello", "z", ranks=[5])


def test_rank_that_raises_names_group_rank_and_remote_traceback(echo):
    with pytest.raises(WorkerError) as err:
        echo.execute("fail_on", 1)
    e = err.value
    assert (e.group, e.rank, e.method) == ("echo", 1, "fail_on")
    assert "ValueError: rank 1 refuses" in str(e)
    assert "workers_for_tests.py" in e.remote_traceback  # the remote frame is shown
    assert echo.execute("fail_on", 5) == [0, 1]  # the group is still usable


def test_timeout_names_the_waiting_ranks(echo):
    with pytest.raises(TimeoutError, match=r"ranks \[0, 1\] did not finish sleep\(\)"):
        echo.execute("sleep", 3, timeout=0.5)
    # The timed-out call still runs; the group serves the next call once it finishes.
    assert echo.execute("hello", "after", timeout=60) == ["hi after from rank 0/2", "hi after from rank 1/2"]


def test_rank_that_dies_surfaces_quickly(ray_cluster):
    group = WorkerGroup.launch(EchoWorker, "doomed", num_ranks=2, num_cpus_per_rank=0.5)
    start = time.monotonic()
    with pytest.raises(WorkerError) as err:
        group.execute("die_on", 0)
    assert time.monotonic() - start < 30
    assert err.value.rank == 0 and err.value.group == "doomed"
    assert "died" in str(err.value)
    group.shutdown()


def test_broken_init_is_reported_and_cleaned_up(ray_cluster):
    with pytest.raises(WorkerError) as err:
        WorkerGroup.launch(BrokenInitWorker, "broken", num_ranks=1, num_cpus_per_rank=0.5)
    assert "BrokenInitWorker.__init__" in str(err.value)
    assert "cannot load model" in str(err.value)
