"""Mean demand per day: trend and seasonality (DESIGN §2.2), before noise."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import scenario

from simulator import compile_plan


def test_seasonality_factor_follows_the_calendar_month():
    season = [1.2, 0.8] + [1.0] * 10  # Jan, Feb, then flat: mean 1
    m = compile_plan(scenario({"buyers.eu_wind.demand.seasonality": season})).demand_mean
    # eu_wind: 365 t/year = 1 t/day; day 0 is 6 Jan, day 26 is 1 Feb, day 54 is 1 Mar
    assert m[0, 1] == pytest.approx(1.2) and m[25, 1] == pytest.approx(1.2)
    assert m[26, 1] == pytest.approx(0.8) and m[53, 1] == pytest.approx(0.8)
    assert m[54, 1] == pytest.approx(1.0)


def test_trend_compounds_over_the_year():
    sc = scenario({"horizon.end": "2026-03-31", "buyers.us_auto.demand.trend_per_year": 0.1})
    m = compile_plan(sc).demand_mean[:, 0]
    # us_auto: 365,000 units x 2 kg = 2 t/day, growing 10% a year, compounded daily:
    # 2.2 a year on (day 365); half a year on 2 sqrt(1.1) = 2.0976, not 2.1 (linear)
    assert m[0] == pytest.approx(2.0) and m[365] == pytest.approx(2.2)
    np.testing.assert_allclose(m, 2.0 * 1.1 ** (np.arange(len(m)) / 365.0), rtol=1e-12)
