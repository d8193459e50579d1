"""Analytic oracles a correct model must match (DESIGN §10).

Each stochastic check runs fixed seeds over independent replications, takes one estimate per
replication, and asserts ``|mean - exact| < 3 SE`` with SE = sd / sqrt(replications); it also
asserts that SE is small enough for the check to have power. Comments give the values seen
when the file was written. Horizons start on Monday 2001-01-01.
"""

from __future__ import annotations

import functools
import math
from functools import reduce
from typing import Any

import numpy as np
import pytest
from conftest import run, scenario
from scipy import linalg, stats

from simulator import Records, compile_plan

MONDAY = "2001-01-01"


def world(buyer: dict[str, Any], end: str, gate: dict[str, Any] | None = None,
          transit_days: float = 4.0, seed: int = 1, **extra: Any) -> dict[str, Any]:
    """One region ``US``, one buyer ``b``, ample China capacity, fixed transit (days)."""
    return {
        "name": "oracle", "horizon": {"start": MONDAY, "end": end}, "seed": seed,
        "gate": {"regions": {"US": {}}, **(gate or {})},
        "china": {"export_capacity_t_per_day": 1e6,
                  "transit_days": {"US": {"dist": "fixed", "mean": transit_days}}},
        "buyers": {"b": {"region": "US", "sector": "industrial", **buyer}},
        **extra,
    }


def check(estimates: list[float], exact: float, max_se: float) -> tuple[float, float]:
    """Assert the replication mean is within 3 SE of ``exact`` and SE <= ``max_se``."""
    x = np.asarray(estimates)
    mean, se = float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))
    assert se <= max_se, f"SE {se:.4g} too large for a meaningful check"
    assert abs(mean - exact) < 3 * se, f"measured {mean:.5g} vs exact {exact:.5g} (SE {se:.3g})"
    return mean, se


# --- 1. The licence queue -------------------------------------------------------------------


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C): P(wait) / (c mu - lam)."""
    a = lam / mu
    tail = a**c / math.factorial(c) / (1.0 - a / c)
    p_wait = tail / (sum(a**k / math.factorial(k) for k in range(c)) + tail)
    return p_wait / (c * mu - lam)


def batch_queue_wait(cycle: list[tuple[np.ndarray, float]], mu: float, c: int,
                     n_max: int = 200) -> float:
    """Mean wait in queue of a FIFO queue with ``c`` exponential(``mu``) servers fed by batches
    at fixed epochs, exactly (up to truncating the state at ``n_max``).

    ``cycle`` repeats forever: at each epoch a batch arrives whose size has pmf ``pmf[k]``,
    then ``gap`` time passes. Between epochs the number in system N is a pure-death chain
    (rate min(N, c) mu), so its transition matrix is expm(Q gap); adding a batch shifts N.
    The stationary N just before the cycle's first epoch is the fixed point of the product of
    these matrices. A customer who finds m in system (earlier ones of its batch included)
    waits for m - c + 1 departures at rate c mu if m >= c, so a batch of k arriving to n
    waits sum_{j<k} (n + j - c + 1)^+ / (c mu) in total; the mean wait is the expected total
    per cycle over the expected arrivals per cycle. As the gap goes to 0 with Poisson(lam
    gap) batches this tends to Erlang C (see ``test_batch_oracle_tends_to_erlang_c``).
    """
    n = np.arange(n_max + 1)
    rate = np.minimum(n, c) * mu
    q = np.diag(-rate)
    q[n[1:], n[1:] - 1] = rate[1:]
    steps = []
    for pmf, gap in cycle:
        add = np.zeros((n_max + 1, n_max + 1))
        for k, p in enumerate(pmf):
            np.add.at(add, (n, np.minimum(n + k, n_max)), p)
        steps.append(add @ linalg.expm(q * gap))
    balance = reduce(np.matmul, steps).T - np.eye(n_max + 1)  # x (P - I) = 0, sum x = 1
    balance[-1] = 1.0
    x = np.linalg.solve(balance, np.r_[np.zeros(n_max), 1.0])
    assert x[n_max - 20:].sum() < 1e-12, "n_max too small for this load"
    total = arrivals = 0.0
    for (pmf, _), step in zip(cycle, steps, strict=True):
        ahead = np.maximum(n[:, None] + np.arange(len(pmf) - 1) - c + 1, 0)
        batch_total = np.hstack([np.zeros((n_max + 1, 1)), ahead.cumsum(axis=1)])  # [n, k]
        total += x @ batch_total @ pmf / (c * mu)
        arrivals += np.arange(len(pmf)) @ pmf
        x = x @ step
    return total / arrivals


def test_batch_oracle_tends_to_erlang_c():
    """The batch oracle itself: Poisson(lam h) batches every h -> M/M/c as h -> 0."""
    lam, mu, c, h = 2.0, 1 / 1.5, 4, 0.02
    pmf = stats.poisson.pmf(np.arange(12), lam * h)
    exact = erlang_c_wait(lam, mu, c)  # 0.76415
    assert batch_queue_wait([(pmf, h)], mu, c) == pytest.approx(exact, rel=1e-4)
    pmf1 = stats.poisson.pmf(np.arange(40), lam)
    assert batch_queue_wait([(pmf1, 1.0)], mu, c) > 1.05 * exact  # daily batches: 0.811


@pytest.mark.slow
def test_licence_queue_wait_matches_batch_markov_chain():
    """Mean wait for a reviewer, in working days, equals the exact batch-queue value.

    Why not Erlang C directly: applications are filed only at the daily step, i.e. at whole
    days, so they never form a Poisson process in continuous time. On the working-day clock
    (the only clock on which reviews progress) they arrive in batches at whole working days:
    Tuesday..Friday bring that day's filings, Monday brings Saturday's, Sunday's and Monday's
    (the clock stands still over the weekend; FIFO order is kept). Reviews are exponential in
    working days (gamma, cv 1) and the cap never binds, so the queue on that clock is exactly
    the batch queue of :func:`batch_queue_wait` with a 5-epoch weekly cycle, which tends to
    Erlang C as batches become small and frequent. Here the difference is large, so the test
    tells the two apart: exact 0.528, Erlang C with the same load 0.832.

    Arrivals: one buyer, base stock reviewed daily with backorders, so each day's order equals
    that day's demand D ~ exponential(mean mu) (gamma, cv 1). It is cut into shipments of
    s tonnes, so a day brings ceil(D / s) applications: geometric on {1, 2, ...} with
    P(k) = (1 - q) q^(k-1), q = exp(-s / mu). Every shipment is covered and approved.
    """
    mu_t, ship_t, reviewers, review_wd = 1.0, 2.0, 2, 0.865
    doc = world({"shortage": "backorder",
                 "demand": {"t_per_year": 365.0 * mu_t, "cv": 1.0, "dist": "gamma"},
                 "policy": {"kind": "base_stock", "order_up_to_t": 10.0,
                            "review_period_days": 1}},
                end="2003-12-31", seed=3,
                gate={"shipment_t": ship_t, "reviewers": reviewers,
                      "max_review_working_days": 1e6,
                      "review_working_days": {"dist": "gamma", "mean": review_wd, "cv": 1.0},
                      "regions": {"US": {"regime": {"civil": "licensing"},
                                         "covered_share": {"civil": 1.0},
                                         "approval_prob": {"civil": 1.0}}}})
    sc = scenario(base=doc)
    plan = compile_plan(sc)
    q = math.exp(-ship_t / mu_t)
    k = np.arange(60)
    day = np.where(k > 0, (1 - q) * q ** (k - 1.0), 0.0)
    monday = np.convolve(np.convolve(day, day), day)[: len(k)]
    exact = batch_queue_wait([(monday, 1.0)] + [(day, 1.0)] * 4, 1 / review_wd, reviewers)
    lam = 7 / 5 / (1 - q)  # mean applications per working day
    assert exact == pytest.approx(0.5280, abs=1e-4)
    assert lam * review_wd / reviewers == pytest.approx(0.70, abs=0.01)  # load per reviewer
    assert erlang_c_wait(lam, 1 / review_wd, reviewers) == pytest.approx(0.8323, abs=1e-4)

    first, weeks = 28, (plan.days - 28 - 63) // 7  # whole weeks, 63 days to finish reviews
    means = []
    for rep in range(30):
        r = run(sc, rep, trace=True)
        apps = np.array([a[:3] for a in r.applications])
        # the arrival process is the one assumed: orders = demand, ceil(order / s) filings
        np.testing.assert_allclose(r.ordered[:, 0], r.demand[:, 0], rtol=1e-9, atol=1e-9)
        filed = np.bincount(apps[:, 0].astype(int), minlength=plan.days)
        window = slice(first, first + 7 * weeks)
        np.testing.assert_array_equal(filed[window], np.ceil(r.ordered[window, 0] / ship_t))
        mine = apps[(apps[:, 0] >= first) & (apps[:, 0] < first + 7 * weeks)]
        means.append(np.mean([plan.calendar.between(f, s) for f, s, _ in mine]))
    # measured 0.5161 vs 0.5280, SE 0.0165 (Erlang C, 0.8323, is 19 SE away)
    check(means, exact, max_se=0.03)


# --- 2. Base stock with normal demand -------------------------------------------------------


def normal_loss(s: float, k: int, mu: float, sigma: float) -> float:
    """n_k(S) = E[(D_k - S)^+] for D_k ~ N(k mu, k sigma^2); D_0 = 0."""
    if k == 0:
        return max(-s, 0.0)
    sd = sigma * math.sqrt(k)
    z = (s - k * mu) / sd
    return sd * (stats.norm.pdf(z) - z * stats.norm.sf(z))


@pytest.mark.slow
@pytest.mark.parametrize(("lead", "z"), [(1, 1.0), (4, -1.0)])
def test_base_stock_in_stock_and_fill_rate(lead: int, z: float):
    """In-stock probability and fill rate of base stock S with daily review and backorders.

    Timing (model.py): an order placed on day t arrives on day t + 1 + L, so the net
    inventory at the end of day t + 1 + L is S - D(t+1 .. t+1+L): the protection interval is
    tau = L + 1 days. Hence

    - in-stock = P(no backorder at the end of a day) = P(D_tau <= S) = Phi((S - mu tau) /
      (sigma sqrt(tau)));
    - fill rate = 1 - E[unmet] / mu with unmet = the part of a day's demand not served that
      day = min(D_day, backorder) = (D_tau - S)^+ - (D_{tau-1} - S)^+ (backorders are served
      oldest first), so E[unmet] = n_tau(S) - n_{tau-1}(S).

    Demand is normal truncated at 0 with cv 0.25: P(truncation) = Phi(-4) = 3e-5 and the mean
    moves by mu cv L(4) ~ 2e-6 mu, far below the SE. Warm-up: 30 days (steady from day L+1).
    """
    mu, cv = 1.0, 0.25
    sigma, tau = cv * mu, lead + 1
    s = mu * tau + z * sigma * math.sqrt(tau)
    doc = world({"shortage": "backorder",
                 "demand": {"t_per_year": 365.0 * mu, "cv": cv, "dist": "normal"},
                 "policy": {"kind": "base_stock", "order_up_to_t": s, "review_period_days": 1}},
                end="2005-12-31", transit_days=lead, seed=5)
    sc = scenario(base=doc)
    in_stock, fill = [], []
    for rep in range(24):
        r = run(sc, rep)
        bo, unmet, demand = r.backorder[30:, 0], r.unmet[30:, 0], r.demand[30:, 0]
        in_stock.append(np.mean(bo <= 1e-9))
        fill.append(1.0 - unmet.sum() / demand.sum())
    exact_in = stats.norm.cdf(z)
    exact_fill = 1.0 - (normal_loss(s, tau, mu, sigma) - normal_loss(s, tau - 1, mu, sigma)) / mu
    # measured (L, z) = (1, 1): in-stock .8421 vs .8413 (SE .0018), fill .9709 vs .9705
    # (SE .0005); (4, -1): in-stock .1612 vs .1587 (SE .0032), fill .4497 vs .4463 (SE .0033)
    check(in_stock, exact_in, max_se=0.005)
    check(fill, exact_fill, max_se=0.005)


# --- 3. A two-state Markov on/off gate ------------------------------------------------------

ALPHA, BETA = 0.05, 0.1  # daily probabilities that the gate closes / reopens
LEAD = 1  # transit days
COVERS = (2, 15)  # base stock S = (LEAD + k) d for k in COVERS, one buyer each
WARM_UP = 200  # days; the chain starts open and forgets it at rate (1 - ALPHA - BETA)^n


@functools.cache
def markov_gate_runs() -> tuple[Records, ...]:
    """Replications of a gate that an embargo closes with probability ALPHA per open day and
    that reopens with probability BETA per closed day. Buyers: deterministic demand d = 1
    t/day, base stock S = (LEAD + k) d, daily review, backorders; a denied order is lost, so
    the next review orders it again."""
    closure = {"hazard_per_year": -365.0 * math.log1p(-ALPHA),  # start prob = 1 - e^(-h/365)
               "mean_duration_days": 1.0 / BETA,
               "set": {"gate.regions.US.regime.civil": "embargo"},
               "label": "embargo", "source": "assumption: oracle"}
    buyer = {"region": "US", "sector": "industrial", "shortage": "backorder",
             "on_denial": "lose", "demand": {"t_per_year": 365.0, "cv": 0.0}}
    doc = world({}, end="2005-12-31", transit_days=LEAD, seed=9,
                disruptions={"closure": closure})
    doc["buyers"] = {f"k{k}": {**buyer, "policy": {"kind": "base_stock", "review_period_days": 1,
                                                  "order_up_to_t": float(LEAD + k)}}
                     for k in COVERS}
    sc = scenario(base=doc)
    return tuple(run(sc, rep) for rep in range(24))


@pytest.mark.slow
def test_markov_gate_availability():
    """Share of days the gate lets orders through = beta / (alpha + beta) = 2/3.

    Closed days are read from the gate's behaviour (that day's orders are denied), not from
    the drawn chain; the two must agree day by day. Per 5-year replication the asymptotic sd
    of the open share is sqrt(pi_o pi_c (2 - alpha - beta) / (alpha + beta) / n) = 0.039.
    """
    open_share = []
    for r in markov_gate_runs():
        closed = r.denied[WARM_UP:, 0] > 0.0
        assert (r.ordered[WARM_UP:] > 0.0).all()
        np.testing.assert_array_equal(r.lost_denied[WARM_UP:] > 0.0, closed[:, None]
                                      .repeat(len(COVERS), 1))
        np.testing.assert_array_equal(closed, r.disrupted[WARM_UP:, 0] > 0.0)
        open_share.append(1.0 - closed.mean())
    # measured 0.6759 vs 0.6667, SE 0.0061
    check(open_share, BETA / (ALPHA + BETA), max_se=0.015)


@pytest.mark.slow
@pytest.mark.parametrize("j", range(len(COVERS)))
def test_newsvendor_with_disruptions_cost(j: int):
    """Holding and backorder cost of base stock under the on/off gate (Snyder & Shen,
    *Fundamentals of Supply Chain Theory*, ch. 9: the newsvendor with disruptions).

    Demand d per day is deterministic. An order filed on day u with the gate open arrives on
    day u + 1 + L, and a review on an open day brings the inventory position back to S, while
    on a closed day the order is lost and the position keeps falling by d. So with M_u the
    number of consecutive closed days ending on day u (0 if day u is open), the net inventory
    at the end of day t is S - d (L + 1 + M_{t-1-L}); write S = (L + k) d. In steady state
    P(M >= n) = pi_c (1 - beta)^(n-1) for n >= 1, with pi_c = alpha / (alpha + beta), so

        P(backorder at the end of a day) = P(M >= k) = pi_c (1 - beta)^(k-1),
        E[backorder] = d sum_{n>=k} P(M >= n) = d pi_c (1 - beta)^(k-1) / beta,
        E[on hand]   = S - d (L + 1 + E[M]) + E[backorder],   E[M] = pi_c / beta,

    and the expected cost per day is h E[on hand] + p E[backorder].
    """
    d, h, p, k = 1.0, 1.0, 9.0, COVERS[j]
    pi_c = ALPHA / (ALPHA + BETA)
    short = pi_c * (1 - BETA) ** (k - 1)
    backorder = d * short / BETA
    on_hand = (LEAD + k) * d - d * (LEAD + 1 + pi_c / BETA) + backorder
    cost, shortage = [], []
    for r in markov_gate_runs():
        inv, bo = r.inventory[WARM_UP:, j], r.backorder[WARM_UP:, j]
        cost.append(np.mean(h * inv + p * bo))
        shortage.append(np.mean(bo > 1e-9))
    # measured k=2: cost 28.23 vs 27.67 (SE 1.35), P(short) .2922 vs .3000 (SE .0058);
    # k=15: cost 19.15 vs 18.29 (SE 0.88), P(short) .0784 vs .0763 (SE .0046)
    check(cost, h * on_hand + p * backorder, max_se=2.5)
    check(shortage, short, max_se=0.01)


# --- 4. An open gate with ample capacity -----------------------------------------------------


@pytest.mark.parametrize("replication", [0, 1, 2, 3])
def test_open_gate_ample_capacity_never_short(replication: int):
    """Zero unmet demand, exactly, when every policy level covers the largest demand over
    its protection window (checked on the drawn demand: L + R days for base stock and days of
    cover, L + 1 days below s for (s, S)) and the gate stays open with ample capacity."""
    transit = 10
    doc = world({"shortage": "lost_sales",
                 "demand": {"t_per_year": 365.0, "cv": 0.5, "dist": "gamma"},
                 "policy": {"kind": "days_of_cover", "target_days": 40,
                            "review_period_days": 7}},
                end="2002-12-31", transit_days=transit, seed=17)
    doc["buyers"]["s_s"] = {**doc["buyers"]["b"], "shortage": "backorder",
                            "demand": {"t_per_year": 730.0, "cv": 0.3, "dist": "normal"},
                            "policy": {"kind": "sS", "order_up_to_t": 60.0,
                                       "reorder_point_t": 40.0, "review_period_days": 1}}
    doc["buyers"]["base"] = {**doc["buyers"]["b"], "demand": {"t_per_year": 365.0, "cv": 1.0},
                             "policy": {"kind": "base_stock", "order_up_to_t": 45.0,
                                        "review_period_days": 3}}
    r = run(scenario(base=doc), replication)
    for j, (window, level) in enumerate([(transit + 7, 40.0), (transit + 1, 40.0),
                                         (transit + 3, 45.0)]):
        worst = np.convolve(r.demand[:, j], np.ones(window), "valid").max()
        assert worst < level, f"buyer {j}: precondition fails ({worst:.1f} >= {level})"
    assert r.unmet.sum() == 0.0 and r.backorder.max() == 0.0
    assert r.demand.sum() > 0.0 and (r.inventory.min(axis=0) > 0.0).all()
