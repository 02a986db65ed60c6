"""COLD-START: fresh processes running ``import psipo_exact``, ``psipo-exact reproduce`` (the
paper's Figures 1–2 with all outputs) and ``psipo-exact check`` (the symbolic checks).

Each is a new Python process (imports from the OS file cache, nothing else warm); best of 3
wall-clock times and, for that run, the CPU time (user + system) of the process, which is
what the wall time would be on an idle machine. Peer rows give the floor: a process that
imports only numpy and scipy.sparse, and one that imports matplotlib.pyplot and sympy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
CLI = str(Path(sys.executable).with_name("psipo-exact"))


def timed(argv) -> tuple[float, float]:
    """Best-of-3 wall time of ``argv`` in a fresh process, and that run's CPU time."""
    best = (float("inf"), float("nan"))
    for _ in range(3):
        before = os.times()
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        wall = time.perf_counter() - start
        after = os.times()
        cpu = (after.children_user - before.children_user
               + after.children_system - before.children_system)
        best = min(best, (wall, cpu))
    return best


def main() -> None:
    out = tempfile.mkdtemp(prefix="bench_cold_")
    try:
        rows = [
            ("import numpy, scipy.sparse (floor)", [PYTHON, "-c", "import numpy, scipy.sparse"]),
            ("import psipo_exact", [PYTHON, "-c", "import psipo_exact"]),
            ("import matplotlib.pyplot, sympy (peer)",
             [PYTHON, "-c", "import matplotlib.pyplot, sympy"]),
            ("psipo-exact reproduce", [CLI, "reproduce", "--out", out, "--no-progress"]),
            ("psipo-exact check", [CLI, "check"]),
        ]
        print("COLD-START: fresh processes, best of 3 (wall) and that run's CPU time")
        print("| command | wall (s) | CPU (s) |")
        print("|---|---|---|")
        for name, argv in rows:
            wall, cpu = timed(argv)
            print(f"| {name} | {wall:.2f} | {cpu:.2f} |")
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
