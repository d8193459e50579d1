"""The licence review queue on the working clock, by hand (simulator/reviews.py)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CONTROLS, scenario

from simulator import compile_plan
from simulator.model import simulate_batch
from simulator.reviews import Applications, ReviewQueue
from simulator.schema import Delay

FIXED_3 = Delay(dist="fixed", mean=3.0)
FIXED_5 = Delay(dist="fixed", mean=5.0)
FIXED_30 = Delay(dist="fixed", mean=30.0)


def file(q: ReviewQueue, n: int, w: float, cap: float, rep: int = 0) -> np.ndarray:
    """File ``n`` applications of replication ``rep`` at working time ``w``."""
    ids = q.add(np.zeros(n, dtype=np.int64), np.full(n, 5.0), int(w), w, w + cap,
                np.full(n, 0.5), np.full(n, 0.5), rep)
    q.file(ids)
    return ids


def test_fifo_two_reviewers_hand_computed():
    """Three applications at W=0, two reviewers, 3-day reviews: decided at 3, 3 and 6."""
    q = ReviewQueue(2)
    file(q, 3, 0.0, 45.0)
    q.start_until(0.0, FIXED_3)
    assert q.waiting.tolist() == [1] and q.in_review.tolist() == [2]
    q.start_until(2.0, FIXED_3)
    assert q.decided_until(2.0).tolist() == []
    q.start_until(3.0, FIXED_3)  # the third starts when the first two are decided
    assert q.decided_until(3.0).tolist() == [0, 1]
    assert q.waiting.tolist() == [0] and q.in_review.tolist() == [1]
    q.start_until(6.0, FIXED_3)
    assert q.decided_until(6.0).tolist() == [2]
    np.testing.assert_array_equal(q.apps.start_w[:3], [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(q.apps.decided_w[:3], [3.0, 3.0, 6.0])
    assert q.idle and q.in_review.tolist() == [0]


def test_added_reviewers_start_queued_applications_at_once():
    """One reviewer, 20 applications at W=0, 5-day reviews; 20 reviewers from W=7: the one
    in review ends at 10, the 18 still queued all start at 7 and end at 12."""
    q = ReviewQueue(1)
    file(q, 20, 0.0, 45.0)
    q.start_until(7.0, FIXED_5)
    assert q.decided_until(7.0).tolist() == [0]  # 0-5; 1 started at 5
    q.set_capacity(20, 7.0)
    q.start_until(7.0, FIXED_5)
    assert q.waiting.tolist() == [0] and q.in_review.tolist() == [19]
    assert q.decided_until(12.0).tolist() == list(range(1, 20))
    np.testing.assert_array_equal(q.apps.start_w[:20], [0.0, 5.0] + [7.0] * 18)
    np.testing.assert_array_equal(q.apps.decided_w[:20], [5.0, 10.0] + [12.0] * 18)


def test_removed_reviewers_leave_free_ones_first_and_finish_reviews():
    """Three reviewers busy until 5, one free from 0; down to 2 at W=1: the free one goes,
    the three reviews finish at 5, then only two of the queued applications start."""
    q = ReviewQueue(4)
    file(q, 3, 0.0, 45.0)
    q.start_until(0.0, FIXED_5)
    assert q.in_review.tolist() == [3]
    q.set_capacity(2, 1.0)
    file(q, 4, 1.0, 45.0)
    q.start_until(5.0, FIXED_5)
    assert q.waiting.tolist() == [2] and q.in_review.tolist() == [5]
    np.testing.assert_array_equal(q.apps.start_w[3:5], [5.0, 5.0])
    assert np.isnan(q.apps.start_w[5:7]).all()


def test_decisions_between_whole_days_are_collected_by_time():
    """A decision at W=2.5 is collected by a clock of 2.5, not 2.4."""
    q = ReviewQueue(1)
    file(q, 1, 0.0, 45.0)
    q.start_until(0.0, Delay(dist="fixed", mean=2.5))
    assert q.decided_until(2.4).tolist() == []
    assert q.decided_until(2.5).tolist() == [0]
    assert q.decided_until(9.0).tolist() == []


@pytest.mark.parametrize("reps", [1, 2])
def test_cap_cut_lets_an_application_behind_the_head_lapse(reps):
    """The cap is cut while an application waits: one filed later, behind it, reaches its
    (earlier) deadline first and is decided then, unreviewed; the head is not passed over.
    """
    q = ReviewQueue(1, reps)
    for r in range(reps):
        file(q, 2, 0.0, 45.0, r)  # the first takes the reviewer till W=30
    q.start_until(0.0, FIXED_30)
    last = reps - 1
    late = file(q, 1, 1.0, 5.0, last)  # the cap is now 5 working days: deadline W=6
    q.start_until(5.0, FIXED_30)
    assert q.decided_until(5.0).tolist() == []
    q.start_until(7.0, FIXED_30)
    assert q.decided_until(7.0).tolist() == late.tolist()
    assert q.apps.decided_w[late[0]] == 6.0 and np.isnan(q.apps.start_w[late[0]])
    assert q.waiting.tolist() == [1] * reps  # each second application still waits
    assert q.in_review.tolist() == [1] * reps


def test_dropping_decided_applications_changes_no_record(monkeypatch):
    """The table of applications drops decided ones when full (renumbering the rest):
    every record equals a run that keeps them all, alone and in a batch."""
    plan = compile_plan(scenario({"gate.shipment_t": 0.2, "horizon.end": "2026-06-30"},
                                 timeline=[CONTROLS]))
    dropped = []
    keep = Applications.keep
    monkeypatch.setattr(Applications, "keep",
                        lambda self, live: dropped.append(self.n - len(live)) or keep(self, live))
    compacted = simulate_batch(plan, [0, 1, 2])
    batch_dropped = len(dropped)
    compacted += simulate_batch(plan, [3])
    assert batch_dropped >= 1 and len(dropped) > batch_dropped and min(dropped) > 0
    monkeypatch.setattr(ReviewQueue, "_compact", lambda self: None)
    for k, rec in enumerate(compacted):
        (full,) = simulate_batch(plan, [k])
        for name in rec.array_names():
            assert getattr(rec, name).tobytes() == getattr(full, name).tobytes(), (k, name)
