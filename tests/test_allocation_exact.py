"""Exact splits of short capacity and what each waiting line keeps afterwards
(simulator/allocation.py)."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.allocation import (
    DenseLines,
    WaitingLine,
    WaitingLines,
    by_priority,
    in_order_rows,
    pro_rata,
)


def line(entries, n=3):
    w = WaitingLine(n)
    for b, t in entries:
        w.add(b, t)
    return w


def test_pro_rata_takes_each_buyers_oldest_entries_first():
    """Entries (0, 2), (1, 4), (0, 3): 9 t wait, 4.5 t of capacity is half of each buyer's:
    buyer 0 gets 2.5 (its 2 t entry whole, then 0.5 of its 3 t one), buyer 1 gets 2.
    Left: (1, 2) and (0, 2.5), in arrival order."""
    w = line([(0, 2.0), (1, 4.0), (0, 3.0)])
    np.testing.assert_allclose(w.take(4.5, "pro_rata"), [2.5, 2.0, 0.0])
    np.testing.assert_allclose(w.entries, [[1, 2.0], [0, 2.5]])
    np.testing.assert_allclose(w.waiting, [2.5, 2.0, 0.0])
    # what is left is then served oldest first: 3 t = buyer 1's 2 t, then 1 t of buyer 0's
    np.testing.assert_allclose(w.take(3.0, "fifo"), [1.0, 2.0, 0.0])
    np.testing.assert_allclose(w.entries, [[0, 1.5]])


def test_priority_leaves_entries_that_match_what_waits():
    """Ranks [1, 0, 1]; entries (0, 6), (1, 2), (2, 4); 5 t: rank 0 (buyer 1) takes 2,
    the 3 t left go 6:4 to buyers 0 and 2 (1.8, 1.2). Entries left: (0, 4.2), (2, 2.8)."""
    w = line([(0, 6.0), (1, 2.0), (2, 4.0)])
    np.testing.assert_allclose(w.take(5.0, "priority", np.array([1, 0, 1])), [1.8, 2.0, 1.2])
    np.testing.assert_allclose(w.entries, [[0, 4.2], [2, 2.8]])
    assert sum(t for _, t in w.entries) == pytest.approx(w.total)


def test_priority_three_ranks_stops_when_capacity_runs_out():
    """Ranks [2, 0, 1], need 3 each, 4 t: rank 0 gets 3, rank 1 the last 1, rank 2 none."""
    np.testing.assert_allclose(by_priority(4.0, np.full(3, 3.0), np.array([2, 0, 1])),
                               [0.0, 3.0, 1.0])


def test_pro_rata_exactly_enough_gives_everything():
    np.testing.assert_allclose(pro_rata(6.0, np.array([1.0, 2.0, 3.0])), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("rule", ["fifo", "pro_rata", "priority"])
def test_two_lines_stepped_together_equal_each_line_alone(rule):
    """WaitingLines over two lines gives, line by line, what a WaitingLine gives alone, over
    two rounds of short capacity (line 0: 4 then 3 t; line 1: 2 then 5 t)."""
    rank = np.array([1, 0, 1])
    batches = [[(0, 2.0), (1, 4.0), (0, 3.0)], [(2, 1.0), (2, 2.5), (1, 1.0)]]
    alone = [line(b) for b in batches]
    both = WaitingLines(3, lines=2)
    for r, b in enumerate(batches):
        for buyer, t in b:  # one entry at a time keeps the arrival order of each line
            both.add_batch(np.array([r * 3 + buyer]), np.array([t]))
    for caps in ([4.0, 2.0], [3.0, 5.0]):
        got = both.take(np.array(caps), rule, rank).reshape(2, 3)
        for r in range(2):
            np.testing.assert_allclose(got[r], alone[r].take(caps[r], rule, rank), atol=1e-12)
            np.testing.assert_allclose(both.rows[r], alone[r].waiting, atol=1e-12)


def test_in_order_rows_serves_index_order_per_row():
    """Row 0: 2.5 t over needs (1, 3, 1) -> (1, 1.5, 0); row 1: 4 t over (2, 1, 3) -> (2, 1, 1)."""
    got = in_order_rows(np.array([2.5, 4.0]), np.array([[1.0, 3.0, 1.0], [2.0, 1.0, 3.0]]))
    np.testing.assert_allclose(got, [[1.0, 1.5, 0.0], [2.0, 1.0, 1.0]])


def test_dense_lines_fifo_by_hand():
    """Two lines of 2 buyers; day rows (1, 2) then (3, 4) on line 0, (5, 0) then (1, 1) on
    line 1. Capacity (4, 5.5): line 0 takes the first row whole (3 t) and 1 t of the next,
    in buyer order (buyer 0); line 1 takes 5 t, then 0.5 of the next row (buyer 0)."""
    waiting = np.zeros(4)
    d = DenseLines(2, waiting, 2)
    d.add_all(np.array([1.0, 2.0, 5.0, 0.0]))
    d.add_all(np.array([3.0, 4.0, 1.0, 1.0]))
    got = d.take(np.array([4.0, 5.5]), np.ones(2, dtype=bool))
    np.testing.assert_allclose(got, [2.0, 2.0, 5.5, 0.0])
    np.testing.assert_allclose(waiting, [2.0, 4.0, 0.5, 1.0])
    got = d.take(np.array([2.5, 10.0]), np.ones(2, dtype=bool))
    np.testing.assert_allclose(got, [2.0, 0.5, 0.5, 1.0])
