"""Compile a scenario into arrays the model reads on its hot path.

A :class:`Plan` is built once per scenario (not per replication) and holds, for every phase
of the timeline, the gate, buyer and stockpile parameters as numpy arrays indexed by buyer,
region and end use, plus deterministic per-day series (mean demand, supplier capacity).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from simulator.schema import CHINA, END_USES, REGIMES, Delay, Scenario
from simulator.timeline import disrupted, states
from simulator.workdays import WorkCalendar

POLICIES = ("base_stock", "sS", "days_of_cover")
DENIALS = ("reapply", "resource", "lose")
OPEN, LICENSING, EMBARGO = range(3)
BASE_STOCK, SS, DAYS_OF_COVER = range(3)
REAPPLY, RESOURCE, LOSE = range(3)


@dataclass(frozen=True)
class GateParams:
    """Gate and China dispatch parameters of one phase; arrays are [region, end use]."""

    regime: np.ndarray
    covered: np.ndarray
    approval: np.ndarray
    reviewers: int
    review: Delay
    cap_working_days: float
    shipment_t: float
    reapply_after_days: int
    licence_until: np.ndarray  # [buyer] last day index a general licence covers, -1 if none
    leak_share: float
    gray_delay_days: int
    capacity_t_per_day: float
    allocation: str
    rank: np.ndarray  # [buyer] priority rank for China's dispatch, 0 = first


@dataclass(frozen=True)
class BuyerParams:
    """Buyer parameters of one phase; arrays are [buyer] unless noted."""

    end_use: np.ndarray
    kind: np.ndarray
    period: np.ndarray
    order_up_to: np.ndarray
    reorder_point: np.ndarray
    target_days: np.ndarray
    china_share: np.ndarray
    supplier_share: np.ndarray  # [buyer, supplier]
    on_denial: np.ndarray
    resource_to: np.ndarray  # supplier index, -1 if none
    sub_trigger: np.ndarray  # cover (days) below which substitution starts; 0 = never
    sub_max: np.ndarray
    sub_lead: np.ndarray


@dataclass(frozen=True)
class StockpileParams:
    """Stockpile release rules of one phase; arrays are [stockpile] or [stockpile, buyer]."""

    trigger_days: np.ndarray
    max_t_per_day: np.ndarray
    eligible: np.ndarray
    allocation: tuple[str, ...]
    lead_days: np.ndarray
    rank: np.ndarray  # [stockpile, buyer] position of the buyer's sector in ``sectors``
    refill_t_per_day: np.ndarray  # [stockpile] largest refill purchase per day (t/day)
    refill_target: np.ndarray  # [stockpile] level bought back up to (t)
    refills: bool  # some stockpile buys back in this phase (read by the daily step)


@dataclass(frozen=True)
class Phase:
    """Parameters in force from ``day`` on."""

    day: int
    labels: tuple[str, ...]
    gate: GateParams
    buyers: BuyerParams
    stockpiles: StockpileParams


@dataclass(frozen=True)
class Plan:
    """Everything a replication needs that does not depend on random draws."""

    scenario: Scenario
    days: int
    buyers: tuple[str, ...]
    regions: tuple[str, ...]
    suppliers: tuple[str, ...]
    stockpiles: tuple[str, ...]
    buyer_region: np.ndarray
    sectors: tuple[str, ...]
    kg_per_unit: np.ndarray  # NaN where the buyer's demand is in tonnes
    phases: tuple[Phase, ...]
    demand_mean: np.ndarray  # [day, buyer] t/day before noise and substitution
    noise: tuple[tuple[tuple[int, int, str, float], ...], ...]  # per buyer: (from, to, dist, cv)
    transit: tuple[tuple[tuple[int, int, Delay], ...], ...]  # per region: (from, to, delay)
    supplier_cap: np.ndarray  # [day, supplier] t/day
    supplier_lead: np.ndarray  # [day, supplier] days
    supplier_rule: tuple[str, ...]
    supplier_rank: np.ndarray  # [supplier, buyer] rank in the supplier's priority, 0 = first
    premium: np.ndarray  # [supplier] USD/kg
    initial_stock: np.ndarray
    stockpile_t: np.ndarray
    calendar: WorkCalendar = field(repr=False)
    disruptions: tuple[str, ...] = ()
    disruption_probs: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    disruption_from: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _variants: dict[tuple[int, tuple[str, ...]], Phase] = field(default_factory=dict,
                                                                 repr=False, compare=False)

    def phase(self, index: int, active: tuple[str, ...] = ()) -> Phase:
        """Phase ``index`` of the timeline with the named disruptions in force."""
        if not active:
            return self.phases[index]
        key = (index, active)
        if key not in self._variants:
            base = self.phases[index]
            sc = disrupted(states(self.scenario)[index].scenario, active)
            self._variants[key] = _phase(base.day, base.labels, sc, self)
        return self._variants[key]

    @property
    def dates(self) -> np.ndarray:
        """Calendar date of each simulated day (datetime64[D])."""
        return np.datetime64(self.scenario.horizon.start) + np.arange(self.days)


def _gate(s: Scenario, regions: list[str], buyers: list[str], start: dt.date) -> GateParams:
    g = s.gate
    per = [[s.gate.regions[r].regime, g.regions[r].covered_share, g.regions[r].approval_prob]
           for r in regions]
    regime = np.array([[REGIMES.index(getattr(p[0], e)) for e in END_USES] for p in per])
    covered = np.array([[getattr(p[1], e) for e in END_USES] for p in per])
    approval = np.array([[getattr(p[2], e) for e in END_USES] for p in per])
    until = np.full(len(buyers), -1, dtype=np.int64)
    for lic in g.general_licences.values():
        for name in lic.buyers:
            i = buyers.index(name)
            until[i] = max(until[i], (lic.expires - start).days)
    rank = _rank(s.china.priority, s)
    return GateParams(regime, covered, approval, g.reviewers, g.review_working_days,
                      g.max_review_working_days, g.shipment_t, g.reapply_after_days, until,
                      s.gray_channel.leak_share, s.gray_channel.delay_days,
                      s.china.export_capacity_t_per_day, s.china.allocation, rank)


def _rank(priority: list[str], s: Scenario) -> np.ndarray:
    """Rank per buyer for a ``priority`` list of sectors or end uses (0 = first): the better
    of its sector's and its end use's place; buyers in neither come last.
    """
    return np.array([min([priority.index(x) for x in (b.sector, b.end_use) if x in priority],
                         default=len(priority)) for b in s.buyers.values()], dtype=np.int64)


def _buyers(s: Scenario, suppliers: list[str]) -> BuyerParams:
    bs = list(s.buyers.values())

    def arr(values: list[float | None]) -> np.ndarray:
        """Floats, NaN where a field is not set (0 is a value, not "not set")."""
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    share = np.array([[b.sourcing.get(x, 0.0) for x in suppliers] for b in bs]).reshape(
        len(bs), len(suppliers))
    return BuyerParams(
        end_use=np.array([END_USES.index(b.end_use) for b in bs]),
        kind=np.array([POLICIES.index(b.policy.kind) for b in bs]),
        period=np.array([b.policy.review_period_days for b in bs]),
        order_up_to=arr([b.policy.order_up_to_t for b in bs]),
        reorder_point=arr([b.policy.reorder_point_t for b in bs]),
        target_days=arr([b.policy.target_days for b in bs]),
        china_share=arr([b.sourcing.get(CHINA, 0.0) for b in bs]),
        supplier_share=share,
        on_denial=np.array([DENIALS.index(b.on_denial) for b in bs]),
        resource_to=np.array([suppliers.index(b.resource_supplier) if b.resource_supplier
                              else -1 for b in bs]),
        sub_trigger=arr([b.substitution.trigger_cover_days if b.substitution else 0.0
                         for b in bs]),
        sub_max=arr([b.substitution.max_share if b.substitution else 0.0 for b in bs]),
        sub_lead=arr([b.substitution.lead_days if b.substitution else 1.0 for b in bs]),
    )


def _stockpiles(s: Scenario, buyers: list[str]) -> StockpileParams:
    sp = list(s.stockpiles.values())
    rate = np.array([p.refill.t_per_day for p in sp], dtype=float)
    eligible = np.array([[b.sector in p.release.sectors and b.region in p.release.regions
                          for b in s.buyers.values()] for p in sp], dtype=bool)
    return StockpileParams(
        trigger_days=np.array([p.release.trigger_cover_days for p in sp], dtype=float),
        max_t_per_day=np.array([p.release.max_t_per_day for p in sp], dtype=float),
        eligible=eligible.reshape(len(sp), len(buyers)),
        allocation=tuple(p.release.allocation for p in sp),
        lead_days=np.array([p.lead_time_days for p in sp], dtype=np.int64),
        rank=np.array([[p.release.sectors.index(b.sector) if b.sector in p.release.sectors
                        else len(p.release.sectors) for b in s.buyers.values()] for p in sp],
                      dtype=float).reshape(len(sp), len(buyers)),
        refill_t_per_day=rate,
        refill_target=np.array([p.stock_t if p.refill.target_t is None else p.refill.target_t
                                for p in sp], dtype=float),
        refills=bool(np.count_nonzero(rate)),
    )


def _segments(values: list[tuple[int, object]], days: int) -> tuple[tuple, ...]:
    """Merge (start day, value) pairs into (from, to, value) runs of equal value."""
    out: list[tuple[int, int, object]] = []
    for i, (day, value) in enumerate(values):
        end = values[i + 1][0] if i + 1 < len(values) else days
        if out and out[-1][2] == value:
            out[-1] = (out[-1][0], end, value)
        elif end > day:
            out.append((day, end, value))
    return tuple(out)


def _demand_mean(s: Scenario, phases: list[tuple[int, Scenario]], days: int) -> np.ndarray:
    dates = np.datetime64(s.horizon.start) + np.arange(days)
    month = dates.astype("datetime64[M]").astype(int) % 12
    years = np.arange(days) / 365.0
    out = np.empty((days, len(s.buyers)))
    for k, (day, st) in enumerate(phases):
        end = phases[k + 1][0] if k + 1 < len(phases) else days
        sl = slice(day, end)
        for j, b in enumerate(st.buyers.values()):
            d = b.demand
            season = np.asarray(d.seasonality)[month[sl]] if d.seasonality else 1.0
            out[sl, j] = d.mean_t_per_day * (1.0 + d.trend_per_year) ** years[sl] * season
    return out


def _feedstock(st: Scenario, region: str) -> float:
    """Share (0-1) of gated feedstock that passes the gate to ``region`` (expected value,
    civil regime): what needs no licence, plus what needs one and is approved.
    """
    g = st.gate.regions[region]
    return float(first_pass(np.array(REGIMES.index(g.regime.civil)), g.covered_share.civil,
                            g.approval_prob.civil))


def first_pass(regime: np.ndarray, covered: np.ndarray | float,
               approval: np.ndarray | float) -> np.ndarray:
    """Expected share (0-1) of tonnes that pass the gate at their first decision, element by
    element over regime codes (:data:`REGIMES`): all of them while ``open``; the share that
    needs no licence, plus the licensed share times its approval odds under ``licensing``
    (none of the licensed share under ``embargo``).
    """
    licensed = np.where(regime == REGIMES.index("licensing"), approval, 0.0)
    return np.where(regime == REGIMES.index("open"), 1.0, 1.0 - covered * (1.0 - licensed))


def refused_share(plan: Plan, region: str | None = None) -> list[tuple[int, float]]:
    """(first day, share 0-1) per timeline phase: the share of China-bound tonnes that the
    gate would refuse at a first decision, for the buyers of ``region`` (all if None),
    weighted by each buyer's mean demand times its China share on the phase's first day.
    A general licence in force that day passes everything but an embargo. A summary of
    the gate's odds for figures, not a model output.
    """
    keep = (np.ones(len(plan.buyers), bool) if region is None
            else plan.buyer_region == plan.regions.index(region))
    out = []
    for ph in plan.phases:
        g, b, e = ph.gate, ph.buyers, ph.buyers.end_use
        regime = g.regime[plan.buyer_region, e]
        passing = first_pass(regime, g.covered[plan.buyer_region, e],
                             g.approval[plan.buyer_region, e])
        passing = np.where((g.licence_until >= ph.day) & (regime != REGIMES.index("embargo")),
                           1.0, passing)
        w = (plan.demand_mean[min(ph.day, plan.days - 1)] * b.china_share)[keep]
        out.append((ph.day, float(1.0 - (w * passing[keep]).sum() / w.sum())
                    if w.sum() > 0 else 0.0))
    return out


def _supply(phases: list[tuple[int, Scenario]], names: list[str], start: dt.date, days: int
            ) -> tuple[np.ndarray, np.ndarray]:
    cap = np.zeros((days, len(names)))
    lead = np.zeros((days, len(names)), dtype=np.int64)
    dates = np.datetime64(start) + np.arange(days)
    for k, (day, st) in enumerate(phases):
        end = phases[k + 1][0] if k + 1 < len(phases) else days
        for j, name in enumerate(names):
            sup = st.suppliers[name]
            ramp = np.ones(end - day) if not sup.ramp else np.zeros(end - day)
            for p in sup.ramp:
                ramp[dates[day:end] >= np.datetime64(p.date)] = p.share
            gated = sup.gated_feedstock_share
            feed = 1.0 - gated + gated * _feedstock(st, sup.region)
            cap[day:end, j] = sup.capacity_t_per_year / 365.0 * sup.yield_share * ramp * feed
            lead[day:end, j] = sup.lead_time_days
    return cap, lead


def _initial_stock(s: Scenario, mean0: np.ndarray) -> np.ndarray:
    out = []
    for j, b in enumerate(s.buyers.values()):
        if b.initial_stock_t is not None:
            out.append(b.initial_stock_t)
        elif b.policy.kind == "days_of_cover":
            out.append((b.policy.target_days or 0.0) * mean0[j])
        else:
            out.append(b.policy.order_up_to_t or 0.0)
    return np.array(out, dtype=float)


def _phase(day: int, labels: tuple[str, ...], sc: Scenario, names: Plan | Scenario) -> Phase:
    """Compile the parameters of one state; ``names`` fixes the entity order."""
    ref = names.scenario if isinstance(names, Plan) else names
    regions, buyers, suppliers = list(ref.gate.regions), list(ref.buyers), list(ref.suppliers)
    return Phase(day, labels, _gate(sc, regions, buyers, ref.horizon.start),
                 _buyers(sc, suppliers), _stockpiles(sc, buyers))


def compile_plan(s: Scenario) -> Plan:
    """Build the :class:`Plan` of a validated scenario."""
    start, days = s.horizon.start, s.horizon.days
    regions, buyers, suppliers = list(s.gate.regions), list(s.buyers), list(s.suppliers)
    st = [(x.day, x.scenario, x.labels) for x in states(s)]
    pairs = [(d, sc) for d, sc, _ in st]
    phases = tuple(_phase(d, lab, sc, s) for d, sc, lab in st)
    holidays = sorted({h for _, sc in pairs for h in sc.gate.holidays})
    noise = tuple(_segments([(d, (sc.buyers[b].demand.dist, sc.buyers[b].demand.cv))
                             for d, sc in pairs], days) for b in buyers)
    transit = tuple(_segments([(d, sc.china.transit_days[r]) for d, sc in pairs], days)
                    for r in regions if r in s.china.transit_days)
    mean = _demand_mean(s, pairs, days)
    cap, lead = _supply(pairs, suppliers, start, days)
    return Plan(
        scenario=s, days=days, buyers=tuple(buyers), regions=tuple(regions),
        suppliers=tuple(suppliers), stockpiles=tuple(s.stockpiles),
        buyer_region=np.array([regions.index(b.region) for b in s.buyers.values()]),
        sectors=tuple(b.sector for b in s.buyers.values()),
        kg_per_unit=np.array([b.demand.kg_per_unit or np.nan for b in s.buyers.values()]),
        phases=phases, demand_mean=mean,
        noise=tuple(tuple((a, b, v[0], v[1]) for a, b, v in seg) for seg in noise),
        transit=transit, supplier_cap=cap, supplier_lead=lead,
        supplier_rule=tuple(x.allocation for x in s.suppliers.values()),
        supplier_rank=np.array([_rank(x.priority, s) for x in s.suppliers.values()],
                               dtype=np.int64).reshape(len(suppliers), len(buyers)),
        premium=np.array([x.premium_usd_per_kg for x in s.suppliers.values()], dtype=float),
        initial_stock=_initial_stock(s, mean[0]),
        stockpile_t=np.array([p.stock_t for p in s.stockpiles.values()], dtype=float),
        calendar=WorkCalendar(start, days, holidays),
        disruptions=tuple(s.disruptions),
        disruption_probs=np.array([[d.start_prob, d.end_prob] for d in s.disruptions.values()]
                                  ).reshape(len(s.disruptions), 2),
        disruption_from=np.array([max(0, (d.earliest - start).days) if d.earliest else 0
                                  for d in s.disruptions.values()], dtype=np.int64),
    )
