"""Supply after the gate: China's dispatch, ex-China suppliers, stockpiles, the pipeline.

All steps here run once per day inside the daily step and work on vectors over buyers.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from simulator.allocation import WaitingLine, by_priority, in_order, pro_rata
from simulator.plan import Plan, StockpileParams
from simulator.streams import Streams


class Pipeline:
    """Tonnes on their way to buyers, by arrival day: ordered goods and stockpile releases."""

    def __init__(self, days: int, buyers: int, spill: int,
                 in_transit: np.ndarray | None = None) -> None:
        self.ordered = np.zeros((days + spill, buyers))
        self.gray = np.zeros((days + spill, buyers))
        self.released = np.zeros((days + spill, buyers))
        self.in_transit = np.zeros(buyers) if in_transit is None else in_transit  # in place
        self.idx = np.arange(buyers)
        self.open_from = 0  # first day whose arrivals have not been received yet

    def ship(self, arrive: np.ndarray, tonnes: np.ndarray) -> None:
        """Send ``tonnes`` per buyer to arrive on day ``arrive`` per buyer."""
        self.ordered[np.maximum(arrive, self.open_from), self.idx] += tonnes
        self.in_transit += tonnes

    def ship_rows(self, arrive: np.ndarray, tonnes: np.ndarray) -> None:
        """Send ``tonnes[k]`` (t per buyer) to arrive on day ``arrive[k]``, for every k."""
        np.add.at(self.ordered, np.maximum(arrive, self.open_from), tonnes)
        self.in_transit += tonnes.sum(0)

    def ship_day(self, arrive: int, tonnes: np.ndarray) -> None:
        """Send ``tonnes`` per buyer to arrive on day ``arrive``."""
        self.ordered[max(arrive, self.open_from)] += tonnes
        self.in_transit += tonnes

    def ship_gray(self, arrive: int, tonnes: np.ndarray) -> None:
        """Send gray-channel tonnes per buyer (also counted apart) to arrive on ``arrive``."""
        arrive = max(arrive, self.open_from)
        self.ordered[arrive] += tonnes
        self.gray[arrive] += tonnes
        self.in_transit += tonnes

    def receive(self, day: int) -> np.ndarray:
        """What arrives on ``day`` (ordered goods, t per buyer); rows of ``gray`` and
        ``released`` for the day are final once it is received.
        """
        got = self.ordered[day]
        self.in_transit -= got
        self.open_from = day + 1
        return got


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
                x = special.gammaincinv(shape, q) * (d.mean / shape)
            else:
                s2 = np.log1p(d.cv**2)
                x = np.exp(np.log(d.mean) - 0.5 * s2 + np.sqrt(s2) * special.ndtri(q))
            out[start:end, r] = np.rint(np.maximum(x, d.min))
    return out


class ChinaDispatch:
    """Approved (or unlicensed) tonnes waiting for China's export capacity, then transit."""

    def __init__(self, plan: Plan, lead: np.ndarray, pipeline: Pipeline,
                 waiting: np.ndarray | None = None) -> None:
        self.pipeline = pipeline
        self.lead = lead[:, plan.buyer_region]  # transit days per [day, buyer]
        self.line = WaitingLine(len(plan.buyers), waiting)
        self.sent = np.zeros((plan.days, len(plan.buyers)))  # dispatched per [day, buyer] (t)

    def add(self, buyers: np.ndarray, tonnes: np.ndarray) -> None:
        """Queue tonnes for dispatch (entries in the order given)."""
        self.line.add_batch(buyers, tonnes)

    def dispatch(self, day: int, capacity: float, rule: str, rank: np.ndarray) -> None:
        """Dispatch up to ``capacity`` tonnes today (recorded in :attr:`sent`)."""
        if not self.line.chunks:
            return
        out = self.line.take(capacity, rule, rank)
        self.sent[day] = out
        self.pipeline.ship(day + self.lead[day], out)


class Suppliers:
    """Ex-China suppliers and recyclers: order lines served by daily capacity."""

    def __init__(self, plan: Plan, pipeline: Pipeline) -> None:
        self.plan, self.pipeline = plan, pipeline
        n_s, n_b = len(plan.suppliers), len(plan.buyers)
        self.waiting = np.zeros((n_s, n_b))  # t per [supplier, buyer]; rows shared by lines
        self.lines = [WaitingLine(n_b, self.waiting[s]) for s in range(n_s)]
        self.usd_per_t = 1000.0 * plan.premium
        self.one_lead = (plan.supplier_lead == plan.supplier_lead[:, :1]).all(1)  # per day
        self.none = (np.zeros(n_s), np.zeros(n_b))
        self.busy = False  # some order may be waiting

    def order(self, supplier: int, buyers: np.ndarray, tonnes: np.ndarray) -> None:
        """Place orders for ``tonnes`` (t) for ``buyers`` with one supplier."""
        self.lines[supplier].add_batch(buyers, tonnes)
        self.busy = True

    def order_dense(self, supplier: int, tonnes: np.ndarray) -> None:
        """Place orders with one supplier, t per buyer (in buyer order)."""
        if np.count_nonzero(tonnes):
            self.lines[supplier].add_all(tonnes)
            self.busy = True

    def order_all(self, tonnes: np.ndarray) -> None:
        """Place a day's orders, t per [buyer, supplier]."""
        for s in tonnes.any(0).nonzero()[0].tolist():
            self.lines[s].add_all(tonnes[:, s])
            self.busy = True

    def backlog(self) -> np.ndarray:
        """Tonnes waiting at all suppliers, per buyer."""
        return self.waiting.sum(0)

    def ship(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Ship today's output; returns (tonnes per supplier, premium USD per buyer)."""
        if not self.busy:
            return self.none
        plan, waiting = self.plan, self.waiting
        cap = plan.supplier_cap[day]
        total = waiting.sum(1)
        out = waiting.copy()
        busy = False
        for s, (line, left, c) in enumerate(zip(self.lines, total.tolist(), cap.tolist(),
                                                strict=True)):
            if left > c:  # short: the allocation rule splits the capacity (updates waiting[s])
                out[s] = line.take(c, plan.supplier_rule[s], plan.supplier_rank[s])
                busy = True
            elif line.chunks or left:  # everything waiting ships
                line.chunks.clear()
                waiting[s] = 0.0
        self.busy = busy
        if self.one_lead[day]:
            self.pipeline.ship_day(day + int(plan.supplier_lead[day, 0]), out.sum(0))
        else:
            self.pipeline.ship_rows(day + plan.supplier_lead[day], out)
        return out.sum(1), self.usd_per_t @ out


class Stockpiles:
    """Government stockpiles releasing to eligible buyers whose cover is low."""

    def __init__(self, plan: Plan, pipeline: Pipeline) -> None:
        self.level = plan.stockpile_t.copy()
        self.pipeline = pipeline
        self.on_way = np.zeros(len(plan.buyers))
        self.wanted = np.zeros(len(self.level), dtype=bool)  # an eligible buyer was short
        self._for: StockpileParams | None = None  # phase that _high was computed for
        self._high = np.zeros(len(plan.buyers))

    def release(self, day: int, p: StockpileParams, on_hand: np.ndarray, forecast: np.ndarray
                ) -> None:
        """Top eligible buyers up to their trigger cover, within each stockpile's limits."""
        refills = p.refills
        if refills:  # only a refill reads it
            self.wanted[:] = False
        if not np.count_nonzero(on_hand + self.on_way < self._trigger(p, refills) * forecast):
            return  # nobody below a trigger (releases only shrink the gaps)
        for k in range(len(self.level)):
            if self.level[k] <= 0.0 and not refills:
                continue
            gap = p.trigger_days[k] * forecast - on_hand - self.on_way
            need = np.where(p.eligible[k] & (gap > 0.0), gap, 0.0)
            if not need.any():
                continue
            self.wanted[k] = True
            if self.level[k] <= 0.0:
                continue
            can = min(p.max_t_per_day[k], self.level[k])
            rule = p.allocation[k]
            give = (pro_rata(can, need) if rule == "pro_rata" else
                    by_priority(can, need, p.rank[k]) if rule == "priority" else
                    in_order(can, need))
            self.level[k] -= give.sum()
            if self.level[k] <= 0.0:
                self._for = None
            if p.lead_days[k] == 0:
                on_hand += give  # usable today, before demand
                self.pipeline.released[day] += give
                continue
            self.pipeline.released[day + p.lead_days[k]] += give
            self.on_way += give

    def refill(self, p: StockpileParams) -> np.ndarray:
        """Buy back towards each stockpile's target, at most its ``refill_t_per_day``, on a
        day none of its eligible buyers was below its trigger (so it neither released nor
        wanted to); returns tonnes bought per stockpile (added to its level at once).
        """
        buy = np.minimum(p.refill_t_per_day, np.maximum(p.refill_target - self.level, 0.0))
        buy[self.wanted] = 0.0
        self.level += buy
        return buy

    def _trigger(self, p: StockpileParams, every: bool = False) -> np.ndarray:
        """Highest trigger cover (days) per buyer over the stockpiles that hold stock (over
        all of them if ``every``: one that refills must see its buyers' gaps when empty).
        """
        if p is not self._for:  # new phase, or a stockpile ran empty
            live = p.eligible & ((self.level > 0.0) | every)[:, None]
            self._for, self._high = p, np.where(live, p.trigger_days[:, None], 0.0).max(
                0, initial=0.0)
        return self._high

    def arrived(self, released: np.ndarray) -> None:
        """Account for releases that arrived today."""
        self.on_way -= released
