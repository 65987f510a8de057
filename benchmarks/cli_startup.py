"""Wall time of CLI commands that a user (and the test suite) runs often, each in a fresh process.

    python benchmarks/cli_startup.py --repeats 5

Prints one JSON line per command with the median and min over the repeats. Commands that need
no plugin class (``--help``, ``plugins``, ``cluster --help``, ``benchmark convert --help``) show
what registering plugins by reference saves; ``config show`` imports the classes the recipe uses.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = {
    "--help": ["--help"],
    "plugins": ["plugins"],
    "cluster --help": ["cluster", "--help"],
    "benchmark convert --help": ["benchmark", "convert", "--help"],
    "config show math-tiny": ["config", "show", os.path.join(REPO, "cookbook", "math-tiny", "grpo.yaml")],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    for label, argv in COMMANDS.items():
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "rlinf_core.cli", *argv], capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise SystemExit(f"rlinf {' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
        print(json.dumps({"command": f"rlinf {label}", "median_s": round(statistics.median(times), 2),
                          "min_s": round(min(times), 2), "repeats": args.repeats}))


if __name__ == "__main__":
    main()
