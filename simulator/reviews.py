"""The licence review queue (DESIGN §2.1), solved on the working-day clock a day at a time.

Applications wait in one FIFO queue for ``reviewers`` parallel reviewers. Review times and
the statutory cap are counted in working days, so the queue is solved on the working clock
*W* (working days since day 0, see :mod:`simulator.workdays`), where it is an ordinary
multi-server queue: the clock stands still over weekends and holidays.

The reviewers are a sorted array of the times (W) at which each one is next free. In FIFO
order, an application starts at ``max(filed, earliest free reviewer)`` and holds that
reviewer until its decision at ``min(start + review, deadline)`` (the Kiefer-Wolfowitz
recursion of a FIFO multi-server queue); one whose deadline comes before it can start is
decided at its deadline and never takes a reviewer. This gives the same starts and decisions
as a SimPy resource with one process per application, without an event per application:
the model asks, once per day, for everything that starts or is decided up to the day's
clock (:meth:`ReviewQueue.start_until`, :meth:`ReviewQueue.decided_until`), usually a
handful of numpy calls whatever the number of applications. Days on which a reviewer freed
during the day takes another application that is decided the same day, or an application
reaches its cap unreviewed, are solved one application at a time (same result).
"""

from __future__ import annotations

import heapq
import math

import numpy as np
from scipy import special

from simulator.schema import Delay

INT_COLUMNS = ("buyer", "filed")
FLOAT_COLUMNS = ("tonnes", "filed_w", "deadline_w", "u_review", "u_approve", "start_w",
                 "decided_w")


def review_work(u: np.ndarray, delay: Delay) -> np.ndarray:
    """Review times (working days) for uniforms ``u``: inverse CDF of ``delay``, floored."""
    if delay.dist == "fixed" or delay.cv == 0.0:
        x = np.full(len(u), delay.mean)
    elif delay.dist == "gamma":
        shape = 1.0 / (delay.cv * delay.cv)
        x = special.gammaincinv(shape, u) * (delay.mean / shape)
    else:
        s2 = math.log1p(delay.cv * delay.cv)
        x = np.exp(math.log(delay.mean) - 0.5 * s2 + math.sqrt(s2) * special.ndtri(u))
    return np.maximum(x, delay.min)


class Applications:
    """Columns of every application of a replication (grown as needed), indexed by id.

    ``buyer``: buyer index; ``tonnes`` (t); ``filed``: filing day; ``filed_w``,
    ``deadline_w``, ``start_w`` (NaN if never reviewed), ``decided_w``: working clock
    (working days); ``u_review``, ``u_approve``: the application's uniforms.
    """

    def __init__(self, size: int = 1024) -> None:
        self.n = 0
        for name in INT_COLUMNS:
            setattr(self, name, np.zeros(size, dtype=np.int64))
        for name in FLOAT_COLUMNS:
            setattr(self, name, np.full(size, np.nan))

    def add(self, buyer: np.ndarray, tonnes: np.ndarray, filed: int, filed_w: float,
            deadline_w: float, u_review: np.ndarray, u_approve: np.ndarray) -> np.ndarray:
        """Append applications filed on day ``filed`` (clock ``filed_w``, cap running out at
        ``deadline_w``, working days); returns their ids.
        """
        lo, hi = self.n, self.n + len(buyer)
        if hi > len(self.buyer):
            self._grow(max(2 * len(self.buyer), hi))
        self.buyer[lo:hi], self.tonnes[lo:hi], self.filed[lo:hi] = buyer, tonnes, filed
        self.filed_w[lo:hi], self.deadline_w[lo:hi] = filed_w, deadline_w
        self.u_review[lo:hi], self.u_approve[lo:hi] = u_review, u_approve
        self.n = hi
        return np.arange(lo, hi)

    def _grow(self, size: int) -> None:
        for name in INT_COLUMNS + FLOAT_COLUMNS:
            old = getattr(self, name)
            new = np.zeros(size, dtype=old.dtype) if old.dtype.kind == "i" else np.full(
                size, np.nan)
            new[:len(old)] = old
            setattr(self, name, new)


class ReviewQueue:
    """FIFO queue, reviewers and decisions on the working clock (see the module docstring)."""

    def __init__(self, reviewers: int) -> None:
        self.apps = Applications()
        self.free = np.full(reviewers, -np.inf)  # sorted: when each reviewer is next free (W)
        self.joining = 0  # reviewers added by the timeline that have not joined yet
        self.queue = np.zeros(0, dtype=np.int64)  # ids waiting for a reviewer, FIFO
        self.review_ids = np.zeros(0, dtype=np.int64)  # started or lapsed, not yet collected
        self.review_end = np.zeros(0)  # their decision times (W)

    @property
    def waiting(self) -> int:
        """Applications waiting for a reviewer."""
        return len(self.queue)

    @property
    def in_review(self) -> int:
        """Applications with a reviewer whose decision has not been collected yet."""
        return len(self.review_ids)

    def file(self, ids: np.ndarray, now: float) -> None:
        """Queue applications already added to :attr:`apps` (in filing order) at working
        time ``now``; each lets one reviewer still to join start (see :meth:`set_capacity`).
        """
        self.queue = np.concatenate((self.queue, ids)) if len(self.queue) else ids
        if self.joining:
            k = min(self.joining, len(ids))
            self.joining -= k
            self._join(k, now)

    def set_capacity(self, reviewers: int, now: float) -> None:
        """Change the number of reviewers at working time ``now``.

        As in the SimPy resource the gate was built on (and on which the 2025 replay is
        calibrated), added reviewers do not all start at once: one is free from ``now`` and
        the others join one per application filed from then on (:meth:`file`). When there
        are fewer, reviewers still to join leave first, then those free first (one in
        mid-review finishes it).
        """
        extra = reviewers - (len(self.free) + self.joining)
        if extra > 0:
            self.joining += extra - 1
            self._join(1, now)
            return
        cut = min(-extra, self.joining)
        self.joining -= cut
        if -extra > cut:
            self.free = self.free[-extra - cut:]

    def _join(self, k: int, now: float) -> None:
        """``k`` reviewers join, free from working time ``now``."""
        self.free = np.concatenate((self.free, np.full(k, now)))
        self.free.sort(kind="stable")

    def start_until(self, until: float, review: Delay) -> None:
        """Start (or let lapse) every queued application that does so by working time
        ``until``, reviews drawn from ``review``.
        """
        if not len(self.queue) or not len(self.free):
            return
        a, q = self.apps, self.queue
        k = int(self.free.searchsorted(until, side="right"))  # reviewers free by then
        m = min(k, len(q))
        if m == 0 and a.deadline_w[q].min() > until:
            return
        ids = q[:m]
        start = np.maximum(a.filed_w[ids], self.free[:m])
        deadline = a.deadline_w[ids]
        end = np.minimum(start + review_work(a.u_review[ids], review), deadline)
        later = q[m:]
        if np.count_nonzero(start >= deadline) == 0 and not (len(later) and (
                np.count_nonzero(end <= until) or a.deadline_w[later].min() <= until)):
            a.start_w[ids], a.decided_w[ids] = start, end
            self.free = np.concatenate((self.free[m:], end))
            self.free.sort(kind="stable")  # a sorted run and a short tail: near linear
            self.queue = later
            self._reviewing(ids, end)
            return
        self._one_by_one(until, review)

    def _one_by_one(self, until: float, review: Delay) -> None:
        """The recursion application by application (see :meth:`start_until`)."""
        a, q = self.apps, self.queue
        filed, deadline = a.filed_w[q].tolist(), a.deadline_w[q].tolist()
        work = review_work(a.u_review[q], review).tolist()
        free = self.free.tolist()  # a sorted list is a heap
        started, ends, lapsed = [], [], []
        i = 0
        while i < len(filed):
            s = max(filed[i], free[0])
            if s >= deadline[i] and deadline[i] <= until:
                lapsed.append(i)  # decided at its deadline, unreviewed
            elif s > until:
                break
            else:
                e = min(s + work[i], deadline[i])
                heapq.heapreplace(free, e)
                a.start_w[q[i]] = s
                started.append(i)
                ends.append(e)
            i += 1
        rest = np.arange(i, len(q))
        lapsed_late = rest[a.deadline_w[q[rest]] <= until]  # cannot start in time either
        gone = np.array(lapsed + lapsed_late.tolist(), dtype=np.int64)
        keep = np.ones(len(q), dtype=bool)
        keep[:i] = False
        keep[lapsed_late] = False
        self.free = np.sort(np.array(free))
        self.queue = q[keep]
        a.decided_w[q[started]] = ends
        a.decided_w[q[gone]] = a.deadline_w[q[gone]]
        both = np.concatenate((q[started], q[gone]))
        self._reviewing(both, a.decided_w[both])

    def _reviewing(self, ids: np.ndarray, end: np.ndarray) -> None:
        if len(ids):
            self.review_ids = np.concatenate((self.review_ids, ids))
            self.review_end = np.concatenate((self.review_end, end))

    def decided_until(self, until: float) -> np.ndarray:
        """Ids of the applications decided by working time ``until`` and not collected
        before, in order of decision (ties in filing order).
        """
        if not len(self.review_end) or self.review_end.min() > until:
            return self.review_ids[:0]
        done = self.review_end <= until
        ids, end = self.review_ids[done], self.review_end[done]
        self.review_ids, self.review_end = self.review_ids[~done], self.review_end[~done]
        return ids[np.lexsort((ids, end))]
