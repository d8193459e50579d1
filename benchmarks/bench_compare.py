"""A policy comparison on the local backend vs Dask, measured in one run.

    python benchmarks/bench_compare.py [SCENARIO] [--replications 10] [--workers 2]

Runs ``magsim compare`` (every variant of SCENARIO, default the policy library on the 2025
replay) once per backend in its own process, checks that both wrote the same
``comparison.csv``, and prints both wall times and their ratio (goal for Dask overhead at 2
workers: <= 1.3).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    """Run the comparison on each backend and print the wall times and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="scenarios/policies/library.yaml")
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    wall = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("local", "dask"):
            out = Path(tmp) / backend
            cmd = [sys.executable, "-m", "simulator", "compare", args.scenario, "-o", str(out),
                   "--replications", str(args.replications), "--workers",
                   str(args.workers), "--backend", backend]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            wall[backend] = time.perf_counter() - t0
        same = ((Path(tmp) / "local" / "comparison.csv").read_bytes()
                == (Path(tmp) / "dask" / "comparison.csv").read_bytes())
    print(f"{args.scenario}: every variant x {args.replications} replications, "
          f"{args.workers} workers")
    print(f"local {wall['local']:.1f} s, dask {wall['dask']:.1f} s: "
          f"dask / local = {wall['dask'] / wall['local']:.2f} (goal <= 1.3); "
          f"comparison.csv identical: {same}")


if __name__ == "__main__":
    main()
