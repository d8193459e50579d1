"""Suppliers, stockpiles, substitution and replenishment policies on exact small cases."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run, scenario
from scipy import special, stats
from test_gate import ONE_BUYER

from simulator import compile_plan
from simulator.buyers import truncated_normal
from simulator.policies import Rules

STEADY = {"buyers.us_auto.demand": {"t_per_year": 365.0},  # 1 t/day
          "buyers.us_auto.policy": {"kind": "base_stock", "order_up_to_t": 40.0,
                                    "review_period_days": 1}}


def test_review_orders_up_to_S_and_sS_at_or_below_s():
    # Rules.quantity, what the daily step calls, on hand-set positions: S = 50 for
    # base_stock and sS (s = 20), 30 days x 2 t/day = 60 t for days_of_cover.
    fixed = {"kind": "base_stock", "order_up_to_t": 50.0, "review_period_days": 1}
    s_s = {"kind": "sS", "order_up_to_t": 50.0, "reorder_point_t": 20.0,
           "review_period_days": 1}
    cover = {"kind": "days_of_cover", "target_days": 30.0, "review_period_days": 1}
    buyer = ONE_BUYER["buyers"]["us_auto"]
    kinds = [fixed, s_s, s_s, s_s, cover, cover]
    sc = scenario({"buyers": {f"b{i}": {**buyer, "policy": k} for i, k in enumerate(kinds)}})
    rules = Rules.of(compile_plan(sc).phases[0].buyers)
    position = np.array([45.0, 21.0, 20.0, 19.0, 70.0, 55.0])
    qty = rules.quantity(0, position, np.full(6, 2.0))
    # 50-45; above s; at s: up to S; below s; above 60; 60-55
    np.testing.assert_allclose(qty, [5.0, 0.0, 30.0, 31.0, 0.0, 5.0], rtol=0, atol=1e-12)
    weekly = scenario({"buyers": {"b": {**buyer, "policy": {**fixed, "review_period_days": 7}}}})
    rules = Rules.of(compile_plan(weekly).phases[0].buyers)
    days = [d for d in range(15) if rules.quantity(d, np.array([45.0]), np.ones(1))[0] > 0]
    assert days == [0, 7, 14]  # reviews on days divisible by the period


def test_sS_orders_when_the_position_reaches_s_exactly():
    # 30 t at 1 t/day: after day 14's demand the position is 15 = s -> order 15 up to S = 30
    sc = scenario({**STEADY, "buyers.us_auto.policy": {
        "kind": "sS", "order_up_to_t": 30.0, "reorder_point_t": 15.0, "review_period_days": 1},
        "buyers.us_auto.initial_stock_t": 30.0})
    ordered = run(sc).ordered[:, 0]
    assert ordered[:14].sum() == 0.0 and ordered[14] == 15.0
    assert ordered[15:29].sum() == 0.0 and ordered[29] == 15.0  # 15 days later, again at s


def test_base_stock_orders_each_day_what_the_day_took():
    # Daily review, lost sales, no stockout (transit 4 days, S = 40 t, demand about 1 t/day
    # with cv 0.3): each review brings the position (on hand + on order) back to S, so each
    # day's order is that day's demand. No buyer backorders (the position's fast path).
    sc = scenario({**STEADY, "buyers.us_auto.demand.cv": 0.3,
                   "buyers.eu_wind.shortage": "lost_sales",
                   "china.transit_days.US": {"dist": "fixed", "mean": 4}})
    r = run(sc)
    assert r.unmet.sum() == 0.0
    np.testing.assert_allclose(r.ordered[:, 0], r.demand[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.inventory[:, 0] + r.on_order[:, 0], 40.0, rtol=0, atol=1e-9)


def test_supplier_order_arrives_lead_days_after_the_next_step():
    # Ordered at review on day 0, shipped at the next step (day 1), received lead days later:
    # day 6 for a 5-day plant; half the orders from a 2-day plant arrive from day 3.
    far = {"region": "US", "capacity_t_per_year": 10_000.0, "lead_time_days": 5}
    near = {**far, "lead_time_days": 2}
    one = run(scenario({**STEADY, "suppliers": {"far": far},
                        "buyers.us_auto.sourcing": {"far": 1.0}})).received[:, 0]
    assert one[:6].sum() == 0.0
    np.testing.assert_allclose(one[6:], 1.0, rtol=0, atol=1e-12)  # 1 t a day
    two = run(scenario({**STEADY, "suppliers": {"far": far, "near": near},
                        "buyers.us_auto.sourcing": {"far": 0.5, "near": 0.5}})).received[:, 0]
    assert two[:3].sum() == 0.0
    np.testing.assert_allclose(two[3:6], 0.5, rtol=0, atol=1e-12)
    np.testing.assert_allclose(two[6:], 1.0, rtol=0, atol=1e-12)


def test_gated_feedstock_under_licensing():
    # licensing: 1 - 0.8 covered passes, plus 0.8 x 0.5 approved = 0.6 of the gated half;
    # output 0.5 + 0.5 x 0.6 = 0.8 t/day of 1 t/day
    plant = {"region": "EU", "capacity_t_per_year": 365.0, "gated_feedstock_share": 0.5}
    sc = scenario({"suppliers": {"p": plant}, "gate.regions.EU.regime.civil": "licensing",
                   "gate.regions.EU.covered_share.civil": 0.8,
                   "gate.regions.EU.approval_prob.civil": 0.5})
    assert compile_plan(sc).supplier_cap[0, 0] == pytest.approx(0.8, abs=1e-12)


def test_priority_rank_is_the_better_of_sector_and_end_use():
    buyer = ONE_BUYER["buyers"]["us_auto"]
    who = {"auto_civil": ("automotive", "civil"), "wind_def": ("wind", "defense"),
           "auto_def": ("automotive", "defense"), "wind_civil": ("wind", "civil")}
    buyers = {n: {**buyer, "sector": s, "end_use": e} for n, (s, e) in who.items()}
    for priority, ranks in [(["defense", "automotive"], [1, 0, 0, 2]),
                            (["automotive", "defense"], [0, 1, 0, 2])]:
        sc = scenario({"buyers": buyers, "china.priority": priority})
        assert compile_plan(sc).phases[0].gate.rank.tolist() == ranks, priority


def test_a_reorder_point_or_order_up_to_level_of_zero_is_a_value():
    """sS with s = 0, S = 10 at 1 t/day from 10 t: the first order, 10 t, on day 9 (the
    day the position reaches 0); base_stock with S = 0 never orders (and nothing is NaN)."""
    one = {**ONE_BUYER, "buyers.us_auto.demand": {"t_per_year": 365.0},
           "buyers.us_auto.initial_stock_t": 10.0}
    r = run(scenario({**one, "buyers.us_auto.policy": {
        "kind": "sS", "reorder_point_t": 0.0, "order_up_to_t": 10.0, "review_period_days": 1}}))
    ordered = r.ordered[:, 0]
    assert ordered[:9].sum() == 0.0 and ordered[9] == pytest.approx(10.0, abs=1e-12)
    assert ordered[10:20].sum() == 0.0
    r = run(scenario({**one, "buyers.us_auto.policy": {
        "kind": "base_stock", "order_up_to_t": 0.0, "review_period_days": 1}}))
    assert r.ordered.sum() == 0.0 and np.isfinite(r.inventory).all()
    assert r.unmet[10:, 0] == pytest.approx(np.ones(len(r.unmet) - 10))


def test_normal_demand_noise_is_truncated_at_zero_and_keeps_mean_one():
    """The truncated normal's mean and CV (scipy.stats.truncnorm), not a clipped normal's:
    at cv = 1 the clipped one has mean 1.08 and 16% zero days."""
    u = np.random.default_rng(3).random(1_000_000)
    for cv in (0.3, 1.0, 2.0):
        x = truncated_normal(cv, u)
        t = stats.truncnorm(-1.0 / cv, np.inf)
        assert x.min() > 0.0
        assert x.mean() == pytest.approx(1.0, abs=3e-3)
        assert x.std() / x.mean() == pytest.approx(t.std() / (1.0 / cv + t.mean()), rel=3e-3)
    small = truncated_normal(0.1, u)  # nothing to truncate: the plain normal
    np.testing.assert_allclose(small, 1.0 + 0.1 * special.ndtri(u), rtol=1e-12)


def test_supplier_ramp_and_gated_feedstock():
    plant = {"region": "EU", "capacity_t_per_year": 365.0, "gated_feedstock_share": 0.5,
             "ramp": [{"date": "2025-01-06", "share": 0.4}, {"date": "2025-03-03", "share": 1.0}]}
    embargo = {"date": "2025-04-07", "label": "embargo", "source": "test",
               "set": {"gate.regions.EU.regime.civil": "embargo"}}
    sc = scenario({**STEADY, "suppliers": {"plant": plant},
                   "buyers.us_auto.sourcing": {"plant": 1.0},
                   "buyers.us_auto.policy.order_up_to_t": 400.0}, timeline=[embargo])
    cap = compile_plan(sc).supplier_cap[:, 0]
    assert cap[0] == pytest.approx(0.4) and cap[60] == pytest.approx(1.0)
    assert cap[91] == pytest.approx(0.5)  # half the output needs Chinese Dy/Tb: embargoed
    # only feedstock that needs a licence is embargoed: 0.5 + 0.5 x (1 - 0.6)
    part = compile_plan(scenario({**STEADY, "suppliers": {"plant": plant},
                                  "gate.regions.EU.covered_share.civil": 0.6},
                                 timeline=[embargo]))
    assert part.supplier_cap[91, 0] == pytest.approx(0.7, abs=1e-12)
    r = run(sc)
    shipped = r.supplier_shipped[:, 0]
    assert shipped[1:50] == pytest.approx(np.full(49, 0.4))  # backlog ample: ships capacity


def test_recycler_yield_scales_output():
    rec = {"region": "US", "capacity_t_per_year": 365.0, "recycled": True, "yield_share": 0.8}
    sc = scenario({**STEADY, "suppliers": {"scrap": rec}, "buyers.us_auto.sourcing":
                   {"china": 0.5, "scrap": 0.5}})
    assert compile_plan(sc).supplier_cap[:, 0] == pytest.approx(np.full(176, 0.8))


def test_stockpile_releases_only_to_eligible_buyers_below_trigger_within_limit():
    reserve = {"stock_t": 30.0, "release": {"trigger_cover_days": 20, "max_t_per_day": 1.5,
                                            "sectors": ["automotive"], "regions": ["US"]}}
    sc = scenario({**STEADY, "gate.regions.US.regime.civil": "embargo",
                   "buyers.us_auto.on_denial": "lose", "stockpiles": {"ndS": reserve}})
    r = run(sc)
    released = r.released[:, 0]
    assert r.released[:, 1].sum() == 0.0  # wind is not eligible
    assert released.max() <= 1.5 + 1e-12
    assert released.sum() == pytest.approx(30.0)  # all of it, eventually
    first = int(np.flatnonzero(released)[0])
    # 40 t at 1 t/day: cover falls below 20 days after day 20's demand; release on day 21
    assert first == 21 and released[first] == pytest.approx(1.0)  # tops up to 20 days


def test_stockpile_refills_at_its_rate_only_when_no_eligible_buyer_is_short():
    """The reserve empties during an embargo, the gate reopens on day 56; from then on it
    buys back 0.5 t/day up to its 30 t, never on a day its buyer is below the trigger."""
    reserve = {"stock_t": 30.0, "release": {"trigger_cover_days": 20, "max_t_per_day": 1.5,
                                            "sectors": ["automotive"], "regions": ["US"]},
               "refill": {"t_per_day": 0.5}}
    reopen = {"date": "2025-03-03", "label": "reopen", "source": "test",
              "set": {"gate.regions.US.regime.civil": "open"}}
    base = {**STEADY, "gate.regions.US.regime.civil": "embargo",
            "buyers.us_auto.on_denial": "lose", "stockpiles": {"ndS": reserve}}
    r = run(scenario(base, timeline=[reopen]))
    level, bought, given = r.stockpile[:, 0], r.stockpile_refill[:, 0], r.released[:, 0]
    before = np.concatenate(([30.0], level[:-1]))
    np.testing.assert_allclose(level, before - given + bought, atol=1e-12)  # lead time 0
    assert level[50] == 0.0 and level[-1] == pytest.approx(30.0)  # emptied, then rebuilt
    assert bought.sum() == pytest.approx(given.sum())
    on_hand = np.concatenate(([40.0], r.inventory[:-1, 0])) + r.received[:, 0]
    short = on_hand < 20.0  # 20 days of 1 t/day, before the day's release and demand
    assert not (bought[short] > 0).any() and (given[~short] == 0).all()
    np.testing.assert_allclose(bought[~short], np.minimum(0.5, 30.0 - before[~short]),
                               atol=1e-12)
    # a timeline event can start the refill: nothing is bought before 2025-05-05 (day 119)
    late = {"date": "2025-05-05", "label": "refill", "source": "test",
            "set": {"stockpiles.ndS.refill.t_per_day": 0.5}}
    r2 = run(scenario({**base, "stockpiles": {"ndS": {**reserve, "refill": {}}}},
                      timeline=[reopen, late]))
    assert r2.stockpile_refill[:119].sum() == 0.0 and r2.stockpile_refill[119:].sum() > 0.0


def test_substitution_ramps_linearly_after_the_trigger():
    sub = {"trigger_cover_days": 10, "max_share": 0.4, "lead_days": 20}
    sc = scenario({**STEADY, "gate.regions.US.regime.civil": "embargo",
                   "buyers.us_auto.on_denial": "lose", "buyers.us_auto.substitution": sub})
    r = run(sc)
    share = r.substituted_share[:, 0]
    start = int(np.flatnonzero(r.inventory[:, 0] / 1.0 < 10)[0])  # cover below 10 days
    assert share[start] == 0.0
    assert share[start + 10] == pytest.approx(0.2)
    assert share[start + 20:] == pytest.approx(np.full(len(share) - start - 20, 0.4))
    np.testing.assert_allclose(r.demand[:, 0], 1.0 - share)
