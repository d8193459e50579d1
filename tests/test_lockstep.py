"""Replications stepped together give each replication exactly its records alone."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CONTROLS, scenario
from test_invariants import busy

from simulator import compile_plan
from simulator.allocation import WaitingLine, WaitingLines
from simulator.model import Replication, simulate, simulate_batch


def assert_same(plan, reps, seed=None):
    batch = simulate_batch(plan, reps, seed)
    assert [r.replication for r in batch] == list(reps)
    for k, b in zip(reps, batch, strict=True):
        alone = simulate(plan, k, seed)
        for name in alone.array_names():
            a, x = getattr(alone, name), getattr(b, name)
            assert a.shape == x.shape and a.tobytes() == x.tobytes(), (k, name)


def test_busy_scenario_every_feature():
    """Controls, every denial handling, a supplier, a refilling stockpile, gray channel,
    substitution, lost sales and backorders."""
    assert_same(compile_plan(busy()), [0, 1, 2, 3, 4, 5])


@pytest.mark.parametrize("rule", ["fifo", "pro_rata", "priority"])
def test_short_china_capacity_under_each_rule(rule):
    sc = scenario({"china.export_capacity_t_per_day": 2.5, "china.allocation": rule,
                   "china.priority": ["wind"]}, timeline=[CONTROLS])
    assert_same(compile_plan(sc), [3, 1, 4])


@pytest.mark.parametrize("rule", ["fifo", "pro_rata", "priority"])
def test_short_supplier_under_each_rule(rule):
    plant = {"region": "EU", "capacity_t_per_year": 300.0, "lead_time_days": 5,
             "allocation": rule, "priority": ["wind"]}
    sc = scenario({"suppliers": {"plant": plant},
                   "buyers.us_auto.sourcing": {"china": 0.5, "plant": 0.5},
                   "buyers.eu_wind.sourcing": {"china": 0.4, "plant": 0.6},
                   "buyers.eu_wind.on_denial": "resource"}, timeline=[CONTROLS])
    assert_same(compile_plan(sc), [0, 1, 2, 3])


def test_reviewers_added_and_removed_by_the_timeline():
    more = {"date": "2025-03-03", "label": "more", "source": "test",
            "set": {"gate.reviewers": 6}}
    fewer = {"date": "2025-04-07", "label": "fewer", "source": "test",
             "set": {"gate.reviewers": 1, "gate.max_review_working_days": 15}}
    sc = scenario({"gate.reviewers": 2}, timeline=[CONTROLS, more, fewer])
    assert_same(compile_plan(sc), [0, 1, 2, 3, 4], seed=5)


def test_random_disruptions_run_one_by_one():
    strike = {"hazard_per_year": 6.0, "mean_duration_days": 10.0, "label": "strike",
              "source": "test", "set": {"china.export_capacity_t_per_day": 0.5}}
    sc = scenario({"disruptions": {"strike": strike}}, timeline=[CONTROLS])
    plan = compile_plan(sc)
    assert_same(plan, [0, 1, 2])
    with pytest.raises(ValueError, match="one by one"):
        Replication(plan, [0, 1])


def test_waiting_lines_serve_each_line_as_alone():
    """Random adds and takes on 4 lines at once match 4 single lines, bit for bit."""
    rng = np.random.default_rng(7)
    n, lines = 5, 4
    many = WaitingLines(n, lines=lines)
    single = [WaitingLine(n) for _ in range(lines)]
    for step in range(300):
        kind = rng.integers(3)
        if kind == 0:
            tonnes = rng.random(n * lines) * (rng.random(n * lines) < 0.6)
            many.add_all(tonnes, only_nonzero=True)
            for r, line in enumerate(single):
                line.add_all(tonnes[r * n:(r + 1) * n], only_nonzero=True)
        elif kind == 1:
            slots = rng.integers(0, n * lines, rng.integers(1, 12))
            tonnes = rng.random(len(slots)) * 3.0
            many.add_batch(slots, tonnes)
            for r, line in enumerate(single):
                mine = slots // n == r
                line.add_batch(slots[mine] - r * n, tonnes[mine])
        else:
            cap = float(rng.random() * 4.0)
            rule = ("fifo", "fifo", "pro_rata", "priority")[rng.integers(4)]
            rank = rng.integers(0, 3, n)
            got = many.take(cap, rule, rank).reshape(lines, n)
            for r, line in enumerate(single):
                assert got[r].tobytes() == line.take(cap, rule, rank).tobytes(), step
        assert many.waiting.tobytes() == np.concatenate([x.waiting for x in single]).tobytes()


def test_chunks_grow_into_lockstep_batches():
    """Chunks of ceil(sqrt(n)) replications, ceil(n/40)^2 from 121 on, at most LOCKSTEP; a
    comparison sizes them by its replications over all variants."""
    from simulator.ensemble import LOCKSTEP, plan_chunks

    def sizes(*args):
        chunks = plan_chunks(*args)
        assert chunks[0].start == 0 and all(
            a.stop == b.start for a, b in zip(chunks, chunks[1:], strict=False))
        return {c.stop - c.start for c in chunks}, chunks[-1].stop

    assert sizes(1) == ({1}, 1)
    assert sizes(20) == ({5}, 20)
    assert sizes(40) == ({7, 5}, 40)
    assert sizes(100) == ({10}, 100)
    assert sizes(160) == ({16}, 160)
    assert sizes(1000) == ({LOCKSTEP}, 1000)
    assert sizes(10, 90) == ({10}, 10)  # 9 variants x 10 replications
    assert sizes(6, 12) == ({4, 2}, 6)


def test_batch_size_follows_the_scenario_size(monkeypatch):
    """Big scenarios step fewer replications at a time; a chunk's results do not change."""
    from simulator import ensemble

    plan = compile_plan(busy())
    whole = ensemble.run_chunk(plan, ensemble.Chunk(0, 5), 3, 0)
    assert ensemble.batch_size(plan) == ensemble.LOCKSTEP
    monkeypatch.setattr(ensemble, "BATCH_BUYER_DAYS", 2 * len(plan.buyers) * plan.days)
    assert ensemble.batch_size(plan) == 2
    split = ensemble.run_chunk(plan, ensemble.Chunk(0, 5), 3, 0)
    for name in ("shortage", "gate", "monthly", "cover_hist", "backlog"):
        assert getattr(whole, name).tobytes() == getattr(split, name).tobytes(), name
