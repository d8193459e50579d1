"""The licensing gate: regimes, review times in working days, decisions, denials."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from conftest import run, scenario

from simulator import compile_plan
from simulator.model import simulate_batch

ONE_BUYER = {
    "buyers": {"us_auto": {
        "region": "US", "sector": "automotive",
        "demand": {"t_per_year": 1095.0},  # 3 t/day, no noise
        "initial_stock_t": 100.0,
        "policy": {"kind": "base_stock", "order_up_to_t": 100.0, "review_period_days": 1}}},
}
LICENSING = {"gate.regions.US.regime.civil": "licensing",
             "gate.regions.US.covered_share.civil": 1.0}


def test_embargo_on_china_only_buyer_runs_out_exactly_when_stock_does():
    sc = scenario({**ONE_BUYER, "gate.regions.US.regime.civil": "embargo",
                   "buyers.us_auto.on_denial": "lose"})
    r = run(sc)
    unmet = r.unmet[:, 0]
    # 100 t at 3 t/day: days 0..32 served in full (99 t), day 33 gets the last 1 t
    assert np.all(unmet[:33] == 0.0)
    assert unmet[33] == pytest.approx(2.0, abs=1e-12)
    assert np.allclose(unmet[34:], 3.0)
    assert r.received.sum() == 0.0 and r.dispatched.sum() == 0.0
    assert r.denied.sum() == pytest.approx(r.ordered.sum())  # every order denied at once
    assert r.lost_denied.sum() == pytest.approx(r.ordered.sum())


def test_open_gate_with_ample_capacity_never_short():
    # Open gate, 1,000 t/day capacity, fixed transit (US 20 days, EU 10): stock at the end of
    # a day is at least the position after the last review whose order has arrived, less the
    # demand since. us_auto (45 days of cover x 2 t/day = 90 t, weekly review): the R + L + 1 =
    # 28 days that must be covered take 56 t on average, sd 0.3 x 2 x sqrt(28) = 3.2 t, so 90 t
    # is 10 sd above. eu_wind (sS, daily review): the position after a review exceeds s = 40 t
    # and the L + 1 = 11 days until an order arrives take 11 t, sd 0.5 x sqrt(11) = 1.7 t: 17
    # sd. The start is covered too (90 t and 60 t on hand, first arrivals on days 21 and 11).
    # Checked on the demand drawn as well, so zero unmet is guaranteed, not likely.
    sc = scenario({"china.transit_days.US": {"dist": "fixed", "mean": 20},
                   "buyers.us_auto.policy.target_days": 45,
                   "buyers.eu_wind.policy.order_up_to_t": 60.0,
                   "buyers.eu_wind.policy.reorder_point_t": 40.0})
    for r in simulate_batch(compile_plan(sc), range(40)):
        for j, (window, level) in enumerate([(28, 90.0), (11, 40.0)]):
            assert np.convolve(r.demand[:, j], np.ones(window), "valid").max() < level
        assert r.unmet.sum() == 0.0 and r.backorder.max() == 0.0
        assert r.demand.sum() > 0


def congested(**extra):
    return scenario({**ONE_BUYER, **LICENSING, "gate.reviewers": 1, "gate.shipment_t": 1.0,
                     "gate.review_working_days": {"dist": "lognormal", "mean": 2.0, "cv": 0.8,
                                                  "min": 1.5},
                     "gate.max_review_working_days": 12.0, **extra})


def test_no_decision_before_the_minimum_or_after_the_cap_in_working_days():
    sc = congested()
    r = run(sc, trace=True)
    cal = compile_plan(sc).calendar
    apps = r.applications
    assert len(apps) > 300
    waited = np.array([cal.between(filed, decided) for filed, _, decided, _, _ in apps])
    assert waited.min() >= 1.5 - 1e-9
    assert waited.max() <= 12.0 + 1e-9
    # the single reviewer is overloaded: many decisions hit the statutory cap exactly,
    # some of them without ever reaching a reviewer
    assert np.sum(np.isclose(waited, 12.0)) > 50
    assert any(math.isnan(start) for _, start, _, _, _ in apps)
    # decisions fall on working days only (the clock stands still on weekends): checked
    # against Python's calendar, not the model's (day 0 is Monday 6 January 2025)
    for _, _, decided, _, _ in apps[:200]:
        day = math.ceil(decided) - 1 if decided != int(decided) else int(decided) - 1
        assert (sc.horizon.start + dt.timedelta(days=day)).weekday() < 5


def test_a_parameter_changed_on_day_t_applies_to_decisions_after_t():
    t = 60
    event = {"date": "2025-03-07", "label": "approve", "source": "test",
             "set": {"gate.regions.US.approval_prob.civil": 1.0}}
    sc = scenario({**ONE_BUYER, **LICENSING, "gate.regions.US.approval_prob.civil": 0.0,
                   "gate.reviewers": 4}, timeline=[event])
    assert (sc.timeline[0].date - sc.horizon.start).days == t
    r = run(sc, trace=True)
    before = [ok for _, _, decided, _, ok in r.applications if decided <= t]
    after = [ok for _, _, decided, _, ok in r.applications if decided > t]
    assert before and after
    assert not any(before) and all(after)


def test_reviewers_added_by_an_event_take_every_queued_application_that_day():
    """One reviewer falls behind 3 applications a day; 1,000 from Monday 10 Mar 2025 (day
    63): nothing waits from that day, and all that waited are decided 5 working days on."""
    event = {"date": "2025-03-10", "label": "more reviewers", "source": "test",
             "set": {"gate.reviewers": 1000}}
    sc = scenario({**ONE_BUYER, **LICENSING, "gate.reviewers": 1, "gate.shipment_t": 1.0,
                   "gate.regions.US.approval_prob.civil": 1.0,
                   "gate.review_working_days": {"dist": "fixed", "mean": 5.0},
                   "gate.max_review_working_days": 100.0}, timeline=[event])
    assert (sc.timeline[0].date - sc.horizon.start).days == 63
    r = run(sc)
    queued = r.queue_applications
    assert queued[62] > 50 and queued[63] == 0
    # W(63) + 5 ends Friday 14 Mar: decided on day 68 with the day's own filings
    assert r.decisions[68] >= queued[62] + 1
    assert r.decisions[64:68].sum() <= 1  # only the review under way before the event


def test_embargo_denies_the_shipments_that_need_a_licence_and_passes_the_others():
    """covered_share 0.5 under embargo: each 1 t shipment is denied or dispatched at once
    (nothing waits for review), about half each."""
    r = run(scenario({**ONE_BUYER, "gate.regions.US.regime.civil": "embargo",
                      "gate.regions.US.covered_share.civil": 0.5, "gate.shipment_t": 1.0,
                      "buyers.us_auto.on_denial": "lose"}))
    ordered, denied = r.ordered.sum(), r.denied.sum()
    assert r.decisions.sum() == 0 and r.licence_backlog.max() == 0.0
    last = r.awaiting_dispatch[-1].sum()  # the last day's orders
    assert r.dispatched.sum() + denied + last == pytest.approx(ordered, rel=1e-12)
    assert denied / ordered == pytest.approx(0.5, abs=4 * 0.5 / np.sqrt(ordered))


def denial_case(action: str, **extra):
    base = {**ONE_BUYER, **LICENSING, "gate.regions.US.approval_prob.civil": 0.0,
            "gate.reviewers": 50, "gate.reapply_after_days": 10,
            "gate.review_working_days": {"dist": "fixed", "mean": 3.0},
            "buyers.us_auto.on_denial": action}
    return scenario({**base, **extra})


def test_reapply_files_again_after_the_delay():
    # One order only (review period past the horizon): 3 t on Monday, day 0, as shipments
    # of 2 t and 1 t. Reviews of 3 working days end on Wednesday night and are denied on day 3;
    # both are filed again 10 days later, on Sunday (day 13), reviewed Monday to Wednesday,
    # denied on day 17, filed again on day 27, ...: every 14 days, up to day 167 (the last
    # denial, on day 171, would re-file after the horizon).
    r = run(denial_case("reapply", **{"buyers.us_auto.policy.review_period_days": 500}),
            trace=True)
    assert r.ordered.sum() == 3.0
    filed = sorted(f for f, _, _, _, _ in r.applications)
    assert filed == [0, 0] + sorted(2 * list(range(13, 176, 14)))
    denied = sorted(d for _, _, d, _, ok in r.applications if not ok)
    assert denied == sorted(2 * list(range(3, 176, 14)))
    assert r.lost_denied.sum() == 0.0
    assert r.licence_backlog[-1, 0] == 3.0  # all of it still awaits a licence


def test_approvals_are_dispatched_the_step_they_are_collected():
    # 3 t filed every day, reviews of 3 working days, approved. A filing on Monday is
    # decided at the end of Wednesday and dispatched on Thursday (day 3); Tuesday's on Friday,
    # Wednesday's on Saturday; Thursday's and Friday's on Tuesday and Wednesday; Saturday's,
    # Sunday's and Monday's (reviewed Monday to Wednesday) on Thursday.
    sc = scenario({**ONE_BUYER, **LICENSING, "gate.regions.US.approval_prob.civil": 1.0,
                   "gate.review_working_days": {"dist": "fixed", "mean": 3.0},
                   "gate.reviewers": 100})
    r = run(sc)
    first = [0, 0, 0, 3, 3, 3, 0]  # Mon .. Sun of the first week
    week = [0, 3, 3, 9, 3, 3, 0]
    np.testing.assert_allclose(r.dispatched[:35, 0], first + 4 * week, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.dispatched, r.approved, rtol=0, atol=1e-9)


def test_resource_sends_denied_tonnes_to_the_ex_china_supplier():
    supplier = {"region": "EU", "capacity_t_per_year": 10_000.0, "lead_time_days": 5}
    r = run(denial_case("resource", **{"suppliers": {"plant": supplier},
                                        "buyers.us_auto.resource_to": "plant",
                                        "gate.regions.EU": {}}))
    denied = r.denied.sum()
    assert denied > 0
    shipped, waiting = r.supplier_shipped.sum(), r.supplier_backlog[-1].sum()
    assert shipped + waiting == pytest.approx(denied, rel=1e-9)
    assert r.lost_denied.sum() == 0.0


def test_lose_gives_denied_tonnes_up_and_leak_goes_through_the_gray_channel():
    r = run(denial_case("lose", **{"gray_channel": {"leak_share": 0.25, "delay_days": 7,
                                                    "premium_usd_per_kg": 40.0}}))
    denied = r.denied.sum()
    assert r.lost_denied.sum() == pytest.approx(0.75 * denied, rel=1e-9)
    arrived_gray = r.received_gray.sum()
    in_flight = 0.25 * r.denied[-7:].sum()  # denied in the last 7 days: not arrived yet
    assert arrived_gray == pytest.approx(0.25 * denied - in_flight, rel=1e-9)
    assert r.premium_usd.sum() == pytest.approx(0.25 * denied * 1000 * 40.0, rel=1e-9)


def test_general_licence_skips_review_until_it_expires():
    lic = {"gl": {"buyers": ["us_auto"], "expires": "2025-03-31"}}
    r = run(scenario({**ONE_BUYER, **LICENSING, "gate.general_licences": lic,
                      "gate.regions.US.approval_prob.civil": 0.0}), trace=True)
    first = min(f for f, _, _, _, _ in r.applications)
    assert first == (np.datetime64("2025-04-01") - np.datetime64("2025-01-06")).astype(int)
    assert r.unmet[:80].sum() == 0.0


def test_embargo_overrides_a_general_licence_at_filing_and_refiling():
    """A buyer under embargo is denied whatever its general licence, on first filing and
    when it re-files: with an embargo the licence changes nothing.
    """
    lic = {"gl": {"buyers": ["us_auto"], "expires": "2026-12-31"}}
    base = {**ONE_BUYER, "gate.regions.US.regime.civil": "embargo"}
    for action in ("lose", "reapply"):
        plain = run(scenario({**base, "buyers.us_auto.on_denial": action}))
        licensed = run(scenario({**base, "buyers.us_auto.on_denial": action,
                                 "gate.general_licences": lic}))
        assert licensed.received.sum() == 0.0 and licensed.dispatched.sum() == 0.0
        assert licensed.denied.sum() > 0.0
        for name in ("unmet", "denied", "lost_denied", "licence_backlog"):
            np.testing.assert_array_equal(getattr(licensed, name), getattr(plain, name))
