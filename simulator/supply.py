"""Supply after the gate: China's dispatch, ex-China suppliers, stockpiles, the pipeline.

All steps here run once per day inside the daily step and work on vectors over buyers.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from simulator.allocation import WaitingLine, by_priority, in_order, pro_rata
from simulator.plan import Plan, StockpileParams
from simulator.streams import Streams


class Pipeline:
    """Tonnes on their way to buyers, by arrival day: ordered goods and stockpile releases."""

    def __init__(self, days: int, buyers: int, spill: int) -> None:
        self.ordered = np.zeros((days + spill, buyers))
        self.gray = np.zeros((days + spill, buyers))
        self.released = np.zeros((days + spill, buyers))
        self.in_transit = np.zeros(buyers)
        self.idx = np.arange(buyers)
        self.open_from = 0  # first day whose arrivals have not been received yet

    def ship(self, arrive: np.ndarray, tonnes: np.ndarray) -> None:
        """Send ``tonnes`` per buyer to arrive on day ``arrive`` per buyer."""
        self.ordered[np.maximum(arrive, self.open_from), self.idx] += tonnes
        self.in_transit += tonnes

    def ship_one(self, buyer: int, arrive: int, tonnes: float, gray: bool = False) -> None:
        """Send one buyer's tonnes (gray-channel tonnes are also counted apart)."""
        arrive = max(arrive, self.open_from)
        self.ordered[arrive, buyer] += tonnes
        if gray:
            self.gray[arrive, buyer] += tonnes
        self.in_transit[buyer] += tonnes

    def receive(self, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What arrives on ``day``: (ordered, of which gray, stockpile releases), t per buyer."""
        got = self.ordered[day]
        self.in_transit -= got
        self.open_from = day + 1
        return got, self.gray[day], self.released[day]


def transit_days(plan: Plan, streams: Streams) -> np.ndarray:
    """Transit days per [day, region], drawn once per replication from ``transit/<region>``."""
    out = np.zeros((plan.days, len(plan.regions)), dtype=np.int64)
    for r, name in enumerate(plan.regions):
        u = streams.generator(f"transit/{name}").random(plan.days)
        for start, end, d in plan.transit[r]:
            q = u[start:end]
            if d.dist == "fixed" or d.cv == 0.0:
                x = np.full(end - start, d.mean)
            elif d.dist == "gamma":
                shape = 1.0 / d.cv**2
                x = stats.gamma.ppf(q, shape, scale=d.mean / shape)
            else:
                s2 = np.log1p(d.cv**2)
                x = np.exp(np.log(d.mean) - 0.5 * s2 + np.sqrt(s2) * stats.norm.ppf(q))
            out[start:end, r] = np.rint(np.maximum(x, d.min))
    return out


class ChinaDispatch:
    """Approved (or unlicensed) tonnes waiting for China's export capacity, then transit."""

    def __init__(self, plan: Plan, lead: np.ndarray, pipeline: Pipeline) -> None:
        self.plan, self.pipeline, self.lead = plan, pipeline, lead
        self.line = WaitingLine(len(plan.buyers))

    def add(self, buyer: int, tonnes: float) -> None:
        """Queue tonnes for dispatch."""
        self.line.add(buyer, tonnes)

    def dispatch(self, day: int, capacity: float, rule: str, rank: np.ndarray
                 ) -> np.ndarray:
        """Dispatch up to ``capacity`` tonnes today; returns tonnes per buyer."""
        out = self.line.take(capacity, rule, rank)
        if out.any():
            arrive = day + self.lead[day, self.plan.buyer_region]
            self.pipeline.ship(arrive, out)
        return out


class Suppliers:
    """Ex-China suppliers and recyclers: order lines served by daily capacity."""

    def __init__(self, plan: Plan, pipeline: Pipeline) -> None:
        self.plan, self.pipeline = plan, pipeline
        self.lines = [WaitingLine(len(plan.buyers)) for _ in plan.suppliers]

    def order(self, supplier: int, buyer: int, tonnes: float) -> None:
        """Place an order for ``tonnes`` (t) with a supplier."""
        self.lines[supplier].add(buyer, tonnes)

    def backlog(self) -> np.ndarray:
        """Tonnes waiting at all suppliers, per buyer."""
        return sum((ln.waiting for ln in self.lines), np.zeros(len(self.plan.buyers)))

    def ship(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Ship today's output; returns (tonnes per supplier, premium USD per buyer)."""
        plan = self.plan
        shipped = np.zeros(len(self.lines))
        premium = np.zeros(len(plan.buyers))
        for s, line in enumerate(self.lines):
            if not line.entries:
                continue
            out = line.take(plan.supplier_cap[day, s], plan.supplier_rule[s])
            shipped[s] = out.sum()
            premium += out * (1000.0 * plan.premium[s])
            arrive = np.full(len(out), day + plan.supplier_lead[day, s])
            self.pipeline.ship(arrive, out)
        return shipped, premium


class Stockpiles:
    """Government stockpiles releasing to eligible buyers whose cover is low."""

    def __init__(self, plan: Plan, pipeline: Pipeline) -> None:
        self.level = plan.stockpile_t.copy()
        self.pipeline = pipeline
        self.on_way = np.zeros(len(plan.buyers))

    def release(self, day: int, p: StockpileParams, on_hand: np.ndarray, forecast: np.ndarray
                ) -> None:
        """Top eligible buyers up to their trigger cover, within each stockpile's limits."""
        for k in range(len(self.level)):
            if self.level[k] <= 0.0:
                continue
            gap = p.trigger_days[k] * forecast - on_hand - self.on_way
            need = np.where(p.eligible[k] & (gap > 0.0), gap, 0.0)
            if not need.any():
                continue
            can = min(p.max_t_per_day[k], self.level[k])
            rule = p.allocation[k]
            give = (pro_rata(can, need) if rule == "pro_rata" else
                    by_priority(can, need, p.rank[k]) if rule == "priority" else
                    in_order(can, need))
            self.level[k] -= give.sum()
            if p.lead_days[k] == 0:
                on_hand += give  # usable today, before demand
                self.pipeline.released[day] += give
                continue
            self.pipeline.released[day + p.lead_days[k]] += give
            self.on_way += give

    def arrived(self, released: np.ndarray) -> None:
        """Account for releases that arrived today."""
        self.on_way -= released
