"""Peak memory of an ensemble as replications grow (goal: 2,000 within 1.5x of 200).

    python benchmarks/bench_memory.py [SCENARIO] [--small 200] [--large 2000] [--set PATH=VALUE]

Each size runs `magsim run` in its own process (one worker, so the peak is the process's
own) and reads the peak resident set size from the kernel (wait4 rusage). Prints both peaks
and their ratio, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time


def peak_mib(scenario: str, replications: int, sets: list[str]) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of one `magsim run` process (``sets``: its --set)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "simulator", "run", scenario, "-o", f"{tmp}/run",
               "--replications", str(replications), "--workers", "1",
               "--daily-replications", "20", *(a for v in sets for a in ("--set", v))]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        if status != 0:
            raise SystemExit(f"{' '.join(cmd)} failed with status {status}")
        return usage.ru_maxrss / 1024.0, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("scenario", nargs="?", default="scenarios/replay_2025.yaml")
    ap.add_argument("--small", type=int, default=200)
    ap.add_argument("--large", type=int, default=2000)
    ap.add_argument("--set", dest="sets", action="append", default=[],
                    help="a scenario override passed to magsim run (repeatable)")
    args = ap.parse_args()
    small, t_small = peak_mib(args.scenario, args.small, args.sets)
    large, t_large = peak_mib(args.scenario, args.large, args.sets)
    print(f"scenario {args.scenario} {' '.join('--set ' + v for v in args.sets)}")
    print(f"{args.small:>6} replications: peak {small:8.1f} MiB  ({t_small:.0f} s)")
    print(f"{args.large:>6} replications: peak {large:8.1f} MiB  ({t_large:.0f} s)")
    print(f"ratio {large / small:.2f}  (goal <= 1.5)")


if __name__ == "__main__":
    main()
