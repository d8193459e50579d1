"""Metrics on small hand-built series with exact expected values (DESIGN §7)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import CONTROLS, scenario

from simulator import compile_plan
from simulator.metrics import (
    SHORTAGE_METRICS,
    across,
    cvar95,
    gate_metrics,
    longest_run,
    recovery_days,
    series_metrics,
    settle_day,
    shock_day,
)


def metrics_of(demand, unmet, cover, kg=2.0, shock=2):
    values = series_metrics(np.array(demand, float), np.array(unmet, float),
                            np.array(cover, float), kg, shock)
    return dict(zip(SHORTAGE_METRICS, values, strict=True))


def test_hand_computed_series():
    demand = [10, 10, 10, 10, 10, 10, 10, 10]
    unmet = [0, 0, 0, 4, 10, 0, 10, 0]
    cover = [30, 30, 20, 0, 0, 5, 0, 28]
    m = metrics_of(demand, unmet, cover)
    assert m["demand_t"] == 80 and m["unmet_t"] == 24
    assert m["fill_rate"] == pytest.approx(1 - 24 / 80)
    assert m["stockout_days"] == 3
    assert m["longest_stockout_days"] == 2
    assert m["any_stockout"] == 1.0
    assert m["lost_units"] == pytest.approx(24 * 1000 / 2.0)  # 12,000 units at 2 kg each
    assert m["min_cover_days"] == 0
    assert m["days_to_first_stockout"] == 1  # shock on day 2, first stockout on day 3
    # pre-shock cover median 30 -> recovered at 27 days: day 7, four days after day 3
    assert m["recovery_days"] == 4


def test_no_shortage_gives_nan_recovery_and_full_fill():
    m = metrics_of([5, 5, 5], [0, 0, 0], [10, 9, 8])
    assert m["fill_rate"] == 1.0 and m["stockout_days"] == 0 and m["any_stockout"] == 0
    assert math.isnan(m["recovery_days"]) and math.isnan(m["days_to_first_stockout"])


def test_recovery_is_censored_at_the_horizon():
    assert recovery_days(np.array([0, 1, 1, 0, 0], bool), np.array([9, 0, 0, 3, 4.0]), 8.0) == 4


def test_longest_run():
    assert longest_run(np.array([1, 1, 0, 1, 1, 1, 0], bool)) == 3
    assert longest_run(np.zeros(4, bool)) == 0


def test_cvar95_on_a_known_sample():
    values = np.arange(1.0, 101.0)  # 1..100: the worst 5 are 96..100
    assert cvar95(values) == pytest.approx(98.0)
    assert cvar95(values, higher_is_better=True) == pytest.approx(3.0)
    assert cvar95(np.array([7.0, 1.0, 3.0])) == 7.0  # at least one value
    stats = across(values, "unmet_t")
    assert stats["mean"] == 50.5 and stats["p50"] == 50.5
    assert stats["p5"] == pytest.approx(5.95) and stats["p95"] == pytest.approx(95.05)


def test_buyer_costs_value_lost_units_and_unmet_tonnes():
    """Holding 1,000 t-days at US$49/kg and 20%/yr; 0.5 t unmet by a 2 kg/unit buyer (250
    units at US$100) and 3 t by a tonne-demand buyer (at US$1,000/t)."""
    from types import SimpleNamespace

    from simulator.metrics import buyer_costs
    from simulator.schema import Costs

    costs = Costs(magnet_usd_per_kg=49.0, holding_rate_per_year=0.2,
                  shortage_usd_per_unit={"automotive": 100.0},
                  shortage_usd_per_t={"electronics": 1000.0, "automotive": 7.0})
    plan = SimpleNamespace(scenario=SimpleNamespace(costs=costs),
                           sectors=["automotive", "electronics"],
                           kg_per_unit=np.array([2.0, np.nan]))
    rec = SimpleNamespace(inventory=np.array([[500.0, 0.0], [500.0, 0.0]]),
                          premium_usd=np.array([[10.0, 0.0], [0.0, 5.0]]),
                          unmet=np.array([[0.5, 1.0], [0.0, 2.0]]))
    out = buyer_costs(rec, plan)
    holding = 1000.0 * 1000.0 * 49.0 * 0.2 / 365.0
    assert out[0].tolist() == pytest.approx([holding, 10.0, 250 * 100.0 + 0.5 * 7.0,
                                             holding + 10.0 + 25_003.5])
    assert out[1].tolist() == pytest.approx([0.0, 5.0, 3000.0, 3005.0])


def test_cvar95_of_thirty_values_averages_the_worst_two():
    values = np.arange(1.0, 31.0)  # 5% of 30 = 1.5 -> the worst ceil(1.5) = 2
    assert cvar95(values) == pytest.approx(29.5)
    assert cvar95(values, higher_is_better=True) == pytest.approx(1.5)


def test_recovery_target_is_the_median_cover_before_the_shock_day():
    # shock on day 2: pre-shock cover (days 0, 1) = 10, 20 -> median 15, target 13.5, first
    # reached on day 6 (9.5 on day 5 is not enough): 3 days after the stockout on day 3
    m = metrics_of([10] * 7, [0, 0, 0, 5, 5, 0, 0], [10, 20, 2, 0, 0, 9.5, 14.0])
    assert m["recovery_days"] == 3


def test_gate_metrics_by_hand():
    # Backlog per day 3, 5, 1 t -> peak 5; 3 decisions waited 12 working days -> 4 each;
    # 2 t approved of 4 t decided -> 0.5 (tonnes, not applications); 2 t dispatched.
    rec = SimpleNamespace(licence_backlog=np.array([[1.0, 2.0], [5.0, 0.0], [0.0, 1.0]]),
                          decisions=np.array([[3.0]]), review_wd_sum=np.array([[12.0]]),
                          approved=np.array([[2.0, 0.0]]), denied=np.array([[1.0, 1.0]]),
                          dispatched=np.array([[2.0, 0.0]]))
    assert gate_metrics(rec).tolist() == [5.0, 4.0, 0.5, 2.0]


def test_shock_day_is_the_first_shaded_event_else_the_first_event():
    def event(date, shade):
        return {**CONTROLS, "date": date, "label": date, "shade": shade}

    days = ["2025-02-03", "2025-03-03", "2025-03-31"]  # days 28, 56, 84 from 6 Jan
    shaded = scenario(timeline=[event(days[0], False), event(days[1], True),
                                event(days[2], True)])
    assert shock_day(compile_plan(shaded)) == 56
    plain = scenario(timeline=[event(days[0], False), event(days[1], False)])
    assert shock_day(compile_plan(plain)) == 28


def test_an_explicit_shock_date_wins_over_the_timeline():
    sc = scenario({"shock": "2025-03-03"}, timeline=[{**CONTROLS, "shade": True}])
    assert shock_day(compile_plan(sc)) == 56  # 6 Jan + 56 days, not the event's 28


def test_a_shock_outside_the_horizon_is_refused():
    with pytest.raises(Exception, match=r"shock: 2030-01-01 is outside the horizon"):
        scenario({"shock": "2030-01-01"})


STRIKE = {"hazard_per_year": 6.0, "mean_duration_days": 10.0, "label": "strike",
          "source": "test", "set": {"china.export_capacity_t_per_day": 0.5}}


def test_without_a_timeline_each_replication_counts_from_its_first_disruption():
    plan = compile_plan(scenario({"disruptions": {"strike": STRIKE}}))
    disrupted = np.zeros((plan.days, 1))
    disrupted[30:40, 0] = 1.0
    disrupted[90:95, 0] = 1.0
    assert shock_day(plan, disrupted) == 30
    # no disruption in this replication: no shock (time to stockout and recovery undefined)
    assert shock_day(plan, np.zeros((plan.days, 1))) == plan.days
    m = dict(zip(SHORTAGE_METRICS, series_metrics(
        np.ones(plan.days), np.ones(plan.days), np.ones(plan.days), 2.0, plan.days),
        strict=True))
    assert math.isnan(m["days_to_first_stockout"]) and math.isnan(m["recovery_days"])
    assert m["stockout_days"] == plan.days  # the stockouts still count


def test_settle_day_is_the_longest_mean_lead_plus_a_day():
    # TINY: China transit means 20 (US) and 10 (EU) days
    assert settle_day(compile_plan(scenario())) == 21


def test_run_metrics_count_from_each_replications_first_disruption():
    """Wiring: a replication's days to first stockout count from its own first disruption
    (China's dispatch closed), read off its records."""
    from simulator import simulate
    from simulator.metrics import EPS_T, entities, replication_metrics
    closure = {**STRIKE, "hazard_per_year": 4.0, "mean_duration_days": 60.0,
               "set": {"china.export_capacity_t_per_day": 0.01}}
    plan = compile_plan(scenario({"disruptions": {"closure": closure}}))
    ents = entities(plan)
    k = SHORTAGE_METRICS.index("days_to_first_stockout")
    checked = 0
    for rep in range(6):
        rec = simulate(plan, rep)
        on = np.flatnonzero(rec.disrupted.any(axis=1))
        got = replication_metrics(rec, plan, ents)[0, k]  # us_auto
        short = np.flatnonzero(rec.unmet[:, 0] > EPS_T)
        after = short[short >= on[0]] if len(on) else short[:0]
        if len(after):
            assert got == after[0] - on[0]
            checked += 1
        else:
            assert math.isnan(got)
    assert checked >= 2  # the disruptions cause stockouts in some replications


def test_variants_cannot_move_the_shock():
    """Paired metrics need one shock: a variant that sets it is refused."""
    from simulator.comparison import compare
    from simulator.yamlsrc import InputError
    later = {"later": {"shock": "2025-03-03"}}
    with pytest.raises(InputError, match=r"variants.later.shock: cannot differ between"):
        scenario({"variants": later})  # refused when the scenario is loaded
    sc = scenario().model_copy(update={"variants": later})  # built without the load checks
    with pytest.raises(InputError, match=r"shock: cannot differ between variants"):
        compare(sc, replications=2, workers=1, figures=False)
