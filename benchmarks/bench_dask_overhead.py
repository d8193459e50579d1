"""Where Dask's overhead goes: chunk compute time on a process pool vs Dask workers with
Dask's default settings vs magsim's quiet settings (``ensemble.QUIET_DASK``), in one run.

    python benchmarks/bench_dask_overhead.py [--replications 10000] [--rounds 2]
        [--workers 2] [--days 5]

Runs ``--replications`` of the 2024 baseline cut to ``--days`` days (cheap replications, so
per-task costs show) on each set-up in turn, ``--rounds`` times, alternating so that a drift
in the machine's speed hits all three. Prints per set-up the wall time and the sum of the
chunks' own compute times (``ChunkResult.seconds``, measured inside the worker), each as a
mean over rounds, and their ratios to the pool.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import dask

from simulator import compile_plan, load_scenario
from simulator.ensemble import QUIET_DASK, Job, Workers, execute_jobs, plan_chunks


def measure(plan, n: int, workers: int, setup: str) -> tuple[float, float]:
    """(wall s, summed chunk compute s) of ``n`` replications on one set-up."""
    times: list[float] = []
    job = Job(plan, plan_chunks(n), 1, lambda r: times.append(r.seconds))
    t0 = time.perf_counter()
    if setup == "pool":
        with Workers(workers) as session:
            execute_jobs([job], session)
    else:
        from dask.distributed import LocalCluster

        with dask.config.set(QUIET_DASK if setup == "dask quiet" else {}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        try:
            with Workers(workers, "dask", cluster.scheduler_address) as session:
                execute_jobs([job], session)
        finally:
            cluster.close()
    return time.perf_counter() - t0, sum(times)


def main() -> None:
    """Alternate the three set-ups and print means and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--days", type=int, default=5)
    args = ap.parse_args()
    end = dt.date(2024, 1, 1) + dt.timedelta(days=args.days - 1)
    plan = compile_plan(load_scenario("scenarios/baseline_2024.yaml",
                                      {"horizon.end": end.isoformat()}))
    setups = ("pool", "dask default", "dask quiet")
    got: dict[str, list[tuple[float, float]]] = {s: [] for s in setups}
    for _ in range(args.rounds):
        for s in setups:
            got[s].append(measure(plan, args.replications, args.workers, s))
    print(f"{args.replications:,} replications of a {args.days}-day baseline, "
          f"{len(plan_chunks(args.replications))} chunks, {args.workers} workers, "
          f"means of {args.rounds} alternating rounds")
    print(f"{'set-up':>13} {'wall s':>8} {'compute s':>10} {'wall/pool':>10} {'compute/pool':>13}")
    base = [statistics.mean(x[i] for x in got["pool"]) for i in (0, 1)]
    for s in setups:
        wall, comp = (statistics.mean(x[i] for x in got[s]) for i in (0, 1))
        print(f"{s:>13} {wall:>8.1f} {comp:>10.1f} {wall / base[0]:>10.2f} "
              f"{comp / base[1]:>13.2f}")


if __name__ == "__main__":
    main()
