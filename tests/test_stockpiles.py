"""Government stockpiles (DESIGN §2.3): what they release, to whom, and never more than held.

Every case: buyers of 1 t/day (no noise) starting at 40 t, an embargo on their region and
denied orders lost, so their stock only falls and the reserve is all they get.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run, scenario

BUYER = {"region": "US", "sector": "automotive", "on_denial": "lose",
         "demand": {"t_per_year": 365.0, "cv": 0.0},
         "policy": {"kind": "base_stock", "order_up_to_t": 40.0, "review_period_days": 1}}
EMBARGO = {"gate.regions.US.regime.civil": "embargo"}


def reserve(stock_t, max_t_per_day, sectors=("automotive",), lead_time_days=0,
            allocation="fifo"):
    return {"stock_t": stock_t, "lead_time_days": lead_time_days,
            "release": {"trigger_cover_days": 20, "max_t_per_day": max_t_per_day,
                        "sectors": list(sectors), "regions": ["US"],
                        "allocation": allocation}}


def given(r, stock_t):
    """Tonnes leaving the reserve per day (its level drop; no refill here)."""
    return -np.diff(np.concatenate(([stock_t], r.stockpile[:, 0])))


def test_release_is_net_of_what_is_on_its_way():
    # Lead time 5: on hand falls below 20 days after day 20 (40 - 21 = 19 t on day 21), so
    # day 21 releases 1 t; the next days' gap, net of what is on its way, is again 1 t a day
    # (not 2, 3, ... t as on hand alone would say), and each arrives 5 days later.
    sc = scenario({"buyers": {"b": BUYER}, **EMBARGO,
                   "stockpiles": {"r": reserve(30.0, 100.0, lead_time_days=5)}})
    r = run(sc)
    out = given(r, 30.0)
    assert out[:21].sum() == 0.0
    np.testing.assert_allclose(out[21:51], 1.0, rtol=0, atol=1e-12)  # 30 days of 1 t
    assert out[51:].sum() == 0.0
    np.testing.assert_allclose(r.released[26:, 0], out[21:-5], rtol=0, atol=1e-12)
    assert r.released[:26].sum() == 0.0


def test_release_stops_at_the_level_held():
    # 1.3 t/day: on hand 40 - 11 x 1.3 = 25.7 t < 26 t (20 days) on day 11 -> 0.3 t, then
    # 1.3 t a day on days 12..18 (9.4 t in all), and on day 19 the 0.6 t left, not 1.3 t.
    b = {**BUYER, "demand": {"t_per_year": 365.0 * 1.3, "cv": 0.0}}
    r = run(scenario({"buyers": {"b": b}, **EMBARGO, "stockpiles": {"r": reserve(10.0, 3.0)}}))
    out = given(r, 10.0)
    expected = np.zeros(len(out))
    expected[11], expected[12:19], expected[19] = 0.3, 1.3, 0.6
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-9)
    assert r.stockpile.min() == pytest.approx(0.0, abs=1e-9) and r.stockpile.min() >= 0.0
    assert r.released.sum() == pytest.approx(10.0, abs=1e-9)


def test_priority_release_serves_the_sector_listed_first():
    # Wind and automotive both fall below 20 days on day 21 and then need 1 t a day each;
    # the reserve gives 1 t a day, by priority in the order listed: all of it to wind.
    buyers = {"a": BUYER, "w": {**BUYER, "sector": "wind"}}
    rule = reserve(100.0, 1.0, sectors=("wind", "automotive"), allocation="priority")
    r = run(scenario({"buyers": buyers, **EMBARGO, "stockpiles": {"r": rule}}))
    assert r.released[:, 0].sum() == 0.0  # automotive, listed second
    np.testing.assert_allclose(r.released[21:121, 1], 1.0, rtol=0, atol=1e-12)  # 100 t
    assert r.released[:21, 1].sum() == 0.0 and r.released[121:].sum() == 0.0
