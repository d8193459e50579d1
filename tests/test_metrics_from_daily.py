"""Every buyer's shortage metrics rebuilt from ``daily.parquet`` alone, end to end.

The TINY scenario under controls from 3 Feb 2025 and a truce on 1 Apr 2025, to the end of
September: both buyers run short and recover. Its numbers are small enough to state here:
- forecast demand: us_auto 365,000 units x 2 kg / 1000 / 365 = 2.0 t/day; eu_wind
  365 t / 365 = 1.0 t/day (no trend, no seasonality, no substitution);
- shock day: the first event (3 Feb 2025) is day 28 of a horizon starting 6 Jan 2025;
- settled from day 21: the longest mean transit at the start (US, 20 days) plus a day.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import CONTROLS, scenario

import simulator
from simulator import compile_plan
from simulator.metrics import settle_day, shock_day

TRUCE = {"date": "2025-04-01", "label": "truce", "source": "test",
         "set": {"gate.regions.*.regime.civil": "open"}}
FORECAST_T_PER_DAY = {"us_auto": 2.0, "eu_wind": 1.0}
KG_PER_UNIT = {"us_auto": 2.0, "eu_wind": math.nan}  # eu_wind's demand is in tonnes
SHOCK, SETTLE = 28, 21


def _longest(short: np.ndarray) -> int:
    best = run = 0
    for s in short:
        run = run + 1 if s else 0
        best = max(best, run)
    return best


def _recovery(short: np.ndarray, cover: np.ndarray) -> float:
    """Days from the first stockout on or after the shock until cover is back at 90% of
    the median settled cover before the shock; censored at the end; NaN if none."""
    target = 0.9 * np.median(cover[SETTLE:SHOCK])
    hits = [d for d in range(SHOCK, len(short)) if short[d]]
    if not hits:
        return math.nan
    back = [d for d in range(hits[0], len(cover)) if cover[d] >= target]
    return float(back[0] - hits[0]) if back else float(len(cover) - hits[0])


def _by_hand(rows) -> dict[str, float]:
    entity = rows.entity.iloc[0]
    unmet = rows.unmet_t.to_numpy()
    short = unmet > 1e-9
    cover = rows.inventory_t.to_numpy() / FORECAST_T_PER_DAY[entity]
    after = np.flatnonzero(short[SHOCK:])
    return {
        "demand_t": rows.demand_t.sum(),
        "unmet_t": unmet.sum(),
        "fill_rate": 1.0 - unmet.sum() / rows.demand_t.sum(),
        "stockout_days": float(short.sum()),
        "longest_stockout_days": float(_longest(short)),
        "any_stockout": float(short.any()),
        "lost_units": unmet.sum() * 1000.0 / KG_PER_UNIT[entity],
        "min_cover_days": cover.min(),
        "days_to_first_stockout": float(after[0]) if len(after) else math.nan,
        "recovery_days": _recovery(short, cover),
    }


def test_buyer_metrics_rebuilt_from_daily_rows(tmp_path):
    sc = scenario({"horizon.end": "2025-09-30"}, timeline=[CONTROLS, TRUCE])
    plan = compile_plan(sc)
    assert (shock_day(plan), settle_day(plan)) == (SHOCK, SETTLE)
    res = simulator.run(sc, replications=4, seed=2, out=tmp_path / "r", figures=False,
                        workers=1)
    reps = res.replications
    reps = reps[reps.level == "buyer"].set_index(["replication", "entity", "metric"]).value
    daily = res.daily[res.daily.kind == "buyer"].sort_values("date")
    recovered = 0
    for (k, entity), rows in daily.groupby(["replication", "entity"], observed=True):
        assert len(rows) == 268  # 6 Jan - 30 Sep 2025
        for metric, want in _by_hand(rows).items():
            got = reps[(k, entity, metric)]
            if math.isnan(want):
                assert math.isnan(got), (k, entity, metric)
            else:
                assert got == pytest.approx(want, rel=1e-12, abs=1e-12), (k, entity, metric)
        recovered += reps[(k, entity, "recovery_days")] < len(rows) - SHOCK
    assert recovered >= 4  # the truce lets buyers recover: the recovery rule is exercised
