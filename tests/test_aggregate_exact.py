"""Exact tests of what turns records into the numbers users read: per-entity metrics of a
replication, chunk results, the aggregate over chunks (summary, cover quantiles, backlog,
exports) and the run directory's resume identity.

Expected values are worked out by hand on small hand-built records, or recomputed with
numpy from :func:`simulator.simulate` records, never with the functions under test.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import CONTROLS, scenario

from simulator import compile_plan, metrics, simulate
from simulator.ensemble import COVER_BINS, COVER_EVERY, Chunk, run_chunk
from simulator.metrics import ALL_METRICS, across, cvar95, replication_metrics, series_metrics
from simulator.results import Aggregate
from simulator.runner import ResumeError, run

PER_T_DAY = 1000.0 * 49.0 * 0.2 / 365.0  # default costs: USD of holding one tonne a day
EU_AUTO = {"region": "EU", "sector": "automotive",
           "demand": {"units_per_year": 91250, "kg_per_unit": 4.0, "cv": 0.3},
           "policy": {"kind": "days_of_cover", "target_days": 30, "review_period_days": 7}}


# ------------------------------------------------------------ one replication, by hand
@pytest.fixture(scope="module")
def three_buyers():
    """us_auto (US, 2 kg/unit), eu_wind (EU, tonnes), eu_auto (EU, 4 kg/unit); 8 days from
    6 Jan 2025, the shaded event on day 3; a stockpile; costs per unit and per tonne."""
    shaded = {**CONTROLS, "date": "2025-01-09", "shade": True}
    sc = scenario({"horizon": {"start": "2025-01-06", "end": "2025-01-13"},
                   "buyers.eu_auto": EU_AUTO,
                   "costs": {"shortage_usd_per_unit": {"automotive": 100.0},
                             "shortage_usd_per_t": {"wind": 1000.0}},
                   "stockpiles": {"reserve": {"stock_t": 20.0, "release": {
                       "trigger_cover_days": 1, "max_t_per_day": 1,
                       "sectors": ["automotive"], "regions": ["US"]}}}},
                  timeline=[shaded])
    plan = compile_plan(sc)
    assert plan.buyers == ("us_auto", "eu_wind", "eu_auto") and plan.days == 8
    assert metrics.shock_day(plan) == 3
    return plan


def _records() -> SimpleNamespace:
    """Hand-built daily records [day, buyer] of the three buyers."""
    unmet = np.zeros((8, 3))
    unmet[5, 0] = 0.5  # us_auto: 250 units at 2 kg
    unmet[1, 1] = 1e-12  # eu_wind: a rounding residue, not a stockout
    unmet[6, 1] = 0.25
    unmet[6, 2] = unmet[7, 2] = 1.0  # eu_auto: 500 units at 4 kg
    inventory = np.array([[10, 1, 10, 10, 10, 2, 4, 10],
                          [5, 5, 5, 5, 5, 5, 5, 5],
                          [3, 3, 3, 3, 3, 1, 0, 0]], float).T
    substituted = np.zeros((8, 3))
    substituted[:, 0] = 0.5  # us_auto's forecast: 2 t/day x 0.5 = 1 t/day
    premium = np.zeros((8, 3))
    premium[0, 0], premium[3, 2] = 10.0, 30.0
    return SimpleNamespace(demand=np.ones((8, 3)), unmet=unmet, inventory=inventory,
                           substituted_share=substituted, premium_usd=premium,
                           stockpile=np.full((8, 1), 20.0), disrupted=np.zeros((8, 0)))


def _by_entity(plan) -> dict[tuple[str, str], dict[str, float]]:
    ents = metrics.entities(plan)
    out = replication_metrics(_records(), plan, ents)
    return {(e.level, e.name): dict(zip(ALL_METRICS, out[i], strict=True))
            for i, e in enumerate(ents)}


def test_replication_metrics_per_buyer_by_hand(three_buyers):
    m = _by_entity(three_buyers)
    us = m["buyer", "us_auto"]
    # cover = inventory / (2 t/day x (1 - 0.5)): lowest 1 day on day 1, before the shock
    assert us["min_cover_days"] == 1.0
    # pre-shock cover 10, 1, 10 -> median 10, target 9; stockout day 5, back on day 7
    assert us["recovery_days"] == 2.0 and us["days_to_first_stockout"] == 2.0
    assert us["lost_units"] == 250.0 and us["fill_rate"] == 1.0 - 0.5 / 8
    wind = m["buyer", "eu_wind"]
    assert wind["stockout_days"] == 1.0  # day 6; 1e-12 t on day 1 is below EPS_T
    assert wind["days_to_first_stockout"] == 3.0 and math.isnan(wind["lost_units"])
    assert m["buyer", "eu_auto"]["lost_units"] == 500.0
    assert m["buyer", "eu_auto"]["longest_stockout_days"] == 2.0


def test_group_metrics_lost_units_and_stockout_days(three_buyers):
    m = _by_entity(three_buyers)
    # a sector with 2 and 4 kg per unit: each buyer's tonnes at its own weight
    assert m["sector", "automotive"]["lost_units"] == 250.0 + 500.0
    # regions and the total do not add units (US has one buyer, still no units)
    for key in (("region", "US"), ("region", "EU"), ("total", "total")):
        assert math.isnan(m[key]["lost_units"]), key
    total = m["total", "total"]
    assert total["stockout_days"] == 3.0 and total["longest_stockout_days"] == 3.0
    assert total["unmet_t"] == pytest.approx(2.75 + 1e-12, abs=0)
    assert total["days_to_first_stockout"] == 2.0
    # total cover = all inventory / (1 + 1 + 1) t/day: lowest (2 + 5 + 1) / 3 on day 5
    assert total["min_cover_days"] == pytest.approx(8.0 / 3.0)


def test_costs_add_up_and_only_the_total_carries_the_stockpile(three_buyers):
    m = _by_entity(three_buyers)
    inv = _records().inventory.sum(0)  # t-days per buyer: 67, 40, 16
    reserve = 8 * 20.0 * PER_T_DAY
    shortage = {"us_auto": 250 * 100.0, "eu_wind": (0.25 + 1e-12) * 1000.0, "eu_auto": 500 * 100.0}
    premium = {"us_auto": 10.0, "eu_wind": 0.0, "eu_auto": 30.0}
    for j, b in enumerate(three_buyers.buyers):
        got = m["buyer", b]
        assert got["holding_cost_usd"] == pytest.approx(inv[j] * PER_T_DAY, rel=1e-12)
        assert got["shortage_cost_usd"] == pytest.approx(shortage[b], rel=1e-12)
        assert got["cost_usd"] == pytest.approx(inv[j] * PER_T_DAY + premium[b] + shortage[b],
                                                rel=1e-12)
    eu = m["region", "EU"]
    assert eu["holding_cost_usd"] == pytest.approx((40 + 16) * PER_T_DAY, rel=1e-12)
    assert eu["cost_usd"] == pytest.approx((40 + 16) * PER_T_DAY + 30.0 + 250.0 + 50_000.0,
                                           rel=1e-12)
    total = m["total", "total"]
    assert total["holding_cost_usd"] == pytest.approx(inv.sum() * PER_T_DAY + reserve,
                                                      rel=1e-12)
    assert total["premium_usd"] == 40.0
    assert total["cost_usd"] == pytest.approx(
        inv.sum() * PER_T_DAY + reserve + 40.0 + sum(shortage.values()), rel=1e-12)


def test_without_a_shock_the_recovery_target_is_the_settled_horizons_median_cover():
    # shock 0, nothing settles: median of the whole series (0, 17, 20, 20, 50, 50) = 20,
    # target 18, reached on day 4: two days after day 2's stockout. Day 0's cover (50, the
    # initial stock) is not the normal level: 45 would never be reached again.
    unmet, cover = np.array([0, 0, 1.0, 0, 0, 0]), np.array([50, 50, 0, 17, 20, 20.0])
    k = metrics.SHORTAGE_METRICS.index("recovery_days")
    assert series_metrics(np.ones(6), unmet, cover, 2.0, 0)[k] == 2.0
    # settled from day 2 (the initial stock run down): median of (0, 17, 20, 20) = 18.5,
    # target 16.65, reached on day 3
    assert series_metrics(np.ones(6), unmet, cover, 2.0, 0, settle=2)[k] == 1.0
    # a shock on day 1, before anything settles: the same settled days
    assert series_metrics(np.ones(6), unmet, cover, 2.0, 1, settle=2)[k] == 1.0


def test_across_and_cvar95_leave_nan_replications_out():
    values = np.concatenate([np.arange(1.0, 21.0), np.full(20, np.nan)])
    # 20 defined values: the worst ceil(5% of 20) = 1 of them, not ceil(5% of 40) = 2
    assert cvar95(values) == 20.0
    assert cvar95(values, higher_is_better=True) == 1.0
    s = across(values, "recovery_days")
    assert s["mean"] == 10.5 and s["p50"] == 10.5 and s["cvar95"] == 20.0


# ------------------------------------------------------------ chunks and the aggregate
SEED = 7


@pytest.fixture(scope="module")
def ensemble():
    """Four replications of three buyers (two automotive) with substitution and controls,
    simulated alone, and as two chunks of unequal size added to an aggregate last first."""
    sc = scenario({"buyers.eu_auto": EU_AUTO,
                   "buyers.us_auto.substitution": {"trigger_cover_days": 25,
                                                   "max_share": 0.4, "lead_days": 10},
                   "china.export_capacity_t_per_day": 2.5}, timeline=[CONTROLS])
    plan = compile_plan(sc)
    recs = [simulate(plan, k, SEED) for k in range(4)]
    parts = [run_chunk(plan, Chunk(0, 3), SEED, 2), run_chunk(plan, Chunk(3, 4), SEED, 2)]
    agg = Aggregate(plan, 4)
    for r in reversed(parts):
        agg.add(r)
    return plan, recs, parts, agg


def _sector_cover(plan, rec) -> np.ndarray:
    """[sample day, sector] whole days of cover (sector stock over its forecast after
    substitution, as the architecture notes define it), floored and capped at 199."""
    forecast = plan.demand_mean * (1.0 - rec.substituted_share)
    sectors = np.array(plan.sectors)
    cols = [rec.inventory[:, sectors == s].sum(1) / forecast[:, sectors == s].sum(1)
            for s in dict.fromkeys(plan.sectors)]
    cover = np.stack(cols, axis=1)[::COVER_EVERY]
    return np.minimum(np.floor(cover), COVER_BINS - 1)


def test_ensemble_exercises_substitution_and_unequal_sector_covers(ensemble):
    plan, recs, _, _ = ensemble
    assert any(r.substituted_share[:, 0].max() > 0 for r in recs)
    # per-buyer covers of the automotive sector differ, so a mean of ratios is no stand-in
    a = recs[0].inventory[:, [0, 2]] / plan.demand_mean[:, [0, 2]]
    assert np.abs(a[:, 0] - a[:, 1]).max() > 5


def test_cover_histogram_counts_each_replications_whole_days(ensemble):
    plan, recs, parts, agg = ensemble
    covers = np.stack([_sector_cover(plan, r) for r in recs])  # [rep, sample, sector]
    assert (covers != np.floor(covers)).sum() == 0 and np.ptp(covers) > 10
    want = np.zeros_like(agg.cover_hist)
    for c in covers:
        for t, s in np.ndindex(c.shape):
            want[t, s, int(c[t, s])] += 1
    np.testing.assert_array_equal(parts[0].cover_hist + parts[1].cover_hist, want)
    np.testing.assert_array_equal(agg.cover_hist, want)
    assert (agg.cover_hist.sum(2) == 4).all()  # every replication counted once per sample


def test_cover_quantiles_are_inverted_cdf_percentiles_of_the_pooled_days(ensemble):
    plan, recs, _, agg = ensemble
    covers = np.stack([_sector_cover(plan, r) for r in recs])
    df = agg.cover()
    sectors = list(dict.fromkeys(plan.sectors))
    assert list(df.sector[:len(sectors)]) == sectors
    assert list(df.date[::len(sectors)]) == list(plan.dates[::COVER_EVERY])
    for q in (5, 25, 50, 75, 95):  # with 4 replications, 25/50/75% fall on a count exactly
        want = np.percentile(covers, q, axis=0, method="inverted_cdf")  # [sample, sector]
        np.testing.assert_array_equal(df[f"cover_days_p{q}"].to_numpy(), want.ravel(), q)


def test_chunk_and_aggregate_backlog_exports_and_daily_rows(ensemble):
    plan, recs, parts, agg = ensemble
    backlog = np.stack([r.licence_backlog.sum(1)[::COVER_EVERY] for r in recs])
    assert backlog.max() > 0
    np.testing.assert_allclose(np.concatenate([p.backlog for p in parts]), backlog, rtol=1e-12)
    frame = agg.backlog_frame()
    np.testing.assert_allclose(frame.backlog_t_mean, backlog.mean(0), rtol=1e-12)
    np.testing.assert_allclose(frame.backlog_t_p5, np.percentile(backlog, 5, axis=0))
    np.testing.assert_allclose(frame.backlog_t_p95, np.percentile(backlog, 95, axis=0))
    # monthly exports per destination, and WORLD, from the daily dispatch
    months = pd.PeriodIndex(plan.dates, freq="M").astype(str)
    per_rep = np.stack([pd.DataFrame(r.dispatched, columns=plan.regions).groupby(months)
                        .sum().assign(WORLD=lambda d: d.sum(axis=1)).to_numpy() for r in recs])
    ex = agg.exports(pd.DataFrame(columns=["month", "destination", "observed_t"]))
    assert len(ex) == per_rep.shape[1] * per_rep.shape[2] and ex.observed_t.isna().all()
    np.testing.assert_allclose(ex.dispatched_t_mean, per_rep.mean(0).ravel(), rtol=1e-12)
    np.testing.assert_allclose(ex.dispatched_t_p5, np.percentile(per_rep, 5, 0).ravel())
    np.testing.assert_allclose(ex.dispatched_t_p95, np.percentile(per_rep, 95, 0).ravel())
    assert (ex.dispatched_t_p95 - ex.dispatched_t_p5).max() > 0
    # daily rows of the replications below daily_upto = 2 only
    assert set(parts[0].daily.column("replication").to_pylist()) == {0, 1}
    assert parts[1].daily is None


def test_summary_of_the_aggregate_against_numpy(ensemble):
    _, _, parts, agg = ensemble
    shortage = np.concatenate([p.shortage for p in parts])  # [rep, entity, metric]
    np.testing.assert_array_equal(agg.shortage, shortage)
    s = agg.summary().set_index(["level", "entity", "metric"])
    for i, e in enumerate(agg.entities):
        for j, m in enumerate(ALL_METRICS):
            v = shortage[:, i, j]
            row = s.loc[(e.level, e.name, m)]
            if np.isnan(v).all():
                assert row.isna().all()
                continue
            worst = np.nanmin(v) if m in metrics.HIGHER_IS_BETTER else np.nanmax(v)
            assert row["mean"] == pytest.approx(np.nanmean(v), rel=1e-12)
            assert row["p5"] == pytest.approx(np.nanpercentile(v, 5), rel=1e-12)
            assert row["p95"] == pytest.approx(np.nanpercentile(v, 95), rel=1e-12)
            assert row["cvar95"] == worst, (e.name, m)  # 4 replications: the single worst
    fill = shortage[:, -1, ALL_METRICS.index("fill_rate")]
    assert np.ptp(fill) > 0  # the direction of CVaR95 is visible


def test_resume_refuses_a_run_kept_with_other_daily_replications(tmp_path):
    sc = scenario()

    def stop(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(sc, replications=4, workers=1, out=tmp_path / "r", figures=False,
            daily_replications=1, progress=stop)
    with pytest.raises(ResumeError, match="holds a different run"):
        run(sc, replications=4, workers=1, out=tmp_path / "r", figures=False,
            daily_replications=4, resume=True)


# ------------------------------------------------------------ the calibration's loss
def test_observations_used_by_the_loss(tmp_path):
    """Months from the first parameter's month to the horizon's last, both included; empty
    tonnes dropped; a repeated month and destination takes its last row; WORLD first."""
    from simulator.calib_objective import observations

    csv = tmp_path / "obs.csv"
    csv.write_text("month,destination,tonnes\n2025-01,US,5\n2025-02,US,10\n2025-02,US,12\n"
                   "2025-06,WORLD,30\n2025-07,WORLD,40\n2025-03,EU,\n2025-03,EU,0\n")
    param = SimpleNamespace(name="p", since=pd.Timestamp("2025-02-03").date())
    obs = observations(scenario(), [param], str(csv))
    assert obs.to_dict("list") == {"month": ["2025-06", "2025-02", "2025-03"],
                                   "destination": ["WORLD", "US", "EU"],
                                   "observed_t": [30.0, 12.0, 0.0]}


def test_loss_and_mape_by_hand():
    from simulator.calib_objective import loss, mape, residuals

    obs = pd.DataFrame({"month": ["2025-06", "2025-02", "2025-03"],
                        "destination": ["WORLD", "US", "EU"], "observed_t": [30.0, 12.0, 0.0]})
    model = pd.DataFrame({"US": [9.0, 1.0, 1.0], "EU": [1.0, 5.0, 1.0],
                          "WORLD": [1.0, 1.0, 33.0]}, index=["2025-02", "2025-03", "2025-06"])
    want = [math.log(34 / 31), math.log(10 / 13), math.log(6 / 1)]
    np.testing.assert_allclose(residuals(obs, model), want, rtol=1e-12)
    assert loss(obs, model) == pytest.approx(np.mean(np.square(want)), rel=1e-12)
    # percentages over the observations above zero only: |33 - 30| / 30, |9 - 12| / 12
    assert mape(obs, model) == pytest.approx(100.0 * (0.1 + 0.25) / 2, rel=1e-12)


# ------------------------------------------------------------ report.md
def test_report_tables_show_means_and_the_gate_as_mean_p5_p95(tmp_path):
    """Every summary row has mean 5.5 (unmet t: 5.5, fill rate 0.55) and a median of 4,321
    that no table shows; the gate's backlog has mean 12.5, p5 1.25 and p95 40."""
    from simulator.report import write_report

    sc = scenario()
    rows = [{"level": lv, "entity": e, "metric": m, "mean": 0.55 if m == "fill_rate" else 5.5,
             "p5": 0.0, "p50": 4321.0, "p95": 99.0, "cvar95": 99.0}
            for lv, e in (("sector", "automotive"), ("sector", "wind"), ("region", "US"),
                          ("region", "EU"), ("total", "total")) for m in ALL_METRICS]
    rows.append({"level": "gate", "entity": "gate", "metric": "backlog_peak_t", "mean": 12.5,
                 "p5": 1.25, "p50": 4321.0, "p95": 40.0, "cvar95": 44.0})
    manifest = {"scenario": sc.model_dump(mode="json"), "replications": 4, "seed": 1,
                "scenario_hash": "h", "version": "v"}
    res = SimpleNamespace(summary=pd.DataFrame(rows), manifest=manifest)
    text = write_report(res, tmp_path).read_text()
    auto = next(line for line in text.splitlines() if line.startswith("| sector | automotive"))
    assert "| 5.5 |" in auto and "4,321" not in text and "4.32e+03" not in text
    gate = next(line for line in text.splitlines() if line.startswith("| backlog_peak_t"))
    assert gate.endswith("| 12.5 | 1.25 | 40 |")
