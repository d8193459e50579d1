"""General licences, denials and decisions on exact one-buyer cases (simulator/licensing.py).

One buyer (ONE_BUYER): 3 t/day of demand without noise, base stock 100 t with 100 t on hand,
reviewed daily, so it orders 3 t from China every day from day 0. Day 0 is Mon 2025-01-06.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run, scenario
from test_gate import LICENSING, ONE_BUYER

LICENCE = {"gl": {"buyers": ["us_auto"], "expires": "2025-01-15"}}  # day 9, inclusive


@pytest.mark.parametrize("event_on", [None, "2025-01-15", "2025-01-10"])
def test_general_licence_covers_its_expiry_day_and_not_the_next(event_on):
    """Licensing, every shipment covered, 5-day reviews: under the licence (days 0..9, the
    expiry day included) the 3 t orders pass; the day-10 order is the first to wait. A
    timeline event (changing nothing) on the expiry day or before it changes none of this."""
    timeline = None if event_on is None else [
        {"date": event_on, "label": "noop", "source": "test",
         "set": {"gate.regions.US.approval_prob.civil": 1.0}}]
    sc = scenario({**ONE_BUYER, **LICENSING, "gate.shipment_t": 3.0,
                   "gate.review_working_days": {"dist": "fixed", "mean": 5.0},
                   "gate.general_licences": LICENCE, "horizon.end": "2025-02-28"},
                  timeline=timeline)
    r = run(sc)
    assert r.licence_backlog[:10, 0].tolist() == [0.0] * 10
    assert r.licence_backlog[10, 0] == 3.0
    assert r.applied[:, 0].sum() == r.ordered[:, 0].sum()


def test_embargo_overrides_a_general_licence():
    """Embargo with a valid licence: every order is denied at once and (on_denial: lose)
    lost; nothing is received."""
    sc = scenario({**ONE_BUYER, "gate.regions.US.regime.civil": "embargo",
                   "buyers.us_auto.on_denial": "lose", "gate.general_licences": LICENCE,
                   "horizon.end": "2025-02-28"})
    r = run(sc)
    assert r.received.sum() == 0.0
    np.testing.assert_allclose(r.lost_denied[:, 0], r.ordered[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.denied[:, 0], r.ordered[:, 0], rtol=0, atol=1e-12)


def test_regime_opened_while_waiting_approves_at_decision():
    """Licensing with approval 0 and 10-day reviews; the regime opens on day 7 (Mon
    2025-01-13), before any decision (the first is at W=10, day 12). Parameters at decision
    time apply: every decision approves, nothing is denied; the 7 days x 3 t filed before the
    opening are all approved."""
    reopen = {"date": "2025-01-13", "label": "open", "source": "test",
              "set": {"gate.regions.US.regime.civil": "open"}}
    sc = scenario({**ONE_BUYER, **LICENSING, "gate.shipment_t": 3.0, "gate.reviewers": 50,
                   "gate.regions.US.approval_prob.civil": 0.0,
                   "buyers.us_auto.on_denial": "lose",
                   "gate.review_working_days": {"dist": "fixed", "mean": 10.0},
                   "horizon.end": "2025-02-28"}, timeline=[reopen])
    r = run(sc)
    assert r.denied.sum() == 0.0 and r.lost_denied.sum() == 0.0
    assert r.approved[:, 0].sum() == 21.0


def test_reapply_holds_denied_tonnes_then_files_them_again():
    """Embargo until day 5 (Sat 2025-01-11), then open; denied tonnes are re-filed 5 days
    later. Orders of days 0..4 (3 t each) are denied at once and held: backlog at the end of
    day d is 3(d + 1) for d <= 4; on day d = 5..9 the day-(d - 5) shipment is re-filed and
    passes (open), so the backlog falls by 3 t a day to 0 on day 9."""
    reopen = {"date": "2025-01-11", "label": "open", "source": "test",
              "set": {"gate.regions.US.regime.civil": "open"}}
    sc = scenario({**ONE_BUYER, "gate.regions.US.regime.civil": "embargo",
                   "gate.reapply_after_days": 5, "gate.shipment_t": 3.0,
                   "buyers.us_auto.on_denial": "reapply", "horizon.end": "2025-02-28"},
                  timeline=[reopen])
    r = run(sc)
    np.testing.assert_allclose(r.licence_backlog[:12, 0],
                               [3, 6, 9, 12, 15, 12, 9, 6, 3, 0, 0, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.denied[:6, 0], [3, 3, 3, 3, 3, 0], rtol=0, atol=1e-12)
    assert r.lost_denied.sum() == 0.0


def test_shipments_split_with_the_remainder_last():
    """Orders of 3 t in shipments of at most 2 t: 2 + 1 t; all covered, one reviewer,
    reviews of 0.4 working days: the day's backlog after filing is the whole 3 t."""
    sc = scenario({**ONE_BUYER, **LICENSING, "gate.shipment_t": 2.0, "gate.reviewers": 1,
                   "gate.review_working_days": {"dist": "fixed", "mean": 0.4},
                   "horizon.end": "2025-01-31"})
    r = run(sc)
    assert r.licence_backlog[0, 0] == 3.0
    # the backlog and the dispatch line account for every ordered tonne
    np.testing.assert_allclose(r.on_order[:, 0], r.licence_backlog[:, 0]
                               + r.awaiting_dispatch[:, 0] + r.in_transit[:, 0], atol=1e-9)
