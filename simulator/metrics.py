"""Shortage and gate metrics (DESIGN §7): pure functions of daily records.

Per replication, each entity (a buyer, or the sum of the buyers of a sector, a region or
all of them) gets a vector of metrics computed from its daily series; across replications
each metric gets mean, p5, p50, p95 and CVaR95 (the mean of the worst 5% of replications,
at least one). "Worst" is the highest value, except for metrics where more is better for
buyers (``fill_rate``, ``min_cover_days``, ``days_to_first_stockout``, and the gate's
``approval_rate`` and ``dispatched_t``), where it is the lowest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.plan import Plan
from simulator.records import Records

SHORTAGE_METRICS = (
    "demand_t", "unmet_t", "fill_rate", "stockout_days", "longest_stockout_days",
    "any_stockout", "lost_units", "min_cover_days", "days_to_first_stockout", "recovery_days",
)
COST_METRICS = ("holding_cost_usd", "premium_usd", "shortage_cost_usd", "cost_usd")
ALL_METRICS = SHORTAGE_METRICS + COST_METRICS
GATE_METRICS = ("backlog_peak_t", "mean_review_days", "approval_rate", "dispatched_t")
HIGHER_IS_BETTER = frozenset({"fill_rate", "min_cover_days", "days_to_first_stockout",
                              "approval_rate", "dispatched_t"})
EPS_T = 1e-9  # tonnes below which a day counts as served in full
RECOVERED_SHARE = 0.9  # recovered once cover is back to 90% of its normal median


@dataclass(frozen=True)
class Entity:
    """A buyer or a group of buyers that metrics are computed for."""

    level: str  # buyer | sector | region | total
    name: str
    members: np.ndarray  # buyer indices


def entities(plan: Plan) -> list[Entity]:
    """Every buyer, sector, region and the total, in a fixed order."""
    out = [Entity("buyer", b, np.array([i])) for i, b in enumerate(plan.buyers)]
    sectors = np.array(plan.sectors)
    for s in dict.fromkeys(plan.sectors):
        out.append(Entity("sector", s, np.flatnonzero(sectors == s)))
    regions = np.array([plan.regions[r] for r in plan.buyer_region])
    for r in dict.fromkeys(regions.tolist()):
        out.append(Entity("region", r, np.flatnonzero(regions == r)))
    out.append(Entity("total", "total", np.arange(len(plan.buyers))))
    return out


def shock_day(plan: Plan, disrupted: np.ndarray | None = None) -> int:
    """Day (from the horizon's start) of the shock that metrics count from: the scenario's
    ``shock``, else its first shaded timeline event, else its first event; without a
    timeline, the first day on which one replication's ``disrupted`` ([day, disruption])
    has a random disruption in force, or the horizon's length if none is (no shock); else 0.
    """
    sc = plan.scenario
    if sc.shock is not None:
        return (sc.shock - sc.horizon.start).days
    if sc.timeline:
        marked = [e for e in sc.timeline if e.shade] or sc.timeline
        return (marked[0].date - sc.horizon.start).days
    if disrupted is not None and disrupted.size:
        on = np.flatnonzero(disrupted.any(axis=1))
        return int(on[0]) if len(on) else plan.days
    return 0


def settle_day(plan: Plan) -> int:
    """Days the initial stock takes to run down to its working level: the longest mean
    China transit or supplier lead time at the start, plus the day from order to dispatch
    (before then, on-hand cover still holds what the pipeline will hold later).
    """
    leads = [seg[0][2].mean for seg in plan.transit if seg]
    if plan.supplier_lead.size:
        leads.append(float(plan.supplier_lead[0].max()))
    return 1 + math.ceil(max(leads, default=0.0))


def longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of True values."""
    if not flags.any():
        return 0
    padded = np.concatenate(([0], flags.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())


def normal_cover(cover: np.ndarray, shock: int, settle: int) -> np.ndarray:
    """The days whose cover is normal: the settled days before the shock (from ``settle``
    on), or, when the shock comes before any, every settled day of the horizon.
    """
    if shock > settle:
        return cover[settle:shock]
    return cover[settle:] if settle < len(cover) else cover


def recovery_days(short: np.ndarray, cover: np.ndarray, target: float) -> float:
    """Days from the first stockout until cover is back at ``target`` (days); NaN if no
    stockout, and censored at the horizon's end if cover never gets back. Metrics pass the
    series from the shock day on, so a stockout before the shock does not stand in for one
    caused by it.
    """
    hits = np.flatnonzero(short)
    if not len(hits):
        return math.nan
    first = hits[0]
    back = np.flatnonzero(cover[first:] >= target)
    return float(back[0]) if len(back) else float(len(cover) - first)


def series_metrics(demand: np.ndarray, unmet: np.ndarray, cover: np.ndarray,
                   kg_per_unit: float, shock: int, settle: int = 0) -> list[float]:
    """Shortage metrics of one daily series, in the order of :data:`SHORTAGE_METRICS`.

    Args:
        demand: tonnes demanded per day. unmet: tonnes not served on their day.
        cover: days of cover on hand at the end of each day.
        kg_per_unit: NdFeB per unit lost (kg); NaN where units do not apply.
        shock: day the disruption starts (for time to first stockout and the pre-shock cover).
        settle: days before on-hand cover reaches its working level (:func:`settle_day`).
    """
    total, lost = float(demand.sum()), float(unmet.sum())
    short = unmet > EPS_T
    after = np.flatnonzero(short[shock:])
    target = RECOVERED_SHARE * float(np.median(normal_cover(cover, shock, settle)))
    return [
        total, lost, 1.0 - lost / total if total > 0 else 1.0, float(short.sum()),
        float(longest_run(short)), float(short.any()), lost * 1000.0 / kg_per_unit,
        float(cover.min()), float(after[0]) if len(after) else math.nan,
        recovery_days(short[shock:], cover[shock:], target),
    ]


def cover_days(rec: Records, plan: Plan) -> np.ndarray:
    """Days of cover on hand per [day, buyer]: inventory / forecast daily demand."""
    forecast = plan.demand_mean * (1.0 - rec.substituted_share)
    return rec.inventory / np.maximum(forecast, 1e-12)


def buyer_costs(rec: Records, plan: Plan) -> np.ndarray:
    """Cost per [buyer, cost metric] in USD: holding its stock, premiums over China's price,
    and shortages: lost units at the sector's cost per unit plus unmet tonnes at its cost
    per tonne (DESIGN §7).
    """
    c = plan.scenario.costs
    per_day = 1000.0 * c.magnet_usd_per_kg * c.holding_rate_per_year / 365.0  # USD per t-day
    holding = rec.inventory.sum(0) * per_day
    premium = rec.premium_usd.sum(0)
    per_unit = np.array([c.shortage_usd_per_unit.get(s, 0.0) for s in plan.sectors])
    per_t = np.array([c.shortage_usd_per_t.get(s, 0.0) for s in plan.sectors])
    unmet_t = rec.unmet.sum(0)
    units = np.nan_to_num(unmet_t * 1000.0 / plan.kg_per_unit)
    shortage = units * per_unit + unmet_t * per_t
    return np.stack([holding, premium, shortage, holding + premium + shortage], axis=1)


def stockpile_holding_usd(rec: Records, plan: Plan) -> float:
    """Holding cost of all stockpiles over the horizon (USD)."""
    c = plan.scenario.costs
    return float(rec.stockpile.sum()) * 1000.0 * c.magnet_usd_per_kg * (
        c.holding_rate_per_year / 365.0)


def replication_metrics(rec: Records, plan: Plan, ents: list[Entity]) -> np.ndarray:
    """Metrics per entity, [entity, metric] in :data:`ALL_METRICS` order; the total carries
    the stockpiles' holding cost too.
    """
    shock, settle = shock_day(plan, rec.disrupted), settle_day(plan)
    forecast = plan.demand_mean * (1.0 - rec.substituted_share)
    costs = buyer_costs(rec, plan)
    reserve = stockpile_holding_usd(rec, plan)
    out = np.empty((len(ents), len(ALL_METRICS)))
    for i, e in enumerate(ents):
        m = e.members
        inv, fc = rec.inventory[:, m].sum(1), forecast[:, m].sum(1)
        kg = plan.kg_per_unit[m]
        per_unit = float(kg[0]) if e.level in ("buyer", "sector") and np.all(kg == kg[0]) \
            else math.nan
        n = len(SHORTAGE_METRICS)
        out[i, :n] = series_metrics(rec.demand[:, m].sum(1), rec.unmet[:, m].sum(1),
                                    inv / np.maximum(fc, 1e-12), per_unit, shock, settle)
        out[i, n:] = costs[m].sum(0)
        if e.level == "total":
            out[i, n] += reserve
            out[i, -1] += reserve
        if e.level == "sector" and not np.isnan(kg).all():
            unit_t = rec.unmet[:, m].sum(0) * 1000.0 / kg
            out[i, SHORTAGE_METRICS.index("lost_units")] = float(np.nansum(unit_t))
    return out


def gate_metrics(rec: Records) -> np.ndarray:
    """Gate metrics of one replication in :data:`GATE_METRICS` order."""
    decided = rec.decisions.sum()
    approved, denied = rec.approved.sum(), rec.denied.sum()
    return np.array([
        float(rec.licence_backlog.sum(1).max()),
        float(rec.review_wd_sum.sum() / decided) if decided else math.nan,
        float(approved / (approved + denied)) if approved + denied > 0 else math.nan,
        float(rec.dispatched.sum()),
    ])


def monthly_dispatched(rec: Records, month_index: np.ndarray, months: int) -> np.ndarray:
    """China's dispatched tonnes per [month, region]."""
    out = np.zeros((months, rec.dispatched.shape[1]))
    np.add.at(out, month_index, rec.dispatched)
    return out


def cvar95(values: np.ndarray, higher_is_better: bool = False) -> float:
    """Mean of the worst ceil(5%) of ``values`` (NaNs ignored)."""
    v = np.sort(values[~np.isnan(values)])
    if not len(v):
        return math.nan
    k = max(1, math.ceil(0.05 * len(v)))
    return float(v[:k].mean() if higher_is_better else v[-k:].mean())


def across(values: np.ndarray, metric: str) -> dict[str, float]:
    """mean, p5, p50, p95 and cvar95 of one metric over replications (NaNs ignored)."""
    v = values[~np.isnan(values)]
    if not len(v):
        return dict.fromkeys(("mean", "p5", "p50", "p95", "cvar95"), math.nan)
    p5, p50, p95 = np.percentile(v, [5, 50, 95])
    return {"mean": float(v.mean()), "p5": float(p5), "p50": float(p50), "p95": float(p95),
            "cvar95": cvar95(v, metric in HIGHER_IS_BETTER)}
