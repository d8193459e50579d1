"""Throughput: buyer-days simulated per second vs bare SimPy events per second, same run.

    python benchmarks/bench_throughput.py [SCENARIO] [--replications N]

Prints both rates and their ratio (goal >= 1.0: one buyer-day costs less than one bare SimPy
event). Both are measured in this process, one after the other, so the ratio is comparable
across machines.
"""

from __future__ import annotations

import argparse
import time

import simpy

from simulator import compile_plan, load_scenario, simulate


def simpy_events_per_second(n: int = 300_000) -> float:
    """Events per second of a bare SimPy process yielding ``n`` timeouts."""
    env = simpy.Environment()

    def ticker(env: simpy.Environment):
        for _ in range(n):
            yield env.timeout(1)

    env.process(ticker(env))
    t0 = time.perf_counter()
    env.run()
    return n / (time.perf_counter() - t0)


def buyer_days_per_second(path: str, replications: int) -> tuple[float, float, int]:
    """(buyer-days per second, seconds per replication, SimPy events per replication)."""
    plan = compile_plan(load_scenario(path))
    simulate(plan, 0)  # warm-up: imports, caches
    t0 = time.perf_counter()
    for k in range(1, replications + 1):
        simulate(plan, k)
    dt = time.perf_counter() - t0
    return replications * plan.days * len(plan.buyers) / dt, dt / replications, plan.days


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("scenario", nargs="?", default="scenarios/replay_2025.yaml")
    ap.add_argument("--replications", type=int, default=10)
    args = ap.parse_args()
    rate, per_rep, days = buyer_days_per_second(args.scenario, args.replications)
    events = simpy_events_per_second()
    print(f"scenario                 {args.scenario}")
    print(f"seconds per replication  {per_rep:.4f}  ({days} days)")
    print(f"buyer-days per second    {rate:,.0f}")
    print(f"bare SimPy events/second {events:,.0f}")
    print(f"ratio                    {rate / events:.2f}  (goal >= 1.0)")


if __name__ == "__main__":
    main()
