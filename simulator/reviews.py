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

Replications stepped together (:mod:`simulator.lockstep`) share one :class:`ReviewQueue`
holding a queue per replication: every application carries its replication, the reviewers
are a [replication, reviewer] array (rows sorted, +inf where a replication has fewer
reviewers), and each step above is taken for all replications at once.

A day's work follows the day's applications rather than the backlog (tens of thousands wait
in a batch of the 2025 replay): queue lengths and reviews under way are counted as they
change, and a queue's earliest deadline is its head's while deadlines never fall along it
(the cap was not cut while applications waited, else all are scanned). The table of
applications drops decided ones when it fills up.
"""

from __future__ import annotations

import heapq

import numpy as np

from simulator.quantiles import delay_ppf
from simulator.schema import Delay

INT_COLUMNS = ("buyer", "filed", "rep")
FLOAT_COLUMNS = ("tonnes", "filed_w", "deadline_w", "u_review", "u_approve", "start_w",
                 "decided_w")


def _merged(at: np.ndarray, *pairs: tuple[np.ndarray, np.ndarray]) -> list[np.ndarray]:
    """For each (old, new) pair, ``old`` with ``new[i]`` inserted before ``old[at[i]]``
    (``at`` non-decreasing; ``np.insert`` without its per-call overhead).
    """
    n, m = len(pairs[0][0]), len(pairs[0][1])
    slot = at + np.arange(m)  # where the new entries land
    rest = np.ones(n + m, dtype=bool)
    rest[slot] = False
    out = []
    for old, new in pairs:
        merged = np.empty(n + m, dtype=old.dtype)
        merged[slot] = new
        merged[rest] = old
        out.append(merged)
    return out


class Applications:
    """Columns of every application of a replication (grown as needed), indexed by id.

    ``buyer``: buyer (slot) index; ``rep``: replication in the batch; ``tonnes`` (t);
    ``filed``: filing day; ``filed_w``,
    ``deadline_w``, ``start_w`` (NaN if never reviewed), ``decided_w``: working clock
    (working days); ``u_review``, ``u_approve``: the application's uniforms.
    """

    def __init__(self, size: int = 1024) -> None:
        self.n = 0  # rows in use; the rest is uninitialised
        for name in INT_COLUMNS:
            setattr(self, name, np.empty(size, dtype=np.int64))
        for name in FLOAT_COLUMNS:
            setattr(self, name, np.empty(size))

    def add(self, buyer: np.ndarray, tonnes: np.ndarray, filed: int, filed_w: float,
            deadline_w: float, u_review: np.ndarray, u_approve: np.ndarray,
            rep: np.ndarray | int = 0) -> np.ndarray:
        """Append applications filed on day ``filed`` (clock ``filed_w``, cap running out at
        ``deadline_w``, working days); returns their ids.
        """
        lo, hi = self.n, self.n + len(buyer)
        if hi > len(self.buyer):
            self._grow(max(2 * len(self.buyer), hi))
        self.buyer[lo:hi], self.tonnes[lo:hi], self.filed[lo:hi] = buyer, tonnes, filed
        self.rep[lo:hi] = rep
        self.filed_w[lo:hi], self.deadline_w[lo:hi] = filed_w, deadline_w
        self.u_review[lo:hi], self.u_approve[lo:hi] = u_review, u_approve
        self.start_w[lo:hi] = self.decided_w[lo:hi] = np.nan
        self.n = hi
        return np.arange(lo, hi)

    def keep(self, live: np.ndarray) -> None:
        """Keep only the rows ``live`` (sorted ids): they become rows 0, 1, ... in order."""
        for name in INT_COLUMNS + FLOAT_COLUMNS:
            col = getattr(self, name)
            col[:len(live)] = col[live]
        self.n = len(live)

    def _grow(self, size: int) -> None:
        for name in INT_COLUMNS + FLOAT_COLUMNS:
            old = getattr(self, name)
            new = np.empty(size, dtype=old.dtype)
            new[:self.n] = old[:self.n]
            setattr(self, name, new)


class ReviewQueue:
    """FIFO queues, reviewers and decisions on the working clock, one set per replication
    of the batch (see the module docstring).
    """

    def __init__(self, reviewers: int, reps: int = 1) -> None:
        self.apps = Applications()
        self.reps = reps
        # when each reviewer is next free (W), rows sorted; +inf: no such reviewer
        self.free = np.full((reps, max(reviewers, 1)), -np.inf)
        self.free[:, reviewers:] = np.inf
        self.queue = np.zeros(0, dtype=np.int64)  # ids waiting for a reviewer: by replication, FIFO
        self.n_wait = np.zeros(reps, dtype=np.int64)  # per replication: len of its queue
        # deadlines never fall along a replication's queue (true unless the cap was cut
        # while applications waited): a queue's earliest deadline is then its head's
        self.monotone, self._last_deadline = True, -np.inf
        self.review_ids = np.zeros(0, dtype=np.int64)  # started or lapsed, not yet collected
        self.review_end = np.zeros(0)  # their decision times (W), sorted
        self.n_review = np.zeros(reps, dtype=np.int64)  # per replication

    @property
    def waiting(self) -> np.ndarray:
        """Applications waiting for a reviewer, per replication."""
        return self.n_wait.copy()

    @property
    def in_review(self) -> np.ndarray:
        """Applications with a reviewer whose decision has not been collected yet, per
        replication.
        """
        return self.n_review.copy()

    @property
    def idle(self) -> bool:
        """Nothing waits and nothing is in review."""
        return not len(self.queue) and not len(self.review_ids)

    def _per_rep(self, ids: np.ndarray) -> np.ndarray | int:
        """How many of ``ids`` each replication has (a count for a lone replication)."""
        if self.reps == 1:
            return len(ids)
        return np.bincount(self.apps.rep[ids], minlength=self.reps)

    def add(self, buyer: np.ndarray, tonnes: np.ndarray, filed: int, filed_w: float,
            deadline_w: float, u_review: np.ndarray, u_approve: np.ndarray,
            rep: np.ndarray | int = 0) -> np.ndarray:
        """:meth:`Applications.add`, first dropping decided applications from the table
        when it is full, so that it holds about as many rows as there are applications
        waiting or in review (ids of earlier applications are then renumbered, in order).
        """
        a = self.apps
        if a.n + len(buyer) > len(a.buyer):
            self._compact()
        return a.add(buyer, tonnes, filed, filed_w, deadline_w, u_review, u_approve, rep)

    def _compact(self) -> None:
        """Keep only applications waiting or in review, if that frees half the table."""
        if len(self.queue) + len(self.review_ids) > len(self.apps.buyer) // 2:
            return  # the table will grow instead
        keep = np.sort(np.concatenate((self.queue, self.review_ids)))
        self.apps.keep(keep)
        self.queue = np.searchsorted(keep, self.queue)
        self.review_ids = np.searchsorted(keep, self.review_ids)

    def file(self, ids: np.ndarray) -> None:
        """Queue applications already added to :attr:`apps` (in filing order)."""
        if not len(ids):
            return
        deadline = self.apps.deadline_w[ids]
        lo, hi = float(deadline.min()), float(deadline.max())
        if not len(self.queue):
            self.queue = ids
            self.monotone, self._last_deadline = lo == hi, hi
        else:
            self.monotone &= lo == hi and lo >= self._last_deadline
            self._last_deadline = max(self._last_deadline, hi)
            if self.reps == 1:
                self.queue = np.concatenate((self.queue, ids))
            else:  # ids come grouped by replication: each goes after its replication's queue
                at = np.cumsum(self.n_wait)[self.apps.rep[ids]]
                (self.queue,) = _merged(at, (self.queue, ids))
        self.n_wait += self._per_rep(ids)

    def set_capacity(self, reviewers: int, now: float) -> None:
        """Change the number of reviewers at working time ``now``: added reviewers are free
        from ``now`` (queued applications start at once); when there are fewer, those free
        first leave (one in mid-review finishes it).
        """
        for r in range(self.reps):
            row = self.free[r]
            present = row[row < np.inf]
            extra = reviewers - len(present)
            if extra > 0:
                self._set_row(r, np.concatenate((present, np.full(extra, now))))
            elif extra < 0:
                self._set_row(r, present[-extra:])

    def _set_row(self, r: int, free: np.ndarray) -> None:
        """Replication ``r``'s reviewers are free at ``free`` (W; sorted here)."""
        if len(free) > self.free.shape[1]:
            wider = np.full((self.reps, len(free)), np.inf)
            wider[:, :self.free.shape[1]] = self.free
            self.free = wider
        free = np.sort(free, kind="stable")
        self.free[r, :len(free)] = free
        self.free[r, len(free):] = np.inf

    def start_until(self, until: float, review: Delay) -> None:
        """Start (or let lapse) every queued application that does so by working time
        ``until``, reviews drawn from ``review``.
        """
        q = self.queue
        if not len(q):
            return
        if self.reps == 1:
            self._start_alone(until, review)
            return
        a, reps = self.apps, self.reps
        counts = self.n_wait
        first = np.cumsum(counts) - counts  # where each replication's queue begins in q
        m = np.minimum((self.free <= until).sum(1), counts)  # reviewers free by then, busy
        if not m.any() and not self._lapsing(q, first, counts, until).any():
            return  # nobody starts, nobody lapses
        staffed = self.free[:, 0] < np.inf  # replications with a reviewer
        r_ids = np.repeat(np.arange(reps), m)
        p_ids = np.arange(len(r_ids)) - np.repeat(np.cumsum(m) - m, m)  # place in its queue
        at = first[r_ids] + p_ids  # place in q
        ids = q[at]
        start = np.maximum(a.filed_w[ids], self.free[r_ids, p_ids])
        deadline = a.deadline_w[ids]
        end = np.minimum(start + delay_ppf(a.u_review[ids], review), deadline)
        slow = (np.bincount(r_ids, start >= deadline, reps) > 0) | ((counts > m) & (
            (np.bincount(r_ids, end <= until, reps) > 0)
            | self._lapsing(q, first + m, counts - m, until)))
        slow &= staffed
        if len(ids):
            fast = ~slow[r_ids]
            ids, end = ids[fast], end[fast]
            a.start_w[ids], a.decided_w[ids] = start[fast], end
            self.free[r_ids[fast], p_ids[fast]] = end
            self.free.sort(axis=1, kind="stable")  # the first m of a row became their ends
            keep = np.ones(len(q), dtype=bool)
            keep[at[fast]] = False
            self.queue = q[keep]
            self.n_wait -= np.bincount(r_ids[fast], minlength=reps)
            self._reviewing(ids, end)
        for r in slow.nonzero()[0].tolist():
            self._one_by_one(r, until, review)

    def _lapsing(self, q: np.ndarray, lo: np.ndarray, n: np.ndarray, until: float
                 ) -> np.ndarray:
        """Per replication r: does one of the ``n[r]`` applications from ``q[lo[r]]`` on (in
        its queue) reach its deadline by working time ``until``?
        """
        deadline = self.apps.deadline_w
        some = n > 0
        if self.monotone:  # each queue's earliest deadline is its head's
            out = np.zeros(self.reps, dtype=bool)
            out[some] = deadline[q[lo[some]]] <= until
            return out
        rep = self.apps.rep[q]
        behind = np.arange(len(q)) >= lo[rep]
        return np.bincount(rep[behind], deadline[q[behind]] <= until, self.reps) > 0

    def _earliest(self, q: np.ndarray) -> float:
        """The earliest deadline (W) in ``q``, a non-empty stretch of one queue."""
        if self.monotone:
            return float(self.apps.deadline_w[q[0]])
        return float(self.apps.deadline_w[q].min())

    def _start_alone(self, until: float, review: Delay) -> None:
        """:meth:`start_until` for a queue of one replication, with scalar bookkeeping (the
        same steps; tests/test_lockstep.py checks that both give the same records).
        """
        a, q, free = self.apps, self.queue, self.free[0]
        if free[0] == np.inf:
            return  # no reviewer
        m = min(int(free.searchsorted(until, side="right")), len(q))
        if m == 0 and self._earliest(q) > until:
            return
        ids = q[:m]
        start = np.maximum(a.filed_w[ids], free[:m])
        deadline = a.deadline_w[ids]
        end = np.minimum(start + delay_ppf(a.u_review[ids], review), deadline)
        later = q[m:]
        if np.count_nonzero(start >= deadline) == 0 and not (len(later) and (
                np.count_nonzero(end <= until) or self._earliest(later) <= until)):
            a.start_w[ids], a.decided_w[ids] = start, end
            free[:m] = end
            free.sort(kind="stable")  # a sorted run and a short tail: near linear
            self.queue = later
            self.n_wait[0] -= m
            self._reviewing(ids, end)
            return
        self._one_by_one(0, until, review)

    def _one_by_one(self, r: int, until: float, review: Delay) -> None:
        """The recursion application by application (see :meth:`start_until`) for
        replication ``r``.
        """
        a, all_q = self.apps, self.queue
        lo = int(self.n_wait[:r].sum())
        hi = lo + int(self.n_wait[r])
        q = all_q[lo:hi]  # replication r's queue
        filed, deadline = a.filed_w[q].tolist(), a.deadline_w[q].tolist()
        work = delay_ppf(a.u_review[q], review).tolist()
        row = self.free[r]
        free = row[row < np.inf].tolist()  # a sorted list is a heap
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
        self._set_row(r, np.array(free))
        self.queue = np.concatenate((all_q[:lo], q[keep], all_q[hi:]))
        self.n_wait[r] = np.count_nonzero(keep)
        a.decided_w[q[started]] = ends
        a.decided_w[q[gone]] = a.deadline_w[q[gone]]
        both = np.concatenate((q[started], q[gone]))
        self._reviewing(both, a.decided_w[both])

    def _reviewing(self, ids: np.ndarray, end: np.ndarray) -> None:
        """Keep ``ids``, decided at ``end`` (W), among those in review, sorted by ``end``."""
        if len(ids):
            self.n_review += self._per_rep(ids)
            order = np.argsort(end, kind="stable")
            end = end[order]
            at = np.searchsorted(self.review_end, end, side="right")
            self.review_ids, self.review_end = _merged(
                at, (self.review_ids, ids[order]), (self.review_end, end))

    def decided_until(self, until: float) -> np.ndarray:
        """Ids of the applications decided by working time ``until`` and not collected
        before, in order of decision (ties in filing order).
        """
        k = int(np.searchsorted(self.review_end, until, side="right"))
        ids, end = self.review_ids[:k], self.review_end[:k]
        self.review_ids, self.review_end = self.review_ids[k:], self.review_end[k:]
        if k:
            self.n_review -= self._per_rep(ids)
        if k < 2:
            return ids
        # ``end`` is sorted: order ids within runs of equal ends (lexsort's order, 3x cheaper)
        run = np.empty(k, dtype=np.int64)
        run[0] = 0
        np.cumsum(end[1:] != end[:-1], out=run[1:])
        return ids[np.argsort(run * (int(ids.max()) + 1) + ids, kind="stable")]
