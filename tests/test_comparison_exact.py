"""Exact tests of the comparison's numbers: paired differences and their intervals, the
frontier, the per-variant summary, comparison.csv rows and the report's cells.

Three variants of five replications with hand-chosen per-replication values, so every
expected number is worked out by hand (the t quantile from scipy).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import scenario
from scipy import stats

from simulator.compare_report import report_rows
from simulator.comparison import Arm, Comparison, paired_stats
from simulator.metrics import ALL_METRICS, Entity
from simulator.variants import Variant

ENTITIES = [Entity("buyer", "a", np.array([0])), Entity("buyer", "b", np.array([1])),
            Entity("sector", "automotive", np.array([0])), Entity("sector", "wind",
                                                                 np.array([1])),
            Entity("total", "total", np.array([0, 1]))]
NAN = math.nan
TOTAL = {  # per variant, per total metric: five replications
    "base": {"unmet_t": [10, 20, 30, 40, 50], "cost_usd": [100] * 5,
             "fill_rate": [0.9, 0.8, 0.7, 0.6, 0.5], "days_to_first_stockout": [0, 1, NAN, 2, 6]},
    "v1": {"unmet_t": [11, 22, 33, 44, 55], "cost_usd": [50, 60, 70, 80, 90],
           "fill_rate": [1, 1, 1, 1, 0.5], "days_to_first_stockout": [1, NAN, 3, 4, 5]},
    "v2": {"unmet_t": [0, 0, 0, 0, 100], "cost_usd": [200] * 5, "fill_rate": [0.5] * 5,
           "days_to_first_stockout": [NAN] * 5},
}
AUTO_UNITS = {"base": [100] * 5, "v1": [90, 80, 70, 60, 50], "v2": [100] * 5}
T4 = stats.t.ppf(0.975, 4)


def _arm(name: str, sc) -> Arm:
    shortage = np.zeros((5, len(ENTITIES), len(ALL_METRICS)))
    for metric, values in TOTAL[name].items():
        shortage[:, 4, ALL_METRICS.index(metric)] = values
    units = ALL_METRICS.index("lost_units")
    shortage[:, [0, 2], units] = np.array(AUTO_UNITS[name])[:, None]
    shortage[:, [1, 3, 4], units] = NAN  # tonnes: no units
    return Arm(Variant(name), sc, ENTITIES, shortage, np.zeros((5, 4)))


@pytest.fixture(scope="module")
def comp() -> Comparison:
    sc = scenario()
    return Comparison([_arm(n, sc) for n in TOTAL], {"verb": "compare"})


def test_paired_difference_and_t_interval_by_hand(comp):
    row = comp.paired("unmet_t").set_index("variant").loc["v1"]
    half = T4 * math.sqrt(2.5) / math.sqrt(5)  # differences 1..5: sd sqrt(2.5)
    assert row["mean"] == 33.0 and row["diff_vs_first"] == 3.0
    assert row["diff_ci95_low"] == pytest.approx(3.0 - half, rel=1e-12)
    assert row["diff_ci95_high"] == pytest.approx(3.0 + half, rel=1e-12)
    cost = comp.paired("cost_usd").set_index("variant")
    assert cost.loc["v1", "diff_vs_first"] == -30.0 and cost.loc["v2", "diff_vs_first"] == 100
    assert cost.loc["v2", "diff_ci95_low"] == cost.loc["v2", "diff_ci95_high"] == 100.0


def test_nan_replications_leave_the_pair_but_not_the_mean(comp):
    """Days to first stockout: v1 vs base pair up in replications 0, 3, 4 only (1-0, 4-2,
    5-6: mean 2/3); v1's mean is over its own four defined values (13/4)."""
    df = comp.paired("days_to_first_stockout").set_index("variant")
    assert df.loc["v1", "mean"] == 3.25 and df.loc["base", "mean"] == 2.25
    assert df.loc["v1", "diff_vs_first"] == pytest.approx(2.0 / 3.0, rel=1e-12)
    half = stats.t.ppf(0.975, 2) * math.sqrt(7.0 / 3.0) / math.sqrt(3)  # sd of 1, 2, -1
    assert df.loc["v1", "diff_ci95_high"] == pytest.approx(2.0 / 3.0 + half, rel=1e-12)
    assert df.loc["v2", ["mean", "diff_vs_first", "diff_ci95_low"]].isna().all()  # undefined


def test_one_pair_has_a_mean_difference_and_no_interval():
    s = paired_stats(np.array([4.0, NAN]), np.array([1.0, 2.0]))
    assert s["diff_vs_first"] == 3.0 and s["mean"] == 4.0
    assert math.isnan(s["diff_ci95_low"]) and math.isnan(s["diff_ci95_high"])


def test_frontier_by_hand(comp):
    f = comp.frontier.set_index("variant")
    assert f.cost_usd_mean.tolist() == [100.0, 70.0, 200.0]
    assert f.unmet_t_mean.tolist() == [30.0, 33.0, 20.0]
    # five replications: CVaR95 is the single worst (highest) unmet
    assert f.unmet_t_cvar95.tolist() == [50.0, 55.0, 100.0]
    assert f.fill_rate_mean.tolist() == pytest.approx([0.7, 0.9, 0.5], rel=1e-12)


def test_summary_rows_are_each_variants_own(comp):
    s = comp.summary.set_index(["variant", "level", "entity", "metric"])
    assert s.loc[("v1", "total", "total", "unmet_t"), "mean"] == 33.0
    assert s.loc[("v2", "total", "total", "unmet_t"), "cvar95"] == 100.0
    assert s.loc[("v1", "total", "total", "fill_rate"), "cvar95"] == 0.5  # lowest is worst
    assert s.loc[("v1", "sector", "automotive", "lost_units"), "p50"] == 70.0
    assert len(s) == 3 * (len(ENTITIES) * len(ALL_METRICS) + 4)


def test_table_rows_and_lost_units_per_sector(comp):
    t = comp.table
    assert list(dict.fromkeys(t.variant)) == ["base", "v1", "v2"]
    labels = list(dict.fromkeys(t.metric))
    assert "lost_units.automotive" in labels and "lost_units.wind" not in labels
    assert "lost_units" not in labels
    auto = t[t.metric == "lost_units.automotive"].set_index("variant")
    assert auto.loc["v1", "diff_vs_first"] == -30.0 and auto.loc["v1", "mean"] == 70.0


def test_report_cells_show_means_and_low_high_intervals(comp):
    rows = report_rows(comp).set_index("variant")
    assert rows.loc["v1", "unmet (t)"] == "33"
    assert rows.loc["v1", "Δ unmet (t) [95% CI]"] == "+3 [+1, +5]"  # 3 -/+ 1.96
    assert rows.loc["v1", "cost (USD m)"] == "0.0"
    assert rows.loc["v1", "fill rate"] == "0.9000"
    assert rows.loc["base", "Δ unmet (t) [95% CI]"] == "+0 [+0, +0]"
    assert rows["CVaR95 unmet (t)"].tolist() == ["50", "55", "100"]
