"""The licensing gate (DESIGN §2.1): applications, the review queue, decisions.

Each shipment of at most ``shipment_t`` that needs a licence becomes an application: a
request for one of ``reviewers`` (a :class:`Desk`, a SimPy resource whose capacity the
timeline can change). Once a reviewer takes it, it is reviewed for a random number of
working days (floored at the minimum) and decided when the review ends or when the
statutory cap, counted in working days from filing, runs out, whichever is first; a single
sweeper process decides applications still queued when their cap runs out. Applications
are callbacks on SimPy events rather than processes of their own: that halves the events
per application (see benchmarks/README.md). Regime and approval odds are read from the
phase in force at decision time.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from simulator.plan import EMBARGO, LICENSING, OPEN, GateParams, Plan
from simulator.records import Recorder
from simulator.streams import Streams, Uniforms

Handler = Callable[[int, float, int], None]  # (buyer, tonnes, day)


class Desk(simpy.Resource):
    """Reviewers: a SimPy resource whose capacity can change during the run."""

    def set_capacity(self, capacity: int) -> None:
        """Change the number of reviewers; waiting applications start if places open up."""
        self._capacity = capacity
        self._trigger_put(None)


def draw_delay(gen: np.random.Generator, dist: str, mean: float, cv: float, floor: float
               ) -> float:
    """One delay (days of the caller's unit) from ``dist`` with ``mean`` and ``cv``."""
    if dist == "fixed" or cv == 0.0:
        x = mean
    elif dist == "gamma":
        shape = 1.0 / (cv * cv)
        x = gen.gamma(shape, mean / shape)
    else:
        sigma2 = math.log1p(cv * cv)
        x = gen.lognormal(math.log(mean) - 0.5 * sigma2, math.sqrt(sigma2))
    return max(x, floor)


class Gate:
    """China's export licensing for one replication."""

    def __init__(self, env: simpy.Environment, plan: Plan, streams: Streams, rec: Recorder,
                 approve: Handler, deny: Handler, trace: bool = False) -> None:
        self.env, self.plan, self.rec, self.trace = env, plan, rec, trace
        self.params: GateParams = plan.phases[0].gate
        self.end_use = plan.phases[0].buyers.end_use
        self.desk = Desk(env, capacity=self.params.reviewers)
        self.approve, self.deny = approve, deny
        names = plan.buyers
        self.covered_u = [Uniforms(streams.generator(f"covered/{b}")) for b in names]
        self.approval_u = [Uniforms(streams.generator(f"approval/{b}")) for b in names]
        self.review_gen = [streams.generator(f"review/{b}") for b in names]
        self.pending = np.zeros(len(names))  # awaiting a decision or a re-application (t)
        self.reapply: dict[int, list[tuple[int, float]]] = {}
        self.in_review = 0
        self.waiting: deque[list[Any]] = deque()  # queued: [buyer, t, filed, deadline, request]
        self.sweeper_idle: simpy.Event | None = None
        env.process(self._sweep())

    def set_phase(self, params: GateParams, end_use: np.ndarray) -> None:
        """Switch to the parameters of a new timeline phase."""
        if params.reviewers != self.params.reviewers:
            self.desk.set_capacity(params.reviewers)
        self.params, self.end_use = params, end_use

    def file(self, buyer: int, tonnes: float, day: int) -> None:
        """File an order from China: split into shipments; each passes, waits or is denied."""
        p = self.params
        r, e = self.plan.buyer_region[buyer], self.end_use[buyer]
        regime = p.regime[r, e]
        self.rec.applied[day, r] += tonnes
        if regime == OPEN or p.licence_until[buyer] >= day:
            self.approve(buyer, tonnes, day)
            return
        n_full, rest = divmod(tonnes, p.shipment_t)
        sizes = [p.shipment_t] * int(n_full) + ([rest] if rest > 1e-12 else [])
        covered = p.covered[r, e] if regime == LICENSING else 1.0
        passed = 0.0
        u = self.covered_u[buyer]
        for size in sizes:
            if u() < covered:
                self.submit(buyer, size, day)
            else:
                passed += size
        if passed:
            self.approve(buyer, passed, day)

    def submit(self, buyer: int, tonnes: float, day: int) -> None:
        """Submit one shipment's application (it needs a licence)."""
        p = self.params
        r, e = self.plan.buyer_region[buyer], self.end_use[buyer]
        if p.regime[r, e] == EMBARGO:
            self._denied(buyer, tonnes, day)
            return
        if p.regime[r, e] == OPEN or p.licence_until[buyer] >= day:
            self.approve(buyer, tonnes, day)
            return
        self.pending[buyer] += tonnes
        now = self.env.now
        app = [buyer, tonnes, now, self.plan.calendar.add(now, p.cap_working_days), None]
        req = self.desk.request()
        app[4] = req
        if req.triggered:
            self._start(app)
            return
        req.callbacks.append(lambda _ev, a=app: self._start(a))
        self.waiting.append(app)
        if self.sweeper_idle is not None and not self.sweeper_idle.triggered:
            self.sweeper_idle.succeed()

    def _start(self, app: list[Any]) -> None:
        """A reviewer takes the application: schedule its decision."""
        buyer, _, _, deadline, _ = app
        now = self.env.now
        rv = self.params.review
        work = draw_delay(self.review_gen[buyer], rv.dist, rv.mean, rv.cv, rv.min)
        end = min(self.plan.calendar.add(now, work), deadline)
        self.in_review += 1
        done = self.env.timeout(end - now)
        done.callbacks.append(lambda _ev, a=app, t0=now: self._finish(a, t0))

    def _finish(self, app: list[Any], started: float) -> None:
        self.in_review -= 1
        self.desk.release(app[4])
        self._decide(app[0], app[1], app[2], started)

    def _sweep(self) -> Generator[simpy.Event, Any, None]:
        """Decide queued applications whose statutory cap runs out before a reviewer is free.

        The queue is FIFO and the cap is counted from filing, so deadlines are in queue order
        and one process watching the head of the queue serves every application.
        """
        env, waiting = self.env, self.waiting
        while True:
            while waiting and waiting[0][4].triggered:  # granted: a reviewer has it
                waiting.popleft()
            if not waiting:
                self.sweeper_idle = env.event()
                yield self.sweeper_idle
                continue
            app = waiting[0]
            if app[3] > env.now:
                yield env.timeout(app[3] - env.now)
                continue
            waiting.popleft()
            app[4].cancel()
            self._decide(app[0], app[1], app[2], math.nan)

    def _decide(self, buyer: int, tonnes: float, filed: float, started: float) -> None:
        p = self.params
        now = self.env.now
        day = math.ceil(now)
        r, e = self.plan.buyer_region[buyer], self.end_use[buyer]
        regime = p.regime[r, e]
        ok = regime == OPEN or (regime == LICENSING and self.approval_u[buyer]() < p.approval[r, e])
        self.pending[buyer] -= tonnes
        rec = self.rec
        d = min(day, len(rec.decisions) - 1)
        rec.decisions[d] += 1
        rec.review_wd_sum[d] += self.plan.calendar.between(filed, now)
        if self.trace:
            rec.applications.append((filed, started, now, buyer, bool(ok)))
        if ok:
            rec.approved[d, r] += tonnes
            self.approve(buyer, tonnes, day)
        else:
            self._denied(buyer, tonnes, day)

    def _denied(self, buyer: int, tonnes: float, day: int) -> None:
        d = min(day, len(self.rec.denied) - 1)
        self.rec.denied[d, self.plan.buyer_region[buyer]] += tonnes
        self.deny(buyer, tonnes, day)

    def hold(self, buyer: int, tonnes: float, day: int) -> None:
        """Keep a denied shipment awaiting re-application on ``day``."""
        self.pending[buyer] += tonnes
        self.reapply.setdefault(day, []).append((buyer, tonnes))

    def refile(self, day: int) -> None:
        """File again the shipments whose re-application falls on ``day``."""
        for due in [d for d in self.reapply if d <= day]:
            for buyer, tonnes in self.reapply.pop(due):
                self.pending[buyer] -= tonnes
                self.submit(buyer, tonnes, day)

    @property
    def queue_length(self) -> int:
        """Applications waiting for a reviewer."""
        return len(self.desk.queue)
