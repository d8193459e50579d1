"""Wall time and peak memory as replications grow, local vs Dask backend at 2 workers.

    python benchmarks/bench_replications.py [SCENARIO] [--sizes 100,1000,10000]
        [--workers 2] [--set PATH=VALUE ...]

Each (backend, size) runs `magsim run` in its own process; wall time is measured around it
and peak memory is the largest peak resident set size of any one of its processes: the
client, pool workers, Dask workers. It is the larger of the kernel's figure for the process
and the children it waited for (wait4 rusage) and each descendant's high-water mark (VmHWM
in /proc, read every 0.1 s): Dask's workers are forked by a fork server and are not waited
for by `magsim`, so wait4 alone would leave them out.
Backends alternate size by size (local 100, Dask 100, local 1,000, ...) so that a drift in
the machine's speed during the run hits both. Prints a table and, measured in the same run,
the ratios: peak memory of the largest size over the smallest (goal <= 1.5) and Dask wall
time over local wall time (goal <= 1.3).

The default scenario is the 2024 baseline cut to its first half year (21 buyers, no
licensing), so that 10,000 replications take minutes; give the replay to measure it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

DEFAULT = "scenarios/baseline_2024.yaml"
DEFAULT_SETS = ["horizon.end=2024-06-30"]


def measure(scenario: str, n: int, backend: str, workers: int, sets: list[str]
            ) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one `magsim run`."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "simulator", "run", scenario, "-o", f"{tmp}/run",
               "--replications", str(n), "--workers", str(workers), "--backend", backend]
        for s in sets:
            cmd += ["--set", s]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tree_kib = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            tree_kib = max(tree_kib, descendants_peak_kib(proc.pid))
            time.sleep(0.1)
        wall = time.perf_counter() - t0
        if status != 0:
            raise SystemExit(f"{' '.join(cmd)} failed with status {status}")
        return wall, max(usage.ru_maxrss, tree_kib) / 1024.0


def descendants_peak_kib(root: int) -> int:
    """The largest peak RSS (VmHWM, KiB) among ``root`` and its live descendants."""
    import psutil  # installed with Dask

    try:
        procs = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    peak = 0
    for p in procs:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass  # ended meanwhile
    return peak


def main() -> None:
    """Run every size on both backends and print the table and the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=DEFAULT)
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--set", dest="sets", action="append", default=None)
    args = ap.parse_args()
    sets = args.sets if args.sets is not None else (
        DEFAULT_SETS if args.scenario == DEFAULT else [])
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"scenario {args.scenario} {' '.join('--set ' + s for s in sets)}; "
          f"{args.workers} workers")
    print(f"{'backend':>8} {'replications':>12} {'wall s':>8} {'ms/rep':>8} {'peak MiB':>9}")
    res: dict[tuple[str, int], tuple[float, float]] = {}
    for n in sizes:  # backends alternate, so that a drift in machine speed hits both
        for backend in ("local", "dask"):
            wall, peak = res[backend, n] = measure(args.scenario, n, backend, args.workers,
                                                   sets)
            print(f"{backend:>8} {n:>12,} {wall:>8.1f} {1000 * wall / n:>8.2f} {peak:>9.1f}")
    lo, hi = sizes[0], sizes[-1]
    for backend in ("local", "dask"):
        print(f"{backend}: peak memory {hi:,} / {lo:,} replications = "
              f"{res[backend, hi][1] / res[backend, lo][1]:.2f} (goal <= 1.5)")
    for n in sizes:
        print(f"dask / local wall time at {n:,} replications = "
              f"{res['dask', n][0] / res['local', n][0]:.2f} (goal <= 1.3)")


if __name__ == "__main__":
    main()
