"""Supply after the gate: China's dispatch, ex-China suppliers, stockpiles, the pipeline.

All steps here run once per day inside the daily step and work on vectors over buyers (over
slots when replications are stepped together: see :mod:`simulator.lockstep`).
"""

from __future__ import annotations

import numpy as np

from simulator.allocation import (
    DenseLines,
    WaitingLine,
    WaitingLines,
    by_priority_rows,
    in_order_rows,
    pro_rata_rows,
    waiting_line,
)
from simulator.plan import Plan, StockpileParams
from simulator.quantiles import delay_ppf
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
            out[start:end, r] = np.rint(delay_ppf(u[start:end], d))
    return out


class ChinaDispatch:
    """Approved (or unlicensed) tonnes waiting for China's export capacity, then transit."""

    def __init__(self, plan: Plan, lead: np.ndarray, pipeline: Pipeline,
                 waiting: np.ndarray | None = None, reps: int = 1) -> None:
        """``lead``: transit days per [day, slot]."""
        self.pipeline, self.lead = pipeline, lead
        self.line = waiting_line(len(plan.buyers), waiting, reps)
        self.sent = np.zeros((plan.days, lead.shape[1]))  # dispatched per [day, slot] (t)

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
    """Ex-China suppliers and recyclers: order lines served by daily capacity.

    One replication has a :class:`WaitingLine` per supplier; replications stepped together
    share one set of [supplier, replication] lines (:class:`DenseLines` when every
    supplier serves ``fifo``, :class:`WaitingLines` otherwise).
    """

    def __init__(self, plan: Plan, pipeline: Pipeline, reps: int = 1) -> None:
        self.plan, self.pipeline, self.reps = plan, pipeline, reps
        n_s, n_b = len(plan.suppliers), len(plan.buyers)
        self.waiting = np.zeros((n_s, reps * n_b))  # t per [supplier, slot]
        self.cells = self.waiting.reshape(n_s, reps, n_b)  # a view: [supplier, rep, buyer]
        if reps == 1:
            self.lines: list[WaitingLine] | WaitingLines | DenseLines = [
                WaitingLine(n_b, self.waiting[s]) for s in range(n_s)]
        elif set(plan.supplier_rule) == {"fifo"}:
            self.lines = DenseLines(n_b, self.waiting.reshape(-1), n_s * reps)
        else:
            self.lines = WaitingLines(n_b, self.waiting.reshape(-1), n_s * reps)
            self.rule = np.repeat(np.array(plan.supplier_rule, dtype=object), reps)
            self.rank = np.repeat(plan.supplier_rank, reps, axis=0)  # [line, buyer]
        self.usd_per_t = 1000.0 * plan.premium[:, None]
        self.one_lead = (plan.supplier_lead == plan.supplier_lead[:, :1]).all(1)  # per day
        self.none = (np.zeros(n_s * reps), np.zeros(reps * n_b))
        self.busy = np.zeros(reps, dtype=bool)  # per replication: some order may be waiting

    def order_dense(self, supplier: int, tonnes: np.ndarray) -> None:
        """Place orders with one supplier, t per slot (in buyer order); a replication whose
        tonnes are all zero places none.
        """
        if not np.count_nonzero(tonnes):
            return
        if isinstance(self.lines, list):
            self.lines[supplier].add_all(tonnes)
            self.busy[:] = True
            return
        full = np.zeros_like(self.waiting)
        full[supplier] = tonnes
        self._order(full)

    def order_all(self, tonnes: np.ndarray) -> None:
        """Place a day's orders, t per [slot, supplier] (a supplier's line in a replication
        queues nothing when all its tonnes are zero).
        """
        if isinstance(self.lines, list):
            for s in tonnes.any(0).nonzero()[0].tolist():
                self.order_dense(s, tonnes[:, s])
        elif np.count_nonzero(tonnes):
            self._order(np.ascontiguousarray(tonnes.T))

    def _order(self, rows: np.ndarray) -> None:
        """Queue t per [supplier, slot] on the lines of replications stepped together."""
        assert not isinstance(self.lines, list)
        self.lines.add_all(rows.reshape(-1), only_nonzero=True)
        self.busy |= rows.reshape(self.cells.shape).any((0, 2))

    def backlog(self) -> np.ndarray:
        """Tonnes waiting at all suppliers, per buyer."""
        return self.waiting.sum(0)

    def ship(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Ship today's output; returns (tonnes per [replication, supplier] flattened,
        premium USD per slot). Where a line waits for more than the capacity, its rule
        splits it; otherwise all that waits ships.
        """
        busy = self.busy
        if not busy.any():
            return self.none
        plan, cells = self.plan, self.cells
        cap = plan.supplier_cap[day]
        short = cells.sum(2) > cap[:, None]  # [supplier, rep]
        if isinstance(self.lines, list):
            out = np.zeros_like(self.waiting)
            for s, line in enumerate(self.lines):
                if line.chunks or np.count_nonzero(line.waiting):
                    out[s] = line.take(float(cap[s]), plan.supplier_rule[s],
                                       plan.supplier_rank[s], flush=True)
        else:
            among = np.broadcast_to(busy, cells.shape[:2]).reshape(-1)
            caps = np.repeat(cap, self.reps)
            out = (self.lines.take(caps, among, flush=True) if isinstance(self.lines, DenseLines)
                   else self.lines.take(caps, self.rule, self.rank, among=among, flush=True)
                   ).reshape(self.waiting.shape)
        self.busy = (short & busy).any(0)
        if self.one_lead[day]:
            self.pipeline.ship_day(day + int(plan.supplier_lead[day, 0]), out.sum(0))
        else:
            self.pipeline.ship_rows(day + plan.supplier_lead[day], out)
        shipped = out.reshape(cells.shape).sum(2).T.ravel()
        return shipped, np.add.reduce(self.usd_per_t * out, axis=0)


class Stockpiles:
    """Government stockpiles releasing to eligible buyers whose cover is low.

    Levels are [replication, stockpile] (one row unless replications are stepped together).
    """

    def __init__(self, plan: Plan, pipeline: Pipeline, reps: int = 1) -> None:
        self.reps, self.n = reps, len(plan.buyers)
        self.level = np.tile(plan.stockpile_t, (reps, 1))
        self.pipeline = pipeline
        self.on_way = np.zeros(reps * self.n)
        self.wanted = np.zeros(self.level.shape, dtype=bool)  # an eligible buyer was short
        self._for: StockpileParams | None = None  # phase that _high was computed for
        self._high = np.zeros(reps * self.n)

    def release(self, day: int, p: StockpileParams, on_hand: np.ndarray, forecast: np.ndarray
                ) -> None:
        """Top eligible buyers up to their trigger cover, within each stockpile's limits."""
        refills = p.refills
        if refills:  # only a refill reads it
            self.wanted[:] = False
        if not np.count_nonzero(on_hand + self.on_way < self._trigger(p, refills) * forecast):
            return  # nobody below a trigger (releases only shrink the gaps)
        shape = (self.reps, self.n)
        for k in range(self.level.shape[1]):
            level = self.level[:, k]
            alive = level > 0.0
            if not refills and not alive.any():
                continue
            gap = p.trigger_days[k] * forecast - on_hand - self.on_way
            need = np.where(p.eligible[k] & (gap > 0.0), gap, 0.0).reshape(shape)
            short = need.any(1) & (alive | refills)
            if not short.any():
                continue
            self.wanted[short, k] = True
            go = short & alive
            if not go.any():
                continue
            can = np.minimum(p.max_t_per_day[k], level)
            rule = p.allocation[k]
            give = (pro_rata_rows(can, need) if rule == "pro_rata" else
                    by_priority_rows(can, need, p.rank[k]) if rule == "priority" else
                    in_order_rows(can, need))
            give[~go] = 0.0
            level[go] -= give[go].sum(1)
            if (level[go] <= 0.0).any():
                self._for = None
            give = give.ravel()
            if p.lead_days[k] == 0:
                on_hand += give  # usable today, before demand
                self.pipeline.released[day] += give
                continue
            self.pipeline.released[day + p.lead_days[k]] += give
            self.on_way += give

    def refill(self, p: StockpileParams) -> np.ndarray:
        """Buy back towards each stockpile's target, at most its ``refill_t_per_day``, on a
        day none of its eligible buyers was below its trigger (so it neither released nor
        wanted to); returns tonnes bought per [replication, stockpile] (added to its level
        at once).
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
            held = np.repeat(((self.level > 0.0) | every).T, self.n, axis=1)  # [stockpile, slot]
            live = p.eligible & held
            self._for, self._high = p, np.where(live, p.trigger_days[:, None], 0.0).max(
                0, initial=0.0)
        return self._high

    def arrived(self, released: np.ndarray) -> None:
        """Account for releases that arrived today."""
        self.on_way -= released
