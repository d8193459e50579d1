"""Throughput: buyer-days simulated per second vs bare SimPy events per second, same run.

    python benchmarks/bench_throughput.py [SCENARIO] [--replications N] [--batch B]

Prints the rates and their ratio (goal >= 1.0: one buyer-day costs less than one bare SimPy
event), for replications simulated one at a time and in lock-step batches of B (50, as
``magsim run`` does: ``simulator.ensemble.LOCKSTEP``). A third line, a diagnostic, runs the
same scenario with its timeline cleared: no controls, so no licence applications; the gap
between it and the batch line is what the licensing gate costs. All are measured in this
process, one after the other, so the ratios are comparable across machines.
"""

from __future__ import annotations

import argparse
import time

import simpy

from simulator import compile_plan, load_scenario, simulate
from simulator.ensemble import LOCKSTEP
from simulator.model import simulate_batch


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


def buyer_days_per_second(path: str, replications: int, batch: int = 1,
                          sets: dict | None = None) -> tuple[float, float, int]:
    """(buyer-days per second, seconds per replication, days) for ``replications``
    replications simulated ``batch`` at a time (``sets``: overrides of the scenario).
    """
    plan = compile_plan(load_scenario(path, sets))
    simulate(plan, 0)  # warm-up: imports, caches
    t0 = time.perf_counter()
    for lo in range(1, replications + 1, batch):
        simulate_batch(plan, list(range(lo, min(lo + batch, replications + 1))))
    dt = time.perf_counter() - t0
    return replications * plan.days * len(plan.buyers) / dt, dt / replications, plan.days


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("scenario", nargs="?", default="scenarios/replay_2025.yaml")
    ap.add_argument("--replications", type=int, default=50)
    ap.add_argument("--batch", type=int, default=LOCKSTEP)
    args = ap.parse_args()
    # SimPy's rate is taken before, between and after the model's runs, and the fastest is
    # used: a moment of machine noise then lowers no ratio's denominator
    rates = [simpy_events_per_second()]
    one, one_rep, days = buyer_days_per_second(args.scenario, max(1, args.replications // 5))
    rates.append(simpy_events_per_second())
    many, many_rep, _ = buyer_days_per_second(args.scenario, args.replications, args.batch)
    rates.append(simpy_events_per_second())
    bare, bare_rep, _ = buyer_days_per_second(args.scenario, args.replications, args.batch,
                                              {"timeline": []})
    rates.append(simpy_events_per_second())
    events = max(rates)
    print(f"scenario                       {args.scenario} ({days} days)")
    print(f"bare SimPy events/second       {events:,.0f}  (fastest of "
          f"{', '.join(f'{r:,.0f}' for r in rates)})")
    print(f"one at a time:  s/replication  {one_rep:.4f}   buyer-days/s {one:,.0f}"
          f"   ratio {one / events:.2f}")
    print(f"batches of {args.batch:<3}: s/replication  {many_rep:.4f}   buyer-days/s {many:,.0f}"
          f"   ratio {many / events:.2f}  (goal >= 1.0)")
    print(f"  no timeline:  s/replication  {bare_rep:.4f}   buyer-days/s {bare:,.0f}"
          f"   ratio {bare / events:.2f}  (diagnostic: the gate never licenses)")


if __name__ == "__main__":
    main()
