"""Exact, hand-computed cases of the review queue's cap and lapsing (simulator/reviews.py)
and of the statutory cap as the model applies it (simulator/licensing.py)."""

from __future__ import annotations

import numpy as np
from conftest import run, scenario
from test_gate import LICENSING, ONE_BUYER

from simulator.reviews import ReviewQueue
from simulator.schema import Delay

FIXED_5 = Delay(dist="fixed", mean=5.0)
FIXED_30 = Delay(dist="fixed", mean=30.0)


def file(q: ReviewQueue, n: int, w: float, cap: float) -> np.ndarray:
    ids = q.add(np.zeros(n, dtype=np.int64), np.full(n, 1.0), int(w), w, w + cap,
                np.full(n, 0.5), np.full(n, 0.5))
    q.file(ids)
    return ids


def test_review_longer_than_the_cap_is_decided_at_the_cap():
    """One reviewer, review 30 working days, cap 10: started at W=0, decided at W=10."""
    q = ReviewQueue(1)
    (a,) = file(q, 1, 0.0, 10.0)
    q.start_until(0.0, FIXED_30)
    assert q.apps.start_w[a] == 0.0 and q.apps.decided_w[a] == 10.0
    assert q.decided_until(9.99).tolist() == []
    assert q.decided_until(10.0).tolist() == [a]


def test_application_whose_reviewer_frees_exactly_at_its_deadline_lapses_unreviewed():
    """One reviewer. A (cap 45) reviews W=0..5. B filed at W=0 with cap 5 (deadline W=5):
    the reviewer frees at 5 = B's deadline, so B never starts; it is decided at W=5,
    unreviewed (start NaN), and the reviewer is still free at 5 for C (filed at 0, cap 45),
    which starts at 5 and is decided at 10."""
    q = ReviewQueue(1)
    (a,) = file(q, 1, 0.0, 45.0)
    (b,) = file(q, 1, 0.0, 5.0)
    (c,) = file(q, 1, 0.0, 45.0)
    q.start_until(0.0, FIXED_5)
    q.start_until(5.0, FIXED_5)
    assert q.decided_until(5.0).tolist() == [a, b]
    assert np.isnan(q.apps.start_w[b]) and q.apps.decided_w[b] == 5.0
    assert q.apps.start_w[c] == 5.0 and q.apps.decided_w[c] == 10.0


def test_queued_applications_past_their_cap_lapse_in_filing_order():
    """One reviewer busy W=0..30 (review 30, cap 45); four more filed at W=0 with cap 3 each:
    all four are decided at W=3 unreviewed, in filing order, and leave the queue."""
    q = ReviewQueue(1)
    (head,) = file(q, 1, 0.0, 45.0)
    rest = file(q, 4, 0.0, 3.0)
    q.start_until(0.0, FIXED_30)
    q.start_until(2.0, FIXED_30)
    assert q.decided_until(2.0).tolist() == [] and q.waiting.tolist() == [4]
    q.start_until(3.0, FIXED_30)
    assert q.decided_until(3.0).tolist() == rest.tolist()
    assert np.isnan(q.apps.start_w[rest]).all()
    assert q.waiting.tolist() == [0] and q.in_review.tolist() == [1]
    assert q.decided_until(30.0).tolist() == [head]


def test_application_behind_a_waiting_head_lapses_on_its_deadline():
    """One reviewer busy W=0..10 with A (review 10). B (cap 45) waits at the head and cannot
    start before 10; C behind it was filed with cap 3 (deadline W=3). At W=3 C lapses,
    unreviewed, while B still waits."""
    q = ReviewQueue(1)
    file(q, 1, 0.0, 45.0)
    (b,) = file(q, 1, 0.0, 45.0)
    (c,) = file(q, 1, 0.0, 3.0)
    ten = Delay(dist="fixed", mean=10.0)
    q.start_until(0.0, ten)
    q.start_until(3.0, ten)
    assert q.decided_until(3.0).tolist() == [c]
    assert q.apps.decided_w[c] == 3.0 and np.isnan(q.apps.start_w[c])
    assert q.waiting.tolist() == [1] and np.isnan(q.apps.start_w[b])


def test_model_decides_every_application_exactly_at_the_statutory_cap():
    """Review 30 working days > cap 10: every application in the model waits exactly 10
    working days from filing to decision (reviewed or not), so the mean wait recorded on every
    day with decisions is 10. Day 0 is Mon 2025-01-06; the 10th working day ends with Fri
    2025-01-17 (time 12, W = 10), so the first decisions are recorded on day 12."""
    sc = scenario({**ONE_BUYER, **LICENSING, "gate.reviewers": 2, "gate.shipment_t": 1.0,
                   "gate.review_working_days": {"dist": "fixed", "mean": 30.0},
                   "gate.max_review_working_days": 10.0,
                   "gate.regions.US.approval_prob.civil": 1.0,
                   "horizon.end": "2025-03-31"})
    r = run(sc)
    n = r.decisions
    assert n.sum() > 0
    some = n > 0
    np.testing.assert_allclose(r.review_wd_sum[some] / n[some], 10.0, rtol=0, atol=1e-9)
    assert int(np.flatnonzero(some)[0]) == 12
