"""Each allocation rule splits short capacity as it says (DESIGN §2.1)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run, scenario

from simulator.allocation import WaitingLine, by_priority, in_order, pro_rata


def line(entries):
    w = WaitingLine(3)
    for b, t in entries:
        w.add(b, t)
    return w


def test_fifo_serves_oldest_first_and_splits_the_last_entry():
    w = line([(2, 4.0), (0, 3.0), (1, 5.0), (0, 2.0)])
    np.testing.assert_allclose(w.take(9.0, "fifo"), [3.0, 2.0, 4.0])
    assert [e for e in w.entries] == [[1, 3.0], [0, 2.0]]
    np.testing.assert_allclose(w.waiting, [2.0, 3.0, 0.0])


def test_pro_rata_gives_everyone_the_same_share_of_what_waits():
    w = line([(0, 6.0), (1, 2.0), (2, 4.0)])
    np.testing.assert_allclose(w.take(6.0, "pro_rata"), [3.0, 1.0, 2.0])
    np.testing.assert_allclose(w.waiting, [3.0, 1.0, 2.0])


def test_priority_serves_better_ranks_first_pro_rata_within():
    w = line([(0, 6.0), (1, 2.0), (2, 4.0)])
    rank = np.array([1, 0, 1])
    np.testing.assert_allclose(w.take(7.0, "priority", rank), [3.0, 2.0, 2.0])
    np.testing.assert_allclose(by_priority(1.0, np.array([5.0, 5.0]), np.array([0, 0])),
                               [0.5, 0.5])


def test_ample_capacity_takes_everything_under_every_rule():
    for rule in ("fifo", "pro_rata", "priority"):
        w = line([(0, 1.0), (1, 2.0)])
        np.testing.assert_allclose(w.take(10.0, rule, np.zeros(3)), [1.0, 2.0, 0.0])
        assert not w.entries and w.total == 0.0


def test_pure_splits():
    np.testing.assert_allclose(pro_rata(2.0, np.array([1.0, 3.0])), [0.5, 1.5])
    np.testing.assert_allclose(in_order(2.5, np.array([1.0, 3.0, 1.0])), [1.0, 1.5, 0.0])


@pytest.mark.parametrize("rule", ["fifo", "pro_rata", "priority"])
def test_short_china_capacity_in_the_model(rule):
    """Two buyers with equal demand, capacity for 60%: the rule decides who waits."""
    sc = scenario({
        "china.export_capacity_t_per_day": 1.2, "china.allocation": rule,
        "china.priority": ["wind"],
        "buyers.us_auto.demand": {"t_per_year": 365.0},
        "buyers.eu_wind.demand": {"t_per_year": 365.0},
        "buyers.eu_wind.shortage": "lost_sales",
        "buyers.us_auto.policy": {"kind": "base_stock", "order_up_to_t": 60.0,
                                  "review_period_days": 1},
        "buyers.eu_wind.policy": {"kind": "base_stock", "order_up_to_t": 60.0,
                                  "review_period_days": 1},
    })
    r = run(sc)
    late = slice(120, None)
    sent = r.dispatched[late].sum(0)  # regions US, EU
    assert sent.sum() == pytest.approx(1.2 * len(r.dispatched[late]), rel=1e-9)
    if rule == "priority":  # wind (EU) first: it gets its 1 t/day, auto the remaining 0.2
        assert sent[1] / sent.sum() == pytest.approx(1.0 / 1.2, rel=1e-6)
    elif rule == "pro_rata":  # each day: capacity x (what the buyer had waiting) / total
        waiting = r.awaiting_dispatch[119:-1]  # end of the day before: what the step sees
        expect = 1.2 * waiting / waiting.sum(1, keepdims=True)
        np.testing.assert_allclose(r.dispatched[late], expect, rtol=1e-9)
    else:  # equal arrival rates -> equal shares in the long run
        assert sent[0] / sent.sum() == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("rule", ["pro_rata", "priority"])
def test_short_supplier_output_split_by_its_priority(rule):
    """Two buyers each order 1 t/day from one plant making 1.2 t/day. With ``priority:
    [wind]`` wind gets its 1 t every day and auto the remaining 0.2 t; pro rata splits each
    day's output in proportion to what waits.
    """
    plant = {"region": "EU", "capacity_t_per_year": 1.2 * 365, "lead_time_days": 0,
             "allocation": rule, "priority": ["wind"]}
    policy = {"kind": "base_stock", "order_up_to_t": 60.0, "review_period_days": 1}
    sc = scenario({
        "suppliers": {"plant": plant},
        "buyers.us_auto.demand": {"t_per_year": 365.0},
        "buyers.eu_wind.demand": {"t_per_year": 365.0},
        "buyers.eu_wind.shortage": "lost_sales",
        "buyers.us_auto.policy": policy, "buyers.eu_wind.policy": policy,
        "buyers.us_auto.sourcing": {"china": 0.0, "plant": 1.0},
        "buyers.eu_wind.sourcing": {"china": 0.0, "plant": 1.0},
    })
    r = run(sc)
    late = slice(120, None)
    got = r.received[late]  # lead time 0: shipped tonnes arrive the same day
    np.testing.assert_allclose(got.sum(1), 1.2, rtol=1e-9)
    if rule == "priority":
        np.testing.assert_allclose(got[:, 1], 1.0, rtol=1e-9)  # wind first, in full
        np.testing.assert_allclose(got[:, 0], 0.2, rtol=1e-9, atol=1e-12)
    else:
        waiting = r.supplier_backlog[119:-1]  # end of the day before: what the step splits
        np.testing.assert_allclose(got, 1.2 * waiting / waiting.sum(1, keepdims=True),
                                   rtol=1e-9)
