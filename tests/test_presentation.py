"""What users read off a run: the gate's shading, derived observations, report.md's tables,
gate CVaR95 on the side that hurts buyers, and the frontier's cost intervals.
"""

from __future__ import annotations

import copy
import math
import os

import numpy as np
import pandas as pd
import pytest
from conftest import CONTROLS, scenario
from scipy import stats

from simulator import compile_plan
from simulator.metrics import across, series_metrics
from simulator.observed import load_observed
from simulator.plan import first_pass, refused_share
from simulator.report import _lost_units, _number, _shock, _timeline


# ------------------------------------------------------------------ the gate's odds, shaded
def test_first_pass_by_regime():
    regime = np.array([0, 1, 2])  # open, licensing, embargo
    got = first_pass(regime, np.array([0.8, 0.8, 0.8]), np.array([0.25, 0.25, 0.25]))
    # open: all; licensing: 0.2 uncovered + 0.8 x 0.25 approved; embargo: 0.2 uncovered
    np.testing.assert_allclose(got, [1.0, 0.4, 0.2], rtol=0, atol=1e-15)


def _controls(**extra):
    c = copy.deepcopy(CONTROLS)
    c["set"].update(extra)
    return c


def test_refused_share_weights_buyers_by_china_bound_demand():
    # us_auto 2 t/day, eu_wind 1 t/day, both civil and all China-sourced; from 3 Feb,
    # 80% covered: US approval 0.25 refuses 0.8 x 0.75 = 0.6, EU's 0.5 refuses 0.4
    plan = compile_plan(scenario(timeline=[_controls(
        **{"gate.regions.US.approval_prob.civil": 0.25})]))
    day = (pd.Timestamp("2025-02-03") - pd.Timestamp("2025-01-06")).days
    for region, share in (("US", 0.6), ("EU", 0.4), (None, (2 * 0.6 + 1 * 0.4) / 3)):
        (d0, s0), (d1, s1) = refused_share(plan, region)
        assert (d0, s0, d1) == (0, 0.0, day) and s1 == pytest.approx(share, abs=1e-12)


def test_refused_share_general_licence_passes_all_but_an_embargo():
    lic = {"g": {"buyers": ["us_auto"], "expires": "2025-12-31"}}
    plan = compile_plan(scenario({"gate.general_licences": lic}, timeline=[_controls()]))
    assert refused_share(plan)[1][1] == pytest.approx((2 * 0.0 + 1 * 0.4) / 3, abs=1e-12)
    plan = compile_plan(scenario({"gate.general_licences": lic}, timeline=[_controls(
        **{"gate.regions.US.regime.civil": "embargo"})]))
    assert refused_share(plan, "US")[1][1] == pytest.approx(0.8, abs=1e-12)


def test_observed_points_derived_from_a_note(tmp_path):
    csv = tmp_path / "obs.csv"
    csv.write_text("month,destination,tonnes,note\n2025-05,US,46.4,stated\n"
                   "2024-05,US,693,\"DERIVED: -93% y/y\"\n2024-06,US,735,derived from share\n")
    assert load_observed(str(csv)).derived.tolist() == [False, True, True]
    csv.write_text("month,destination,tonnes\n2025-05,US,46.4\n")
    assert load_observed(str(csv)).derived.tolist() == [False]
    # the shipped data: the May 2025 trough is stated; April 2024 is back-calculated
    obs = load_observed("builtin:china_magnet_exports").set_index(["month", "destination"])
    assert not obs.loc[("2025-05", "WORLD"), "derived"]
    assert obs.loc[("2024-04", "WORLD"), "derived"]


# ------------------------------------------------------------------ summaries
def test_gate_cvar95_takes_the_tail_that_hurts_buyers():
    approval = np.array([0.6, 0.55, 0.58, 0.4, np.nan])
    assert across(approval, "approval_rate")["cvar95"] == 0.4  # lowest, not highest
    assert across(np.array([10.0, 30.0, 20.0]), "dispatched_t")["cvar95"] == 10.0
    assert across(np.array([10.0, 30.0, 20.0]), "backlog_peak_t")["cvar95"] == 30.0


def test_report_numbers_units_and_timeline():
    assert [_number(v) for v in (math.nan, 143903.4, 0.5774, 44.71, 0.0, "US")] == [
        "—", "143,903", "0.577", "44.7", "0", "US"]
    sc = {"buyers": {
        "a": {"sector": "automotive", "unit_name": "vehicles", "demand": {"kg_per_unit": 0.5}},
        "b": {"sector": "automotive", "unit_name": "e-two-wheelers",
              "demand": {"kg_per_unit": 1.0}},
        "c": {"sector": "automotive", "unit_name": "vehicles", "demand": {"kg_per_unit": 2}},
        "d": {"sector": "electronics", "demand": {"t_per_year": 5.0}}},
        "timeline": [{"date": "2025-04-04", "label": "controls", "shade": True},
                     {"date": "2025-08-11", "label": "targets up"},
                     {"date": "2025-09-01", "label": "scrutiny", "shade": True}]}
    s = pd.DataFrame({"level": ["sector", "sector"], "entity": ["automotive", "electronics"],
                      "metric": ["lost_units", "lost_units"], "mean": [7.0, math.nan],
                      "p95": [9.0, math.nan]})
    lost = _lost_units(s, sc)
    assert lost.to_dict("records") == [{"sector": "automotive", "lost units (mean)": 7.0,
                                        "lost units (p95)": 9.0,
                                        "unit": "vehicles + e-two-wheelers"}]
    assert _timeline(sc)["on figures"].tolist() == ["(1)", "", "(2)"]
    # the shock report.md names: the scenario's own, else the first numbered event, ...
    assert _shock(sc) == "2025-04-04, controls"
    assert _shock({**sc, "shock": "2026-11-10"}) == "2026-11-10, the scenario's `shock`"
    assert _shock({"horizon": {"start": "2024-01-01"}, "disruptions": {"strike": {}}}) == (
        "each replication's first random disruption")


# ------------------------------------------------------------------ run directory, API
def test_results_keep_an_absolute_directory(tmp_path, monkeypatch):
    import simulator

    monkeypatch.chdir(tmp_path)
    res = simulator.run(scenario(), replications=2, seed=1, out="r", figures=False,
                        workers=1)
    assert res.directory == tmp_path / "r" and res.directory.is_absolute()
    rows = len(res.daily)
    os.chdir(tmp_path.parent)
    assert len(res.daily) == rows == len(simulator.load_run(tmp_path / "r").daily)
    gone = simulator.load_run(tmp_path / "r")
    (tmp_path / "r").rename(tmp_path / "moved")
    with pytest.raises(FileNotFoundError, match="run directory not found"):
        _ = gone.daily


def test_frontier_cost_interval_is_the_paired_interval_around_the_reference(tmp_path):
    from conftest import scenario as sc_of

    from simulator import compare

    sc = sc_of({"variants": {"cover_70": {"buyers.us_auto.policy.target_days": 70}},
                "costs": {"shortage_usd_per_unit": {"automotive": 5000.0}}},
               timeline=[CONTROLS])
    comp = compare(sc, replications=6, workers=1, out=tmp_path / "c", figures=False)
    base, more = (a.values("cost_usd") for a in comp.arms)
    f = comp.frontier.set_index("variant")
    lo, hi = stats.ttest_rel(more, base).confidence_interval(0.95)
    assert f.loc["cover_70", "cost_usd_ci95_low"] == pytest.approx(base.mean() + lo, rel=1e-12)
    assert f.loc["cover_70", "cost_usd_ci95_high"] == pytest.approx(base.mean() + hi, rel=1e-12)
    first = f.iloc[0]
    assert first.cost_usd_ci95_low == first.cost_usd_ci95_high == first.cost_usd_mean


def test_daily_rows_rebuild_cover_and_premium_with_substitution(tmp_path):
    """From daily.parquet alone (plus the plan's mean demand): minimum cover with
    substitution, premiums and the stock balance match the run's per-replication values.
    """
    from test_alternatives import EMBARGO, GRAY, SUB

    import simulator

    # the gray channel's quarter of each denial holds the stock near 70 t (23 days of
    # cover): a 25-day trigger starts substitution
    sc = scenario({**EMBARGO, "buyers.us_auto.on_denial": "lose", "gray_channel": GRAY,
                   "buyers.us_auto.substitution": {**SUB, "trigger_cover_days": 25}})
    res = simulator.run(sc, replications=2, seed=5, out=tmp_path / "r", figures=False,
                        workers=1)
    plan = compile_plan(sc)
    daily = res.daily[res.daily.kind == "buyer"]
    reps = res.replications
    reps = reps[(reps.level == "buyer") & (reps.entity == "us_auto")].set_index(
        ["replication", "metric"]).value
    for k, d in daily[daily.entity == "us_auto"].groupby("replication"):
        sub = d.substituted_share.to_numpy()
        assert sub.max() > 0.1  # substitution did start
        cover = d.inventory_t.to_numpy() / (plan.demand_mean[:, 0] * (1.0 - sub))
        assert reps[(k, "min_cover_days")] == pytest.approx(cover.min(), rel=1e-12)
        assert reps[(k, "premium_usd")] == pytest.approx(d.premium_usd.sum(), rel=1e-12)
        inv = np.concatenate(([plan.initial_stock[0]], d.inventory_t.to_numpy()))
        np.testing.assert_allclose(inv[1:], inv[:-1] + d.received_t + d.released_t
                                   - d.delivered_t, rtol=0, atol=1e-9)


def test_recovery_counts_from_the_first_stockout_after_the_shock():
    """Shock on day 5. A stockout on day 0 (before it) recovers at once; the disruption's
    stockout from day 6 never recovers: recovery is censored at 4 days (days 6-9), not 1."""
    from simulator.metrics import SHORTAGE_METRICS

    unmet = np.array([1, 0, 0, 0, 0, 0, 1, 1, 1, 1.0])
    cover = np.array([0, 5, 5, 5, 5, 5, 0, 0, 0, 0.0])
    got = dict(zip(SHORTAGE_METRICS, series_metrics(np.ones(10), unmet, cover, 2.0, 5),
                   strict=True))
    assert got["days_to_first_stockout"] == 1.0 and got["recovery_days"] == 4.0
    assert got["stockout_days"] == 5.0  # the pre-shock day still counts as short


# ------------------------------------------------------------------ the frontier's bars
def test_stagger_sets_apart_bars_of_points_at_the_same_cvar_only():
    import matplotlib.pyplot as plt

    from simulator.plots import _stagger
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    y = np.array([1000.0, 1485.0, 1300.0, 1485.0, 1485.0])
    ax.scatter([1, 2, 3, 4, 5], y)
    off = _stagger(ax, y, step_px=5.0)
    per_px = (ax.get_ylim()[1] - ax.get_ylim()[0]) / ax.bbox.height
    plt.close(fig)
    assert off[0] == off[2] == 0.0  # alone at their height
    # the three at 1,485 t: 5 px apart, centred on the points, in their original order
    np.testing.assert_allclose(off[[1, 3, 4]] / per_px, [-5.0, 0.0, 5.0], atol=1e-9)


def test_variant_labels_of_sweep_points_cut_paths_and_break_lines():
    from simulator.plots import variant_label
    assert variant_label("gate.reviewers=300,china.export_capacity_t_per_day=250") == (
        "reviewers=300\nexport_capacity_t_per_day=250")
    assert variant_label("cover_60d") == "cover_60d"
    assert variant_label("a.b=[1, 2],c=x") == "b=[1, 2]\nc=x"  # a comma inside a value


def test_frontier_labels_stay_inside_the_axes_and_the_title_names_the_scenario():
    import matplotlib.pyplot as plt

    from simulator.plots import frontier
    names = [f"gate.reviewers={r},china.export_capacity_t_per_day={c}"
             for r in (100, 300) for c in (150, 250)]
    df = pd.DataFrame({"variant": names, "cost_usd_mean": [460e6, 461e6, 515e6, 516e6],
                       "unmet_t_cvar95": [16130.0, 15930.0, 11560.0, 11300.0]})
    fig = frontier(df, "sw")
    fig.canvas.draw()
    ax = fig.axes[0]
    frame = ax.get_window_extent()
    labels = [t for t in ax.texts if "reviewers=" in t.get_text()]
    assert len(labels) == 4
    for t in labels:
        box = t.get_window_extent()
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1, t.get_text()
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1, t.get_text()
    assert fig.legends[0].get_title().get_text().startswith("sw: cost vs tail shortage")
    plt.close(fig)
