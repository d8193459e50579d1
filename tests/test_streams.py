"""Named random streams (DESIGN §3): draws depend on the seed, the replication and the
stream's name only, so inserting an entity anywhere leaves the others' draws unchanged."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import TINY, run, scenario
from scipy import stats

from simulator import compile_plan
from simulator.quantiles import delay_ppf
from simulator.streams import Streams
from simulator.supply import transit_days

US_LICENSING = {"date": "2025-02-03", "label": "controls", "source": "test",
                "set": {"gate.regions.US.regime.civil": "licensing",
                        "gate.regions.US.covered_share.civil": 0.8,
                        "gate.regions.US.approval_prob.civil": 0.5}}


def with_first(extra: dict, **overrides):
    """TINY with buyer ``aa_new`` inserted before the others (position 0)."""
    return scenario({**overrides, "buyers": {"aa_new": extra, **TINY["buyers"]}},
                    timeline=[US_LICENSING])


def test_a_buyer_inserted_first_leaves_the_others_demand_unchanged():
    base = run(scenario(timeline=[US_LICENSING]), 2)
    more = run(with_first(dict(TINY["buyers"]["us_auto"])), 2)
    np.testing.assert_array_equal(base.demand, more.demand[:, 1:])


def test_a_buyer_inserted_first_leaves_the_others_gate_draws_unchanged():
    # us_auto's covered / review / approval draws are its own: with reviewers enough that
    # nobody queues and ample dispatch capacity, a second US buyer under the same licensing
    # changes none of its decisions, so none of its deliveries.
    ov = {"gate.reviewers": 1000}
    base = run(scenario(ov, timeline=[US_LICENSING]), 1)
    more = run(with_first(dict(TINY["buyers"]["eu_wind"], region="US"), **ov), 1)
    assert base.denied[:, 0].sum() > 0 and more.denied[:, 0].sum() > base.denied[:, 0].sum()
    for name in ("received", "ordered", "licence_backlog", "unmet"):
        np.testing.assert_array_equal(getattr(base, name), getattr(more, name)[:, 1:],
                                      err_msg=name)


def test_seeds_and_replications_do_not_share_streams():
    draws = {(s, k): Streams(s, k).generator("demand/x").random(4).tolist()
             for s, k in [(11, 0), (11, 1), (12, 0)]}
    assert len({tuple(v) for v in draws.values()}) == 3  # seed 11 rep 1 is not seed 12 rep 0
    assert Streams(11, 1).generator("demand/x").random(4).tolist() == draws[11, 1]


def test_each_region_draws_transit_from_its_own_named_stream():
    d = {"dist": "lognormal", "mean": 20, "cv": 0.3, "min": 5}
    sc = scenario({"china.transit_days.EU": d})  # the same distribution as US
    plan = compile_plan(sc)
    t = transit_days(plan, Streams(11, 0))
    assert not np.array_equal(t[:, 0], t[:, 1])
    delay = sc.china.transit_days["US"]
    u = Streams(11, 0).generator("transit/US").random(plan.days)
    np.testing.assert_array_equal(t[:, 0], np.rint(delay_ppf(u, delay)))


def test_transit_days_round_to_the_nearest_day_without_bias():
    # fixed 20.6 days -> 21 every day (the nearest day, not 20)
    fixed = transit_days(compile_plan(scenario(
        {"china.transit_days.EU": {"dist": "fixed", "mean": 20.6}})), Streams(11, 0))
    assert (fixed[:, 1] == 21).all()
    # lognormal mean 20, cv 0.3 (sd 6; the floor of 5 is at z = -4.6, P = 2e-6): the whole
    # days drawn have mean sum_k k P(k - 1/2 <= X < k + 1/2) = 20.000 (scipy), matched within
    # 3 SE by 176,000 draws (SE 0.014; always rounding down would be 0.5 = 35 SE low)
    s2 = math.log1p(0.3**2)
    x = stats.lognorm(math.sqrt(s2), scale=20.0 * math.exp(-s2 / 2))
    k = np.arange(200)
    exact = float(k @ (x.cdf(k + 0.5) - x.cdf(k - 0.5)))
    assert exact == pytest.approx(20.0, abs=1e-6)
    plan = compile_plan(scenario())
    t = np.concatenate([transit_days(plan, Streams(11, k))[:, 0] for k in range(1000)])
    se = t.std() / math.sqrt(len(t))
    assert se < 0.02 and abs(t.mean() - exact) < 3 * se, (t.mean(), se)
