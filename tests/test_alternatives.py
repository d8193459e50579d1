"""The gray channel and substitution on exact one-buyer cases (simulator/model.py,
simulator/supply.py, simulator/buyers.py).

One buyer (ONE_BUYER): 3 t/day of demand without noise, base stock 100 t, reviewed daily, so
it orders 3 t from China every day from day 0, under an embargo: each order is denied on the
day it is filed. Day 0 is Mon 2025-01-06.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run, scenario
from test_gate import ONE_BUYER

EMBARGO = {**ONE_BUYER, "gate.regions.US.regime.civil": "embargo", "gate.shipment_t": 3.0,
           "horizon.end": "2025-03-31"}
GRAY = {"leak_share": 0.25, "delay_days": 7, "premium_usd_per_kg": 40.0}


def test_gray_leak_arrives_after_its_delay_at_its_premium_and_the_rest_is_lost():
    """Each day's 3 t denial: 0.75 t leaks and arrives 7 days later; it costs 0.75 t x
    1000 kg/t x 40 USD/kg = 30,000 USD on the day of denial; the other 2.25 t are lost."""
    r = run(scenario({**EMBARGO, "buyers.us_auto.on_denial": "lose", "gray_channel": GRAY}))
    np.testing.assert_allclose(r.denied[:, 0], r.ordered[:, 0], rtol=0, atol=1e-12)
    denied = r.denied[:, 0]
    assert denied[0] == 3.0
    np.testing.assert_allclose(r.received_gray[7:, 0], 0.25 * denied[:-7], rtol=0, atol=1e-12)
    assert r.received_gray[:7].sum() == 0.0
    np.testing.assert_allclose(r.received[:, 0], r.received_gray[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.premium_usd[:, 0], 0.25 * denied * 40_000.0, rtol=1e-12)
    np.testing.assert_allclose(r.lost_denied[:, 0], 0.75 * denied, rtol=0, atol=1e-12)
    # on order = in transit (the leak on its way): nothing waits for a licence
    np.testing.assert_allclose(r.on_order[:, 0], r.in_transit[:, 0], rtol=0, atol=1e-9)


def test_gray_leak_and_reapplication_split_a_denial():
    """With reapply (after 14 days), the 2.25 t not leaked are held: the backlog at the end
    of day d <= 13 is 2.25 (d + 1), and every ordered tonne is on order somewhere."""
    r = run(scenario({**EMBARGO, "buyers.us_auto.on_denial": "reapply", "gray_channel": GRAY}))
    np.testing.assert_allclose(r.licence_backlog[:14, 0], 2.25 * np.arange(1, 15), rtol=0,
                               atol=1e-9)
    parts = r.licence_backlog + r.awaiting_dispatch + r.in_transit
    np.testing.assert_allclose(r.on_order, parts, atol=1e-9)


def test_gray_leak_with_resourcing_orders_only_the_rest():
    """Re-sourcing to a 2-day plant: of each 3 t denial, 0.75 t leaks and 2.25 t are ordered
    from the plant, which ships them the next step and delivers 2 days later."""
    plant = {"region": "US", "capacity_t_per_year": 100_000.0, "lead_time_days": 2}
    r = run(scenario({**EMBARGO, "suppliers": {"p": plant},
                      "buyers.us_auto.on_denial": "resource",
                      "buyers.us_auto.resource_to": "p", "gray_channel": GRAY}))
    np.testing.assert_allclose(r.supplier_shipped[1:, 0], 0.75 * r.denied[:-1, 0], rtol=0,
                               atol=1e-9)
    parts = r.licence_backlog + r.awaiting_dispatch + r.in_transit + r.supplier_backlog
    np.testing.assert_allclose(r.on_order, parts, atol=1e-9)


SUB = {"trigger_cover_days": 20, "max_share": 0.5, "lead_days": 10}


def test_substitution_starts_the_day_after_cover_falls_strictly_below_the_trigger():
    """99 t on hand, 3 t/day, nothing arrives (embargo, lose): at the end of day d the stock
    is 96 - 3d, cover 32 - d days; it equals the 20-day trigger on day 12 and falls below it
    on day 13, so substitution starts on day 13: share 0.5 x (d - 13) / 10, capped at 0.5."""
    r = run(scenario({**EMBARGO, "buyers.us_auto.initial_stock_t": 99.0,
                      "buyers.us_auto.on_denial": "lose", "buyers.us_auto.substitution": SUB}))
    d = np.arange(len(r.substituted_share))
    expect = 0.5 * np.clip((d - 13) / 10.0, 0.0, 1.0)
    np.testing.assert_allclose(r.substituted_share[:, 0], expect, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.demand[:, 0], 3.0 * (1.0 - expect), rtol=1e-12)


def test_days_of_cover_orders_on_the_substituted_forecast():
    """A days_of_cover buyer (40 days) that substitutes: S = 40 x forecast x (1 - share), and
    under an embargo with lost denials the position is the stock on hand, so each day's
    order is max(0, S - stock at the end of the day)."""
    sc = scenario({**EMBARGO, "buyers.us_auto.on_denial": "lose",
                   "buyers.us_auto.policy": {"kind": "days_of_cover", "target_days": 40,
                                             "review_period_days": 1},
                   "buyers.us_auto.substitution": SUB})
    r = run(sc)
    share = r.substituted_share[:, 0]
    assert share.max() == pytest.approx(0.5)
    expect = np.maximum(0.0, 40 * 3.0 * (1.0 - share) - r.inventory[:, 0])
    np.testing.assert_allclose(r.ordered[:, 0], expect, rtol=0, atol=1e-9)
