"""Worker classes the Ray tests launch (importable by name inside Ray workers)."""

import os
import time

from rlinf_core import Worker


class EchoWorker(Worker):
    def __init__(self, prefix: str = ""):
        self.prefix = prefix
        self.calls = 0

    def hello(self, name: str) -> str:
        self.calls += 1
        return f"{self.prefix}{name} from rank {self.rank}/{self.world_size}"

    def threads(self) -> dict:
        import torch

        return {"torch": torch.get_num_threads(), "omp": os.environ.get("OMP_NUM_THREADS"),
                "niceness": os.nice(0)}

    def fail_on(self, bad_rank: int) -> int:
        if self.rank == bad_rank:
            raise ValueError(f"rank {self.rank} refuses")
        return self.rank

    def die_on(self, bad_rank: int) -> int:
        if self.rank == bad_rank:
            os._exit(3)
        time.sleep(0.2)
        return self.rank

    def sleep(self, seconds: float) -> float:
        time.sleep(seconds)
        return seconds


class BrokenInitWorker(Worker):
    def __init__(self):
        raise RuntimeError("cannot load model")


class ProducerWorker(Worker):
    """Puts numbered items into a channel (to test channels between processes)."""

    def produce(self, channel, n: int) -> int:
        for i in range(n):
            channel.put({"rank": self.rank, "i": i}, weight=1.0)
        return n
