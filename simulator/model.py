"""One replication: wires the gate, supply, buyers and the recorder around a daily step.

Order of events (DESIGN §2.5). Licence reviews run as SimPy processes at any instant; the
daily step for day *d* runs at simulation time *d*, after every decision that falls at the
same instant (it is scheduled with a priority below SimPy's normal one). Within the step:

1. timeline: the phase starting on day *d* comes into force;
2. licence decisions and dispatch: shipments due for re-application are filed again; China
   dispatches what waits for its capacity (decided since the last step, or filed unlicensed
   at the last step); suppliers ship their output;
3. arrivals: everything due on day *d* is received, including what was just dispatched
   with a zero lead time (dispatch reads no inventory, so receiving after it is the same as
   before it); stockpiles release to eligible buyers below their trigger cover;
4. demand is served from stock;
5. policies review (on review days) and place orders: China's share is filed with the gate,
   the rest goes to suppliers;
6. the day is recorded.

Lead times: an order placed at review on day *t* is dispatched at the next step (*t+1*) when
the gate is open and capacity ample, and arrives *L* transit days later, usable that day.
In the textbook periodic-review timing this is a lead time of *L* periods and a protection
interval of *L + 1* days (review period 1).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from simulator.buyers import Buyers, draw_demand
from simulator.disruptions import draw_disruptions
from simulator.licensing import Gate
from simulator.plan import LOSE, REAPPLY, RESOURCE, Plan
from simulator.policies import order_quantity, order_up_to_level
from simulator.records import Recorder, Records
from simulator.streams import Streams
from simulator.supply import ChinaDispatch, Pipeline, Stockpiles, Suppliers, transit_days

LATE = 2  # below simpy's NORMAL (1): the daily step follows same-instant decisions


class DayTick(simpy.events.Event):
    """A timeout that fires after every normal event scheduled for the same instant."""

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        super().__init__(env)
        self._ok, self._value = True, None
        env.schedule(self, LATE, delay)


class Replication:
    """State and processes of one replication; :meth:`run` returns its records."""

    def __init__(self, plan: Plan, replication: int, seed: int | None = None,
                 trace: bool = False) -> None:
        self.plan, self.replication = plan, replication
        streams = Streams(plan.scenario.seed if seed is None else seed, replication)
        n_b = len(plan.buyers)
        self.env = simpy.Environment()
        self.rec = Recorder(plan.days, n_b, len(plan.regions), len(plan.stockpiles),
                            len(plan.suppliers), len(plan.disruptions))
        self.demand = draw_demand(plan, streams)
        self.buyers = Buyers(plan)
        lead = transit_days(plan, streams)
        self.pipeline = Pipeline(plan.days, n_b, self._spill(int(lead.max())))
        self.china = ChinaDispatch(plan, lead, self.pipeline)
        self.suppliers = Suppliers(plan, self.pipeline)
        self.stockpiles = Stockpiles(plan, self.pipeline)
        self.gate = Gate(self.env, plan, streams, self.rec, self._approved, self._denied, trace)
        self.disrupted = draw_disruptions(plan, streams)
        self.rec.disrupted[:] = self.disrupted
        self.changes = np.zeros(plan.days, dtype=bool)  # days on which the phase may change
        self.changes[[p.day for p in plan.phases if p.day < plan.days]] = True
        self.changes[1:] |= (self.disrupted[1:] != self.disrupted[:-1]).any(axis=1)
        self.changes[0] |= self.disrupted[0].any()
        self.phase_key: tuple[int, tuple[str, ...]] = (0, ())
        self.phase = plan.phases[0]
        self.today = 0

    def _spill(self, transit: int) -> int:
        """Days past the horizon that the pipeline must hold."""
        p = self.plan
        gray = max(ph.gate.gray_delay_days for ph in p.phases)
        reserve = max((int(ph.stockpiles.lead_days.max()) for ph in p.phases
                       if len(ph.stockpiles.lead_days)), default=0)
        sup = int(p.supplier_lead.max()) if p.supplier_lead.size else 0
        return transit + max(gray, reserve, sup) + 2

    def run(self) -> Records:
        """Simulate the whole horizon."""
        self.env.process(self._days())
        self.env.run(until=self.plan.days)
        return self.rec.freeze(self.replication)

    def _days(self) -> Generator[simpy.Event, Any, None]:
        for day in range(self.plan.days):
            self.step(day)
            yield DayTick(self.env, 1)

    def _approved(self, buyer: int, tonnes: float, day: int) -> None:
        self.china.add(buyer, tonnes)

    def _denied(self, buyer: int, tonnes: float, day: int) -> None:
        g, b = self.phase.gate, self.phase.buyers
        leak = tonnes * g.leak_share
        if leak > 0.0:
            self.pipeline.ship_one(buyer, day + g.gray_delay_days, leak, gray=True)
            self.rec.premium_usd[min(day, self.plan.days - 1), buyer] += (
                leak * 1000.0 * self.plan.scenario.gray_channel.premium_usd_per_kg)
        rest = tonnes - leak
        if rest <= 0.0:
            return
        action = b.on_denial[buyer]
        if action == REAPPLY:
            self.gate.hold(buyer, rest, day + g.reapply_after_days)
        elif action == RESOURCE:
            self.suppliers.order(int(b.resource_to[buyer]), buyer, rest)
        elif action == LOSE:
            self.buyers.on_order[buyer] -= rest
            self.rec.lost_denied[min(day, self.plan.days - 1), buyer] += rest

    def _update_phase(self, day: int) -> None:
        """Step 1: the timeline phase and the disruptions in force on ``day``."""
        phases, (index, _) = self.plan.phases, self.phase_key
        while index + 1 < len(phases) and phases[index + 1].day <= day:
            index += 1
        row = self.disrupted[day]
        active = tuple(n for n, on in zip(self.plan.disruptions, row, strict=True) if on)
        if (index, active) != self.phase_key:
            self.phase_key = (index, active)
            self.phase = self.plan.phase(index, active)
            self.gate.set_phase(self.phase.gate, self.phase.buyers.end_use)

    def step(self, day: int) -> None:
        """The daily step (see the module docstring for the order)."""
        plan, rec, buyers = self.plan, self.rec, self.buyers
        self.today = day
        if self.changes[day]:
            self._update_phase(day)
        g, bp = self.phase.gate, self.phase.buyers
        self.gate.refile(day)
        out = self.china.dispatch(day, g.capacity_t_per_day, g.allocation, g.rank)
        shipped, premium = self.suppliers.ship(day)
        got, gray, released = self.pipeline.receive(day)
        buyers.on_hand += got + released
        buyers.on_order -= got
        self.stockpiles.arrived(released)
        share = buyers.substituted(day, bp)
        forecast = plan.demand_mean[day] * (1.0 - share)
        if len(plan.stockpiles):
            self.stockpiles.release(day, self.phase.stockpiles, buyers.on_hand, forecast)
        demand = self.demand[day] * (1.0 - share)
        delivered, unmet = buyers.serve(demand)
        buyers.trigger_substitution(day, buyers.on_hand / forecast, bp)
        ordered = self._review(day, forecast)
        rec.inventory[day] = buyers.on_hand
        rec.demand[day] = demand
        rec.delivered[day] = delivered
        rec.unmet[day] = unmet
        rec.backorder[day] = buyers.backorder
        rec.received[day] = got
        rec.received_gray[day] = gray
        rec.released[day] = self.pipeline.released[day]
        rec.ordered[day] = ordered
        rec.on_order[day] = buyers.on_order
        rec.licence_backlog[day] = self.gate.pending
        rec.awaiting_dispatch[day] = self.china.line.waiting
        rec.in_transit[day] = self.pipeline.in_transit
        rec.supplier_backlog[day] = self.suppliers.backlog()
        rec.premium_usd[day] += premium
        rec.substituted_share[day] = share
        rec.dispatched[day] = np.bincount(plan.buyer_region, out, len(plan.regions))
        rec.stockpile[day] = self.stockpiles.level
        rec.supplier_shipped[day] = shipped
        rec.queue_applications[day] = self.gate.queue_length
        rec.in_review_applications[day] = self.gate.in_review

    def _review(self, day: int, forecast: np.ndarray) -> np.ndarray:
        """Policy review: order on review days; returns tonnes ordered per buyer."""
        bp, buyers = self.phase.buyers, self.buyers
        due = day % bp.period == 0
        if not due.any():
            return np.zeros(len(due))
        level = order_up_to_level(bp.kind, bp.order_up_to, bp.target_days, forecast)
        qty = order_quantity(bp.kind, buyers.position(), level, bp.reorder_point) * due
        buyers.on_order += qty
        china = qty * bp.china_share
        for b in np.flatnonzero(china > 0.0):
            self.gate.file(int(b), float(china[b]), day)
        if bp.supplier_share.size:
            for b, s in zip(*np.nonzero(qty[:, None] * bp.supplier_share > 0.0), strict=True):
                self.suppliers.order(int(s), int(b), float(qty[b] * bp.supplier_share[b, s]))
        return qty


def simulate(plan: Plan, replication: int = 0, seed: int | None = None, trace: bool = False
             ) -> Records:
    """Run one replication of a compiled scenario and return its daily records."""
    return Replication(plan, replication, seed, trace).run()
