"""Cost growth: seconds per buyer-day as buyers and the horizon grow, measured in one run.

    python benchmarks/bench_scaling.py [SCENARIO] [--replications N]

Scenarios are generated from SCENARIO (default: the 2025 replay) in memory:

- **buyers 10 -> 50 -> 200** (3-year horizon as in the file): the file's buyers are cycled
  and renamed ``<name>__<k>``; a buyer that gets c copies has each copy's demand, initial
  stock and fixed policy levels scaled by 1/c, so a region's and sector's demand stays that of
  the file (below the file's count, the first N buyers are kept unscaled). Timeline settings
  and general licences that name a buyer are repeated for each of its copies. Smaller
  buyers order smaller lots, so a buyer-day still files about one licence application.
- **horizon 1 -> 3 -> 10 years** (the file's buyers): the horizon starts on 2025-04-01, three
  days before the April 2025 controls, so every horizon is mostly licensing days (events dated
  before the start are folded into the starting state); the last timeline state holds to the
  end.

Each figure is the median over replications 1..N (after a warm-up replication) of seconds per
replication divided by buyers x days. Goal: the largest figure of each series within 1.5x of
the smallest.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import statistics
import time
from typing import Any

from simulator import compile_plan, load_scenario, simulate
from simulator.paths import set_path

SCALED = (("demand", "t_per_year"), ("demand", "units_per_year"), ("initial_stock_t",),
          ("policy", "order_up_to_t"), ("policy", "reorder_point_t"))


def _scale(buyer: dict[str, Any], factor: float) -> dict[str, Any]:
    out = copy.deepcopy(buyer)
    for path in SCALED:
        node = out
        for key in path[:-1]:
            node = node.get(key) or {}
        if node.get(path[-1]) is not None:
            node[path[-1]] = node[path[-1]] * factor
    return out


def with_buyers(doc: dict[str, Any], n: int) -> dict[str, Any]:
    """``doc`` with ``n`` buyers: the original ones cycled, renamed and scaled (see above)."""
    base = list(doc["buyers"])
    copies = {b: n // len(base) + (i < n % len(base)) for i, b in enumerate(base)}
    if n <= len(base):
        copies = {b: int(i < n) for i, b in enumerate(base)}
    names = {b: ([b] if c else []) if n <= len(base) else [f"{b}__{k}" for k in range(c)]
             for b, c in copies.items()}
    out = copy.deepcopy(doc)
    scale = 1.0 if n <= len(base) else None
    out["buyers"] = {new: _scale(doc["buyers"][b], scale or 1.0 / max(copies[b], 1))
                     for b in base for new in names[b]}
    for ev in out.get("timeline", []):
        ev["set"] = {k2: v for k, v in ev["set"].items() for k2 in _renamed(k, names)}
        for lic in ev["set"].get("gate.general_licences", {}).values():
            lic["buyers"] = [x for b in lic["buyers"] for x in names.get(b, [])]
    for lic in out["gate"].get("general_licences", {}).values():
        lic["buyers"] = [x for b in lic["buyers"] for x in names.get(b, [])]
    return out


def _renamed(path: str, names: dict[str, list[str]]) -> list[str]:
    parts = path.split(".")
    if len(parts) > 1 and parts[0] == "buyers" and parts[1] in names:
        return [".".join(["buyers", x, *parts[2:]]) for x in names[parts[1]]]
    if len(parts) > 1 and parts[0] == "buyers" and parts[1] != "*":
        return []  # a buyer dropped below the file's count
    return [path]


def with_horizon(doc: dict[str, Any], years: int, start: dt.date = dt.date(2025, 4, 1)
                 ) -> dict[str, Any]:
    """``doc`` over ``years`` years from ``start``; earlier events fold into the start."""
    out = copy.deepcopy(doc)
    out["horizon"] = {"start": start.isoformat(),
                      "end": (start.replace(year=start.year + years) - dt.timedelta(days=1)
                              ).isoformat()}
    kept, end = [], dt.date.fromisoformat(out["horizon"]["end"])
    for ev in out.get("timeline", []):
        if dt.date.fromisoformat(str(ev["date"])) > end:
            continue  # after the horizon: never in force
        if dt.date.fromisoformat(str(ev["date"])) < start:
            for path, value in ev["set"].items():
                out = set_path(out, path, value)
        else:
            kept.append(ev)
    out["timeline"] = kept
    return out


def seconds_per_buyer_day(doc: dict[str, Any], replications: int) -> tuple[float, int, int]:
    """(median seconds per buyer-day, buyers, days) of ``doc``."""
    plan = compile_plan(load_scenario(doc))
    simulate(plan, 0)  # warm-up
    times = []
    for k in range(1, replications + 1):
        t0 = time.process_time()
        simulate(plan, k)
        times.append(time.process_time() - t0)
    return statistics.median(times) / (len(plan.buyers) * plan.days), len(plan.buyers), \
        plan.days


def _series(label: str, docs: list[tuple[str, dict[str, Any]]], replications: int) -> None:
    rows = [(name, *seconds_per_buyer_day(d, replications)) for name, d in docs]
    low = min(r[1] for r in rows)
    print(f"\n{label}")
    print(f"{'case':>10} {'buyers':>7} {'days':>6} {'us/buyer-day':>13} {'s/replication':>14}"
          f" {'vs lowest':>10}")
    for name, per, nb, days in rows:
        print(f"{name:>10} {nb:>7} {days:>6} {per * 1e6:>13.2f} {per * nb * days:>14.3f}"
              f" {per / low:>10.2f}")
    print(f"growth (largest / smallest): {max(r[1] for r in rows) / low:.2f}  (goal <= 1.5)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("scenario", nargs="?", default="scenarios/replay_2025.yaml")
    ap.add_argument("--replications", type=int, default=3)
    args = ap.parse_args()
    doc = load_scenario(args.scenario).model_dump(mode="json", exclude={"variants", "sweep"})
    print(f"scenario {args.scenario}; CPU seconds (process time), median of "
          f"{args.replications} replications")
    _series("buyers (horizon of the file)",
            [(f"{n} buyers", with_buyers(doc, n)) for n in (10, 50, 200)], args.replications)
    _series("horizon (buyers of the file, from 2025-04-01)",
            [(f"{y} years", with_horizon(doc, y)) for y in (1, 3, 10)], args.replications)


if __name__ == "__main__":
    main()
