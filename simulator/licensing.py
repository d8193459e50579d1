"""The licensing gate (DESIGN §2.1): filing, the review queue, decisions, re-applications.

Each shipment of at most ``shipment_t`` that needs a licence becomes an application in a
FIFO queue for ``reviewers`` parallel reviewers (:mod:`simulator.reviews`). Once a reviewer
takes it, it is reviewed for a random number of working days (floored at the minimum) and
decided when the review ends or when the statutory cap, counted in working days from
filing, runs out, whichever is first; an application still queued when its cap runs out is
decided then, unreviewed. Regime and approval odds are read from the phase in force at
decision time, the review time from the phase in force when the review starts.

Everything is done for a day's applications at once: the orders of all buyers are split
into shipments together, and the queue hands back all decisions of a day in the order they
were made. Each application draws from its buyer's streams (``covered/<buyer>``,
``review/<buyer>``, ``approval/<buyer>``) in filing order, so the numbers do not depend on
how applications are batched. Replications stepped together (:mod:`simulator.lockstep`)
share the gate's arrays slot by slot and each has its own review queue.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simulator.plan import EMBARGO, LICENSING, OPEN, GateParams, Plan
from simulator.records import Recorder
from simulator.reviews import ReviewQueue
from simulator.streams import BlockUniforms, Streams

Handler = Callable[[np.ndarray | None, np.ndarray, int], None]
"""(buyers, tonnes, day): entry i is ``tonnes[i]`` for ``buyers[i]``; buyers None means a
vector of tonnes per buyer."""
REST_EPS = 1e-12  # t: a shipment remainder below this is not a shipment
LANES = ("covered", "review", "approval")  # per-buyer streams, one draw each per shipment


class Gate:
    """China's export licensing for one replication."""

    def __init__(self, plan: Plan, streams: Streams | list[Streams], rec: Recorder,
                 approve: Handler, deny: Handler, trace: bool = False) -> None:
        """Decisions go to ``approve`` and ``deny``; :attr:`pending` is ``rec``'s
        ``licence_backlog`` state row. One replication per stream set in ``streams``.
        """
        self.plan, self.rec, self.trace = plan, rec, trace
        self.reps = rec.reps
        self.calendar, self.per_rep = plan.calendar, len(plan.buyers)
        self.region = np.tile(plan.buyer_region, self.reps)  # region per slot
        self.n_slots, self.n_regions = self.per_rep * self.reps, len(plan.regions) * self.reps
        # the records' region column of each slot: replication-major blocks of regions
        self.rec_region = self.region + len(plan.regions) * (
            np.arange(self.n_slots) // self.per_rep)
        self.approve, self.deny = approve, deny
        self.draws = BlockUniforms(streams, LANES, plan.buyers)
        self.queue = ReviewQueue(plan.phases[0].gate.reviewers, self.reps)
        self.pending = rec.row("licence_backlog")  # awaiting a decision or re-application (t)
        self.filed = np.zeros((plan.days, self.n_slots))  # China orders per [day, slot] (t)
        self.holds: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.next_refile = np.inf  # earliest day with held shipments
        self.params: GateParams = plan.phases[0].gate
        self.set_phase(self.params, np.tile(plan.phases[0].buyers.end_use, self.reps), 0)

    def set_phase(self, params: GateParams, end_use: np.ndarray, day: int) -> None:
        """Switch to the parameters of the phase that starts on ``day``."""
        if params.reviewers != self.params.reviewers:
            # added reviewers are free from the start of the day: queued applications start
            # at the day's :meth:`start_reviews`, with the new phase's review times
            self.queue.set_capacity(params.reviewers, self.calendar.at_day(day))
        self.params, self.end_use = params, end_use
        cell = (self.region, end_use)  # each buyer's [region, end use]
        self.regime_b = params.regime[cell]
        self.covered_b = params.covered[cell]
        self.approval_b = params.approval[cell]
        self.open_b = self.regime_b == OPEN
        self.embargo_b = self.regime_b == EMBARGO
        self.all_licensing = bool((self.regime_b == LICENSING).all())
        self.licences = bool((params.licence_until >= day).any())

    def _free(self, day: int) -> np.ndarray:
        """Buyers whose orders need no licence on ``day``: gate open, or a general licence
        (which an embargo overrides: an embargoed buyer's shipments that need a licence are
        denied).
        """
        if not self.licences:
            return self.open_b
        return self.open_b | ((self.params.licence_until >= day) & ~self.embargo_b)

    def file(self, tonnes: np.ndarray, day: int) -> None:
        """File the day's orders from China (t per buyer): split into shipments; each passes,
        waits for a licence or is denied.
        """
        self.filed[day] = tonnes
        free = self._free(day)
        gated = ~free & (tonnes > 0.0)
        if not np.count_nonzero(gated):
            self.approve(None, tonnes, day)
            return
        passed = np.where(free, tonnes, 0.0)
        who, size = self.shipments(gated.nonzero()[0], tonnes)
        u = self.draws.take(who)
        needs = u[0] < self.covered_b[who]  # a licence; the others pass as under open
        passed += np.bincount(who[~needs], size[~needs], self.n_slots)
        if not self.all_licensing:
            barred = needs & self.embargo_b[who]  # denied at once, without review
            if np.count_nonzero(barred):
                self._denied(who[barred], size[barred], day)
                needs &= ~barred
        self._queue(who[needs], size[needs], u[1][needs], u[2][needs], day)
        self.approve(None, passed, day)

    def shipments(self, buyers: np.ndarray, tonnes: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Split the orders (t per buyer) of ``buyers`` into shipments of at most
        ``shipment_t``: (buyer, t) per shipment, full ones first, buyers in index order.
        """
        n_full, rest = np.divmod(tonnes[buyers], self.params.shipment_t)
        with_rest = rest > REST_EPS
        count = n_full.astype(np.int64) + with_rest
        who = buyers.repeat(count)
        size = np.full(len(who), self.params.shipment_t)
        size[(np.add.accumulate(count) - 1)[with_rest]] = rest[with_rest]
        return who, size

    def _queue(self, who: np.ndarray, tonnes: np.ndarray, u_review: np.ndarray,
               u_approve: np.ndarray, day: int) -> None:
        """Put applications filed on ``day`` in the review queue."""
        if not len(who):
            return
        self.pending += np.bincount(who, tonnes, self.n_slots)
        w = self.calendar.at_day(day)
        rep = who // self.per_rep if self.reps > 1 else 0
        self.queue.file(self.queue.add(who, tonnes, day, w, w + self.params.cap_working_days,
                                       u_review, u_approve, rep))

    def start_reviews(self, day: int) -> None:
        """Reviewers free at the start of ``day`` (after its filings) take applications."""
        if len(self.queue.queue):
            self.queue.start_until(self.calendar.at_day(day), self.params.review)

    def advance(self, day: int) -> None:
        """Make every decision due by the start of ``day`` (simulation time ``day``), in
        order, with the parameters in force until then.
        """
        q = self.queue
        if q.idle:
            return
        until = self.calendar.at_day(day)
        q.start_until(until, self.params.review)
        ids = q.decided_until(until)
        if len(ids):
            self._decide(ids, day)

    def _decide(self, ids: np.ndarray, day: int) -> None:
        """Decide applications ``ids`` (of every replication, in order of decision)."""
        a, rec = self.queue.apps, self.rec
        who, tonnes, decided_w = a.buyer[ids], a.tonnes[ids], a.decided_w[ids]
        ok = a.u_approve[ids] < self.approval_b[who]
        if not self.all_licensing:
            regime = self.regime_b[who]
            ok = (regime == OPEN) | ((regime == LICENSING) & ok)
        self.pending -= np.bincount(who, tonnes, self.n_slots)
        if self.trace or decided_w.min() <= self.calendar.at_day(max(day - 1, 0)):
            decided = self.calendar.times(decided_w, a.filed[ids])
            days = np.minimum(np.ceil(decided).astype(np.int64), len(rec.decisions) - 1)
            if self.trace:
                started = self.calendar.times(a.start_w[ids], a.filed[ids])
                rec.applications.extend(zip(a.filed[ids].astype(float).tolist(),
                                            started.tolist(), decided.tolist(), who.tolist(),
                                            ok.tolist(), strict=True))
        else:  # all in (day - 1, day]: the common case
            days = None
        waited = decided_w - a.filed_w[ids]
        rep = a.rep[ids] if self.reps > 1 else None  # read before a refiling renumbers ids
        for d, sl in _by_day(days, day, len(ids)):
            self._count(d, None if rep is None else rep[sl], waited[sl])
            yes = ok[sl]
            if np.count_nonzero(yes):
                rec.approved[d] += np.bincount(self.rec_region[who[sl][yes]], tonnes[sl][yes],
                                               self.n_regions)
                self.approve(who[sl][yes], tonnes[sl][yes], d)
            if np.count_nonzero(yes) < len(yes):
                self._denied(who[sl][~yes], tonnes[sl][~yes], d)

    def _denied(self, who: np.ndarray | None, tonnes: np.ndarray, day: int) -> None:
        d = min(day, len(self.rec.denied) - 1)
        self.rec.denied[d] += np.bincount(self.rec_region if who is None else
                                          self.rec_region[who], tonnes, self.n_regions)
        self.deny(who, tonnes, day)

    def hold(self, who: np.ndarray, tonnes: np.ndarray, day: int) -> None:
        """Keep denied shipments awaiting re-application on ``day``."""
        self.pending += np.bincount(who, tonnes, self.n_slots)
        self.holds.setdefault(day, []).append((who, tonnes))
        self.next_refile = min(self.next_refile, day)

    def refile(self, day: int) -> None:
        """File again, as one application each, the shipments held for ``day`` (or before),
        buyer by buyer.
        """
        if self.next_refile > day:
            return
        due = sorted(d for d in self.holds if d <= day)
        parts = [x for d in due for x in self.holds.pop(d)]
        self.next_refile = min(self.holds, default=np.inf)
        who = np.concatenate([w for w, _ in parts])
        tonnes = np.concatenate([t for _, t in parts])
        order = np.argsort(who, kind="stable")
        who, tonnes = who[order], tonnes[order]
        self.pending -= np.bincount(who, tonnes, self.n_slots)
        if not self.all_licensing:
            denied = self.embargo_b[who]
            if np.count_nonzero(denied):
                self._denied(who[denied], tonnes[denied], day)
            passes = ~denied & self._free(day)[who]
            if passes.any():
                self.approve(who[passes], tonnes[passes], day)
            who, tonnes = who[~denied & ~passes], tonnes[~denied & ~passes]
        elif self.licences:
            passes = self._free(day)[who]
            if passes.any():
                self.approve(who[passes], tonnes[passes], day)
            who, tonnes = who[~passes], tonnes[~passes]
        if len(who):
            u = self.draws.take(who)
            self._queue(who, tonnes, u[1], u[2], day)

    def _count(self, d: int, rep: np.ndarray | None, waited: np.ndarray) -> None:
        """Record decisions on day ``d`` (their replications, None for a lone one, and
        working days waited), each replication's sum taken over its own decisions in order,
        as when it runs alone.
        """
        if rep is None:
            self.rec.decisions[d, 0] += len(waited)
            self.rec.review_wd_sum[d, 0] += np.add.reduceat(waited, [0])[0]
            return
        counts = np.bincount(rep, minlength=self.reps)
        self.rec.decisions[d] += counts
        order = np.argsort(rep, kind="stable")
        first = np.cumsum(counts) - counts
        some = counts > 0
        # a running (left to right) sum per replication: the same alone or in a batch
        self.rec.review_wd_sum[d, some] += np.add.reduceat(waited[order], first[some])

    @property
    def queue_length(self) -> np.ndarray:
        """Applications waiting for a reviewer, per replication."""
        return self.queue.waiting

    @property
    def in_review(self) -> np.ndarray:
        """Applications being reviewed, per replication."""
        return self.queue.in_review


def _by_day(days: np.ndarray | None, day: int, n: int) -> list[tuple[int, slice]]:
    """(day, slice) for each run of equal ``days`` (all ``day`` when ``days`` is None)."""
    if days is None or days[0] == days[-1]:
        return [(day if days is None else int(days[0]), slice(0, n))]
    cut = np.flatnonzero(np.diff(days)) + 1
    edges = [0, *cut.tolist(), n]
    return [(int(days[lo]), slice(lo, hi)) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
