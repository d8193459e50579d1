"""One replication: wires the gate, supply, buyers and the recorder around a daily step.

Order of events (DESIGN §2.5). The daily step for day *d* runs at simulation time *d*. The
review queue is solved on the working-day clock (:mod:`simulator.reviews`): the step first
makes, in time order, every licence decision that falls in (*d* − 1, *d*], with the
parameters then in force (a decision exactly at *d* ends the last working day). Then:

1. timeline: the phase starting on day *d* comes into force;
2. licence decisions and dispatch: shipments due for re-application are filed again; China
   dispatches what waits for its capacity (decided since the last step, or filed unlicensed
   at the last step); suppliers ship their output;
3. arrivals: everything due on day *d* is received, including what was just dispatched
   with a zero lead time (dispatch reads no inventory, so receiving after it is the same as
   before it); stockpiles release to eligible buyers below their trigger cover, and those
   that released nothing buy back towards their refill target;
4. demand is served from stock;
5. policies review (on review days) and place orders: China's share is filed with the gate,
   the rest goes to suppliers;
6. the day is recorded.

Lead times: an order placed at review on day *t* is dispatched at the next step (*t+1*) when
the gate is open and capacity ample, and arrives *L* transit days later, usable that day.
In the textbook periodic-review timing this is a lead time of *L* periods and a protection
interval of *L + 1* days (review period 1).

Several replications can be stepped together (:func:`simulate_batch`): their buyers are the
slots of one set of vectors (:mod:`simulator.lockstep`), so one pass of the daily step's numpy
calls serves them all; each gets exactly the records it gets when simulated alone.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from simulator.buyers import Buyers, draw_demand
from simulator.disruptions import draw_disruptions
from simulator.licensing import Gate
from simulator.lockstep import tile_phase
from simulator.plan import LOSE, REAPPLY, RESOURCE, BuyerParams, Phase, Plan
from simulator.policies import Rules
from simulator.records import Recorder, Records
from simulator.streams import Streams
from simulator.supply import ChinaDispatch, Pipeline, Stockpiles, Suppliers, transit_days

LATE = 2  # below simpy's NORMAL (1): the daily step follows same-instant events


class DayTick(simpy.events.Event):
    """A timeout that fires after every normal event scheduled for the same instant."""

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        super().__init__(env)
        self._ok, self._value = True, None
        env.schedule(self, LATE, delay)


@dataclass(frozen=True)
class Denials:
    """What buyers do with denied tonnes in one phase: masks per buyer, None when unused."""

    reapply: np.ndarray | None  # bool per buyer
    resource: dict[int, np.ndarray] | None  # supplier -> its buyers (1.0) per buyer
    lose: np.ndarray | None  # 1.0 for buyers that give denied tonnes up

    @classmethod
    def of(cls, p: BuyerParams) -> Denials:
        """The masks of ``p.on_denial``."""
        again, moved, lose = (p.on_denial == REAPPLY), (p.on_denial == RESOURCE), (
            p.on_denial == LOSE)
        to = {int(s): (moved & (p.resource_to == s)).astype(float)
              for s in np.unique(p.resource_to[moved])}
        return cls(again if again.any() else None, to or None,
                   lose.astype(float) if lose.any() else None)


class Replication:
    """State and processes of one replication, or of several stepped together (they must
    share every phase: no random disruptions); :meth:`run` returns their records.
    """

    def __init__(self, plan: Plan, replication: int | Sequence[int], seed: int | None = None,
                 trace: bool = False) -> None:
        reps = [replication] if isinstance(replication, int) else list(replication)
        if len(reps) > 1 and (plan.disruptions or trace):
            raise ValueError("replications with random disruptions or a trace run one by one")
        self.plan, self.replications, self.reps = plan, reps, len(reps)
        root = plan.scenario.seed if seed is None else seed
        streams = [Streams(root, k) for k in reps]
        n_b, n_r = len(plan.buyers), self.reps
        self.env = simpy.Environment()
        self.rec = Recorder(plan.days, n_b, len(plan.regions), len(plan.stockpiles),
                            len(plan.suppliers), len(plan.disruptions), n_r)
        self.demand = _columns([draw_demand(plan, s) for s in streams])
        self.mean = np.tile(plan.demand_mean, (1, n_r)) if n_r > 1 else plan.demand_mean
        row = self.rec.row  # state vectors live in the recorder's state array
        self.buyers = Buyers(plan, row("inventory"), row("on_order"), row("backorder"), n_r)
        leads = [transit_days(plan, s) for s in streams]
        self.pipeline = Pipeline(plan.days, n_b * n_r,
                                 self._spill(max(int(x.max()) for x in leads)), row("in_transit"))
        self.china = ChinaDispatch(plan, _columns([x[:, plan.buyer_region] for x in leads]),
                                   self.pipeline, row("awaiting_dispatch"), n_r)
        self.suppliers = Suppliers(plan, self.pipeline, n_r)
        self.stockpiles = Stockpiles(plan, self.pipeline, n_r)
        self.gray_usd_per_t = 1000.0 * plan.scenario.gray_channel.premium_usd_per_kg
        self.gate = Gate(plan, streams, self.rec, self._approved, self._denied, trace)
        self.disrupted = draw_disruptions(plan, streams[0])  # one replication if any
        self.rec.disrupted[:] = self.disrupted
        self._tiled: dict[int, Phase] = {}
        self.changes = np.zeros(plan.days, dtype=bool)  # days on which the phase may change
        self.changes[[p.day for p in plan.phases if p.day < plan.days]] = True
        self.changes[1:] |= (self.disrupted[1:] != self.disrupted[:-1]).any(axis=1)
        self.changes[0] |= self.disrupted[0].any()
        self.phase_key: tuple[int, tuple[str, ...]] = (0, ())
        self._set_phase(plan.phases[0], 0)

    def _spill(self, transit: int) -> int:
        """Days past the horizon that the pipeline must hold."""
        p = self.plan
        gray = max(ph.gate.gray_delay_days for ph in p.phases)
        reserve = max((int(ph.stockpiles.lead_days.max()) for ph in p.phases
                       if len(ph.stockpiles.lead_days)), default=0)
        sup = int(p.supplier_lead.max()) if p.supplier_lead.size else 0
        return transit + max(gray, reserve, sup) + 2

    def run(self) -> list[Records]:
        """Simulate the whole horizon; the records of each replication."""
        self.env.process(self._days())
        self.env.run(until=self.plan.days)
        self._finish_records()
        out = [self.rec.freeze(k, i) for i, k in enumerate(self.replications)]
        # break the reference cycle through the gate's handlers, so that a batch's arrays
        # are freed now rather than at some later garbage collection
        self.gate.approve = self.gate.deny = _detached
        return out

    def _days(self) -> Generator[simpy.Event, Any, None]:
        for day in range(self.plan.days):
            self.step(day)
            if day + 1 < self.plan.days:  # after the last day the process ends (and frees)
                yield DayTick(self.env, 1)

    def _approved(self, buyers: np.ndarray | None, tonnes: np.ndarray, day: int) -> None:
        if buyers is None:
            self.china.line.add_all(tonnes)
        else:
            self.china.add(buyers, tonnes)

    def _denied(self, buyers: np.ndarray | None, tonnes: np.ndarray, day: int) -> None:
        """Denied shipments (``buyers`` None: a vector of tonnes per buyer): a share leaks
        through the gray channel, the rest is re-applied for, re-sourced or lost.
        """
        g, act, n = self.phase.gate, self.actions, self.gate.n_slots
        last = min(day, self.plan.days - 1)
        full = tonnes if buyers is None else np.bincount(buyers, tonnes, n)
        keep = 1.0 - g.leak_share
        if g.leak_share > 0.0:
            leak = full * g.leak_share
            self.pipeline.ship_gray(day + g.gray_delay_days, leak)
            self.rec.premium_usd[last] += leak * self.gray_usd_per_t
            if keep <= 0.0:
                return
        if act.reapply is not None:
            who, size = (buyers, tonnes) if buyers is not None else self.gate.shipments(
                (act.reapply & (full > 0.0)).nonzero()[0], full)
            again = act.reapply[who]
            if np.count_nonzero(again):
                self.gate.hold(who[again], size[again] * keep, day + g.reapply_after_days)
        if act.resource is not None:
            for s, mask in act.resource.items():
                self.suppliers.order_dense(s, full * (keep * mask))
        if act.lose is not None:
            gone = full * (keep * act.lose)
            self.buyers.on_order -= gone
            self.rec.lost_denied[last] += gone

    def _set_phase(self, phase: Phase, day: int) -> None:
        if self.reps > 1:
            if id(phase) not in self._tiled:
                self._tiled[id(phase)] = tile_phase(phase, self.reps)
            phase = self._tiled[id(phase)]
        self.phase, self.rules = phase, Rules.of(phase.buyers)
        self.actions = Denials.of(phase.buyers)
        self.gate.set_phase(phase.gate, phase.buyers.end_use, day)
        self.substitution = bool(phase.buyers.sub_max.any())

    def _update_phase(self, day: int) -> None:
        """Step 1: the timeline phase and the disruptions in force on ``day``."""
        phases, (index, _) = self.plan.phases, self.phase_key
        while index + 1 < len(phases) and phases[index + 1].day <= day:
            index += 1
        row = self.disrupted[day]
        active = tuple(n for n, on in zip(self.plan.disruptions, row, strict=True) if on)
        if (index, active) != self.phase_key:
            self.phase_key = (index, active)
            self._set_phase(self.plan.phase(index, active), day)

    def step(self, day: int) -> None:
        """The daily step (see the module docstring for the order)."""
        plan, rec, buyers = self.plan, self.rec, self.buyers
        self.gate.advance(day)  # decisions made since the last step, in time order
        if self.changes[day]:
            self._update_phase(day)
        g, bp = self.phase.gate, self.phase.buyers
        self.gate.refile(day)
        self.china.dispatch(day, g.capacity_t_per_day, g.allocation, g.rank)
        shipped, premium = self.suppliers.ship(day)
        got = self.pipeline.receive(day)
        released = self.pipeline.released[day]
        buyers.on_hand += got
        buyers.on_order -= got
        if len(plan.stockpiles):
            buyers.on_hand += released
            self.stockpiles.arrived(released)
        forecast = self.mean[day]
        demand = self.demand[day]
        if buyers.substituting:
            share = buyers.substituted(day, bp)
            forecast, demand = forecast * (1.0 - share), demand * (1.0 - share)
            rec.substituted_share[day] = share
        if len(plan.stockpiles):
            self.stockpiles.release(day, self.phase.stockpiles, buyers.on_hand, forecast)
            if self.phase.stockpiles.refills:
                rec.stockpile_refill[day] = self.stockpiles.refill(self.phase.stockpiles).ravel()
            rec.stockpile[day] = self.stockpiles.level.ravel()
        delivered, unmet = buyers.serve(demand)
        if self.substitution:
            cover = np.divide(buyers.on_hand, forecast, out=np.full_like(forecast, np.inf),
                              where=forecast > 0.0)  # no demand: cover is endless
            buyers.trigger_substitution(day, cover, bp)
        rec.ordered[day] = self._review(day, forecast)
        self.gate.start_reviews(day)
        rec.log_state(day)  # on hand, on order, backorders, licence backlog, ...
        rec.demand[day] = demand
        rec.delivered[day] = delivered
        rec.unmet[day] = unmet
        if len(plan.suppliers):
            rec.supplier_backlog[day] = self.suppliers.backlog()
            rec.premium_usd[day] += premium
            rec.supplier_shipped[day] = shipped
        rec.queue_applications[day] = self.gate.queue_length
        rec.in_review_applications[day] = self.gate.in_review

    def _review(self, day: int, forecast: np.ndarray) -> np.ndarray:
        """Policy review: order on review days; returns tonnes ordered per buyer."""
        rules, buyers = self.rules, self.buyers
        qty = rules.quantity(day, buyers.position(), forecast)
        buyers.on_order += qty
        bp = rules.params
        self.gate.file(qty if rules.china_only else qty * bp.china_share, day)
        if not rules.china_only and bp.supplier_share.size:
            self.suppliers.order_all(qty[:, None] * bp.supplier_share)
        return qty

    def _finish_records(self) -> None:
        """Fill the records that are final only once the run is over."""
        rec, n = self.rec, self.plan.days
        rec.received[:] = self.pipeline.ordered[:n]
        rec.received_gray[:] = self.pipeline.gray[:n]
        rec.released[:] = self.pipeline.released[:n]
        rec.dispatched[:n] = self._by_region(self.china.sent)
        rec.applied[:n] = self._by_region(self.gate.filed)

    def _by_region(self, x: np.ndarray) -> np.ndarray:
        """[day, slot] tonnes summed by region: [day, replication x region]."""
        plan = self.plan
        cells = x.reshape(len(x), self.reps, len(plan.buyers))
        out = np.zeros((len(x), self.reps, len(plan.regions)))
        for k in range(len(plan.regions)):
            out[:, :, k] = cells[:, :, plan.buyer_region == k].sum(2)
        return out.reshape(len(x), -1)


def _detached(*_: object) -> None:
    """Stands in for the handlers of a finished replication."""


def _columns(parts: list[np.ndarray]) -> np.ndarray:
    """[day, x] arrays side by side (the one array itself if there is one)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def simulate(plan: Plan, replication: int = 0, seed: int | None = None, trace: bool = False
             ) -> Records:
    """Run one replication of a compiled scenario and return its daily records."""
    return Replication(plan, replication, seed, trace).run()[0]


def simulate_batch(plan: Plan, replications: Sequence[int], seed: int | None = None
                   ) -> list[Records]:
    """Records of ``replications``, stepped together when the plan allows it (no random
    disruptions), one by one otherwise; the same records as :func:`simulate` either way.
    """
    if plan.disruptions or len(replications) <= 1:
        return [simulate(plan, k, seed) for k in replications]
    return Replication(plan, replications, seed).run()
