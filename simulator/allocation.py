"""Splitting short capacity among buyers (DESIGN §2.1): ``fifo``, ``pro_rata``, ``priority``.

China's dispatch, a supplier's output and a stockpile's release all use these rules.
``fifo`` serves what has waited longest first; ``pro_rata`` gives every buyer the same share
of what it has waiting; ``priority`` serves buyers of a better rank first (rank 0 is best)
and splits pro rata within a rank.
"""

from __future__ import annotations

from collections import deque

import numpy as np

RULES = ("fifo", "pro_rata", "priority")
EPS = 1e-12


def pro_rata_rows(capacity: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Tonnes per [row, buyer] when ``capacity[row]`` is split in proportion to ``need`` (t);
    rows are replications stepped together, each split on its own.
    """
    total = need.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = need * (capacity / total)[:, None]
    return np.where((total <= capacity)[:, None], need, scaled)


def by_priority_rows(capacity: np.ndarray, need: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Serve ranks in order (0 first, ``rank`` per buyer), pro rata within a rank, row by row
    (t per [row, buyer]).
    """
    out = np.zeros_like(need)
    left = np.array(capacity, dtype=float)
    live = np.ones(len(left), dtype=bool)  # rows with capacity left
    for r in np.unique(rank):
        share = pro_rata_rows(left, need * (rank == r))
        share[~live] = 0.0
        out += share
        left[live] -= share[live].sum(1)
        live &= left > EPS
        if not live.any():
            break
    return out


def in_order_rows(capacity: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Serve buyers in index order, row by row (used where no arrival order exists)."""
    cum = np.add.accumulate(need, axis=1)
    return np.minimum(np.maximum(capacity[:, None] - (cum - need), 0.0), need)


def pro_rata(capacity: float, need: np.ndarray) -> np.ndarray:
    """Tonnes per buyer when ``capacity`` is split in proportion to ``need`` (t)."""
    return pro_rata_rows(np.array([capacity]), need[None])[0]


def by_priority(capacity: float, need: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Serve ranks in order (0 first), pro rata within a rank (t per buyer)."""
    return by_priority_rows(np.array([capacity]), need[None], rank)[0]


def in_order(capacity: float, need: np.ndarray) -> np.ndarray:
    """Serve buyers in index order (used where no arrival order exists)."""
    return in_order_rows(np.array([capacity]), need[None])[0]


class WaitingLine:
    """Tonnes waiting for capacity, kept in arrival order and totalled per buyer (t), for one
    replication (:class:`WaitingLines` steps several together and gives the same numbers).

    Entries arrive in batches (a day's licence decisions in the order they were made, or a
    day's orders in buyer order) kept as arrays, so adding and serving a batch costs a few
    numpy calls whatever its size.
    """

    def __init__(self, n_buyers: int, waiting: np.ndarray | None = None) -> None:
        # (buyers, tonnes, total): buyers None means every buyer in index order
        self.chunks: deque[tuple[np.ndarray | None, np.ndarray, float]] = deque()
        self.waiting = np.zeros(n_buyers) if waiting is None else waiting

    def add(self, buyer: int, tonnes: float) -> None:
        """Queue ``tonnes`` for ``buyer``."""
        self.chunks.append((np.array([buyer]), np.array([tonnes]), tonnes))
        self.waiting[buyer] += tonnes

    def add_batch(self, buyers: np.ndarray, tonnes: np.ndarray) -> None:
        """Queue entries ``tonnes[i]`` for ``buyers[i]``, in that order."""
        if len(buyers):
            self.chunks.append((buyers, tonnes, float(np.add.reduce(tonnes))))
            self.waiting += np.bincount(buyers, tonnes, len(self.waiting))

    def add_all(self, tonnes: np.ndarray, only_nonzero: bool = False) -> None:
        """Queue a vector of tonnes per buyer, in buyer order (zeros are harmless); with
        ``only_nonzero`` an all-zero vector queues nothing.
        """
        if only_nonzero and not np.count_nonzero(tonnes):
            return
        self.chunks.append((None, tonnes, float(np.add.reduce(tonnes))))
        self.waiting += tonnes

    @property
    def entries(self) -> list[list[float]]:
        """The waiting entries, oldest first: ``[buyer, tonnes]`` (entries of 0 t left out)."""
        out = []
        for bs, ts, _ in self.chunks:
            who = range(len(ts)) if bs is None else bs.tolist()
            out += [[int(b), t] for b, t in zip(who, ts.tolist(), strict=True) if t > 0.0]
        return out

    @property
    def total(self) -> float:
        """Tonnes waiting (t)."""
        return float(np.add.reduce(self.waiting))

    def take(self, capacity: float, rule: str, rank: np.ndarray | None = None,
             among: np.ndarray | None = None, flush: bool = False) -> np.ndarray:
        """Remove up to ``capacity`` tonnes by ``rule``; returns tonnes per buyer.

        Nothing is taken if ``among`` (one bool) is False. If what waits fits in
        ``capacity`` it is all taken (with ``flush``, even with no entries left: rounding
        crumbs go too).
        """
        if (among is not None and not among[0]) or not (self.chunks or flush):
            return np.zeros(len(self.waiting))
        if self.total <= capacity:
            out = self.waiting.copy()
            self.clear()
            return out
        if rule == "fifo":
            return self._take_fifo(capacity)
        amounts = pro_rata(capacity, self.waiting) if rule == "pro_rata" else by_priority(
            capacity, self.waiting, rank if rank is not None else np.zeros(len(self.waiting)))
        self._remove(amounts)
        return amounts

    def clear(self) -> None:
        """Forget every entry (after the caller took everything)."""
        self.chunks.clear()
        self.waiting[:] = 0.0

    def _take_fifo(self, capacity: float) -> np.ndarray:
        out = np.zeros(len(self.waiting))
        chunks, n = self.chunks, len(out)
        while chunks and capacity > EPS:
            buyers, tonnes, total = chunks[0]
            if total <= capacity:
                out += tonnes if buyers is None else np.bincount(buyers, tonnes, n)
                capacity -= total
                chunks.popleft()
                continue
            # the oldest entries of this chunk in full, then part of the next one
            served = np.minimum(np.maximum(capacity - (np.add.accumulate(tonnes) - tonnes), 0.0),
                                tonnes)
            rest = tonnes - served
            out += served if buyers is None else np.bincount(buyers, served, n)
            keep = rest > 0.0 if buyers is not None else slice(None)
            chunks[0] = (None if buyers is None else buyers[keep], rest[keep], total - capacity)
            capacity = 0.0
        self.waiting -= out
        np.maximum(self.waiting, 0.0, out=self.waiting)
        return out

    def _remove(self, amounts: np.ndarray) -> None:
        """Take ``amounts`` per buyer from the oldest entries of each buyer."""
        everyone = np.arange(len(self.waiting))
        buyers = np.concatenate([everyone if b is None else b for b, _, _ in self.chunks])
        tonnes = np.concatenate([t for _, t, _ in self.chunks])
        left = _after_taking(buyers, tonnes, amounts)
        keep = left > EPS
        self.chunks = deque([(buyers[keep], left[keep], float(left[keep].sum()))]
                            ) if keep.any() else deque()
        self.waiting -= amounts
        np.maximum(self.waiting, 0.0, out=self.waiting)


def _after_taking(buyers: np.ndarray, tonnes: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """Tonnes left in each entry (``tonnes[i]`` for ``buyers[i]``, oldest first) once
    ``amounts`` per buyer are taken from each buyer's oldest entries.
    """
    order = np.argsort(buyers, kind="stable")  # each buyer's entries, oldest first
    ranked = buyers[order]
    cum = np.cumsum(tonnes[order])
    start = np.concatenate(([0.0], cum))[np.searchsorted(ranked, ranked)]  # before buyer
    before = cum - tonnes[order] - start  # this buyer's tonnes in older entries
    left = np.empty(len(tonnes))
    left[order] = np.clip(tonnes[order] - np.maximum(amounts[ranked] - before, 0.0), 0.0, None)
    return left


def _fifo_stops(alive: np.ndarray, short: np.ndarray, capacity: np.ndarray, total: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where each ``short`` line's capacity runs out, chunk by chunk ([chunk, line] arrays):
    (chunks taken whole, the chunk taken in part, capacity left before each chunk, index of
    the chunk each line stops in). Capacity left is the running difference
    (``subtract.accumulate``), as a loop over the chunks would take it.
    """
    mine = alive & short
    size = np.where(mine, total, 0.0)
    before = np.subtract.accumulate(
        np.vstack((np.where(short, capacity, 0.0), size)), axis=0)[:-1]
    stop = mine & ((before <= EPS) | (size > before))
    first = np.where(stop.any(0), stop.argmax(0), len(size))  # chunk where each stops
    ks = np.arange(len(size))[:, None]
    return mine & (ks < first), mine & (ks == first) & (before > EPS), before, first


class Chunk:
    """Entries that joined a waiting line together.

    ``slots`` None: one entry per slot in slot order (``tonnes`` has every slot); otherwise
    entry ``i`` is ``tonnes[i]`` for ``slots[i]``, grouped by replication (those of
    replication ``r`` are ``bounds[r]:bounds[r + 1]``, in arrival order). ``total``: tonnes
    left per replication, as first summed; ``alive``: the replications still holding it.
    """

    __slots__ = ("slots", "tonnes", "total", "alive", "bounds")

    def __init__(self, slots: np.ndarray | None, tonnes: np.ndarray, total: np.ndarray,
                 alive: np.ndarray, bounds: np.ndarray | None = None) -> None:
        self.slots, self.tonnes, self.total, self.alive = slots, tonnes, total, alive
        self.bounds = bounds


class WaitingLines:
    """Many waiting lines over the rows of one [line, buyer] array, served together: the
    lines of replications stepped together (:mod:`simulator.lockstep`), or of every
    supplier in every replication. Each line's capacity serves its own entries and gives
    exactly what a :class:`WaitingLine` gives alone.
    """

    def __init__(self, n_buyers: int, waiting: np.ndarray | None = None, lines: int = 1) -> None:
        self.n, self.nlines = n_buyers, lines
        self.chunks: deque[Chunk] = deque()
        self.waiting = np.zeros(lines * n_buyers) if waiting is None else waiting
        self.rows = self.waiting.reshape(lines, n_buyers)  # a view: [line, buyer]
        self._all = np.ones(lines, dtype=bool)

    def add_batch(self, slots: np.ndarray, tonnes: np.ndarray) -> None:
        """Queue entries ``tonnes[i]`` for ``slots[i]`` (line-major), in that order."""
        if not len(slots):
            return
        reps = self.nlines  # lines (replications, or [supplier, replication])
        rep = slots // self.n
        order = np.argsort(rep, kind="stable")
        slots, tonnes = slots[order], tonnes[order]
        bounds = np.searchsorted(rep[order], np.arange(reps + 1))
        total = np.zeros(reps)
        alive = bounds[1:] > bounds[:-1]
        for r in alive.nonzero()[0].tolist():
            total[r] = np.add.reduce(tonnes[bounds[r]:bounds[r + 1]])
        self.chunks.append(Chunk(slots, tonnes, total, alive, bounds))
        self.waiting += np.bincount(slots, tonnes, len(self.waiting))

    def add_all(self, tonnes: np.ndarray, only_nonzero: bool = False) -> None:
        """Queue a vector of tonnes per slot, in buyer order (zeros are harmless); with
        ``only_nonzero`` lines whose row is all zero queue nothing.
        """
        rows = tonnes.reshape(self.nlines, self.n)
        alive = rows.any(1) if only_nonzero else self._all.copy()
        self.chunks.append(Chunk(None, tonnes, rows.sum(1), alive))
        self.waiting += tonnes

    def take(self, capacity: float | np.ndarray, rule: str | np.ndarray,
             rank: np.ndarray | None = None, among: np.ndarray | None = None,
             flush: bool = False) -> np.ndarray:
        """Remove up to ``capacity`` tonnes (one figure, or one per line) from each line by
        ``rule`` (one, or one per line; ``rank`` per buyer, or per [line, buyer]); returns
        tonnes per slot.

        Only lines in ``among`` (bool; default all) take. A line whose waiting tonnes fit
        in its capacity takes them all (with ``flush``, even with no entries left: rounding
        crumbs go too).
        """
        out = np.zeros((self.nlines, self.n))
        if not self.chunks and not flush:
            return out.ravel()
        rows = self.rows
        alive = np.array([c.alive for c in self.chunks], dtype=bool).reshape(-1, self.nlines)
        held = np.logical_or.reduce(alive, axis=0)
        among = self._all if among is None else among
        cap = np.full(self.nlines, capacity) if np.isscalar(capacity) else capacity
        left = rows.sum(1)
        fit = among & (left <= cap) & (held | flush)
        short = among & held & (left > cap)
        if np.count_nonzero(fit):
            out[fit] = rows[fit]
            rows[fit] = 0.0
            alive &= ~fit
            for c, a in zip(self.chunks, alive, strict=True):
                c.alive = a
        if np.count_nonzero(short):
            fifo = short & (np.asarray(rule) == "fifo")
            if np.count_nonzero(fifo):
                self._take_fifo(cap, fifo, alive, out)
            for name in ("pro_rata", "priority"):
                these = short & (np.asarray(rule) == name)
                if not np.count_nonzero(these):
                    continue
                need = rows[these]
                ranks = np.zeros(self.n) if rank is None else (
                    rank if rank.ndim == 1 else rank[these])
                amounts = (pro_rata_rows(cap[these], need) if name == "pro_rata" else
                           by_priority_rows(cap[these], need, ranks))
                out[these] = amounts
                for i, r in enumerate(these.nonzero()[0].tolist()):
                    self._remove(r, amounts[i])
        if np.count_nonzero(fit) or np.count_nonzero(short):
            self.chunks = deque(c for c in self.chunks if np.count_nonzero(c.alive))
        return out.ravel()

    def _take_fifo(self, capacity: np.ndarray, short: np.ndarray, alive: np.ndarray,
                   out: np.ndarray) -> None:
        """Serve the ``short`` lines' entries oldest first, ``capacity`` per line
        (``alive``: [chunk, line]).

        Each line takes whole chunks while they fit, then the oldest entries of the next one
        (:func:`_fifo_stops`); contributions add up chunk by chunk.
        """
        reps, n = self.nlines, self.n
        total = np.array([c.total for c in self.chunks]).reshape(-1, reps)
        whole, part, before, first = _fifo_stops(alive, short, capacity, total)
        visit = min(int(first[short].max()) + 1, len(total))
        chunks = list(self.chunks)[:visit]
        whole, part, before = whole[:visit], part[:visit], before[:visit]
        total = total[:visit].copy()
        total[part] -= before[part]  # what a partly served chunk keeps
        alive = alive[:visit] & ~whole
        parts = np.zeros((visit, reps, n))  # what each chunk gives, per slot
        dense = [k for k, c in enumerate(chunks) if c.slots is None]
        if dense:
            rows = np.array([chunks[k].tonnes for k in dense]).reshape(len(dense), reps, n)
            parts[dense] = np.where(whole[dense][:, :, None], rows, 0.0)
            i, r = part[dense].nonzero()
            if len(i):
                # the oldest entries of a chunk in full, then part of the next one
                t = rows[i, r]
                served = in_order_rows(before[dense][i, r], t)
                parts[np.asarray(dense)[i], r] = served
                rows[i, r] = t - served
                for j in sorted(set(i.tolist())):
                    chunks[dense[j]].tonnes = rows[j].reshape(-1)
        flat = parts.reshape(visit, reps * n)
        for k, c in enumerate(chunks):
            c.alive, c.total = alive[k], total[k]
            if c.slots is None:
                continue
            b = c.bounds
            w = whole[k]
            if np.count_nonzero(w):
                sel = np.repeat(w, np.diff(b))
                flat[k] = np.bincount(c.slots[sel], c.tonnes[sel], reps * n)
            p = part[k].nonzero()[0]
            if len(p):
                self._serve_part(c, p, before[k, p], flat[k])
        given = parts.sum(0).reshape(reps, n)
        out[short] += given[short]
        rows = self.rows[short] - out[short]
        np.maximum(rows, 0.0, out=rows)
        self.rows[short] = rows

    def _serve_part(self, c: Chunk, reps: np.ndarray, capacity: np.ndarray, flat: np.ndarray
                    ) -> None:
        """Serve the oldest entries of replications ``reps`` in a listed chunk up to their
        ``capacity``, adding what is served to ``flat`` (t per slot) and keeping the rest.

        Each replication's entries are a row of a zero-padded [replication, entry] array, so
        the running sums are those of its entries alone.
        """
        lo, size = c.bounds[reps], np.diff(c.bounds)[reps]
        col = np.arange(int(size.max()))
        real = col < size[:, None]
        at = np.where(real, lo[:, None] + col, 0)
        t = np.where(real, c.tonnes[at], 0.0)
        served = in_order_rows(capacity, t)
        at, served, rest = at[real], served[real], (t - served)[real]
        flat += np.bincount(c.slots[at], served, len(flat))
        keep = np.ones(len(c.slots), dtype=bool)
        keep[at] = rest > 0.0
        tonnes = c.tonnes.copy()
        tonnes[at] = rest
        c.slots, c.tonnes = c.slots[keep], tonnes[keep]
        c.bounds = np.concatenate(([0], np.cumsum(np.bincount(c.slots // self.n,
                                                              minlength=self.nlines))))

    def _remove(self, r: int, amounts: np.ndarray) -> None:
        """Take ``amounts`` per buyer from replication ``r``'s oldest entries of each buyer."""
        n, everyone = self.n, np.arange(self.n)
        parts = []
        for c in self.chunks:
            if not c.alive[r]:
                continue
            if c.slots is None:
                parts.append((everyone, c.tonnes[r * n:(r + 1) * n]))
            else:
                lo, hi = int(c.bounds[r]), int(c.bounds[r + 1])
                parts.append((c.slots[lo:hi] - r * n, c.tonnes[lo:hi]))
            c.alive[r] = False
        buyers = np.concatenate([b for b, _ in parts])
        tonnes = np.concatenate([t for _, t in parts])
        left = _after_taking(buyers, tonnes, amounts)
        keep = left > EPS
        self.chunks = deque(c for c in self.chunks if c.alive.any())
        if keep.any():
            alive = np.zeros(self.nlines, dtype=bool)
            alive[r] = True
            total = np.zeros(self.nlines)
            total[r] = left[keep].sum()
            bounds = np.zeros(self.nlines + 1, dtype=np.int64)
            bounds[r + 1:] = int(keep.sum())
            self.chunks.append(Chunk(buyers[keep] + r * n, left[keep], total, alive, bounds))
        row = self.rows[r]
        row -= amounts
        np.maximum(row, 0.0, out=row)


def waiting_line(n_buyers: int, waiting: np.ndarray | None = None, reps: int = 1
                 ) -> WaitingLine | WaitingLines:
    """The waiting line of ``reps`` replications over their slots of ``waiting``."""
    return WaitingLine(n_buyers, waiting) if reps == 1 else WaitingLines(n_buyers, waiting, reps)


class DenseLines:
    """``fifo`` lines over the rows of one [line, buyer] array whose entries all arrive as
    whole rows (a supplier's daily orders): a ring of [chunk, line, buyer] arrays, served
    with the arithmetic of :class:`WaitingLines` (and so of :class:`WaitingLine`) without a
    Python object per chunk.
    """

    def __init__(self, n_buyers: int, waiting: np.ndarray, lines: int, room: int = 64) -> None:
        self.n, self.lines, self.waiting = n_buyers, lines, waiting
        self.rows = waiting.reshape(lines, n_buyers)  # a view: [line, buyer]
        self.tonnes = np.zeros((room, lines, n_buyers))
        self.total = np.zeros((room, lines))
        self.alive = np.zeros((room, lines), dtype=bool)
        self.head = self.tail = 0  # chunks head..tail-1 may hold entries

    def add_all(self, tonnes: np.ndarray, only_nonzero: bool = False) -> None:
        """Queue a vector of tonnes per slot, in buyer order; with ``only_nonzero`` lines
        whose row is all zero queue nothing.
        """
        if self.tail == len(self.total):
            self._make_room()
        rows = tonnes.reshape(self.lines, self.n)
        k = self.tail
        self.tonnes[k] = rows
        self.total[k] = rows.sum(1)
        self.alive[k] = rows.any(1) if only_nonzero else True
        self.tail += 1
        self.waiting += tonnes

    def _make_room(self) -> None:
        live = slice(self.head, self.tail)
        size = self.tail - self.head
        room = len(self.total) if size < len(self.total) // 2 else 2 * len(self.total)
        for name in ("tonnes", "total", "alive"):
            old = getattr(self, name)
            new = np.zeros((room,) + old.shape[1:], dtype=old.dtype)
            new[:size] = old[live]
            setattr(self, name, new)
        self.head, self.tail = 0, size

    def take(self, capacity: np.ndarray, among: np.ndarray, flush: bool = False) -> np.ndarray:
        """Remove up to ``capacity[line]`` tonnes from each line in ``among``, oldest first
        (see :meth:`WaitingLines.take`); returns tonnes per slot.
        """
        lo, hi = self.head, self.tail
        alive, rows = self.alive[lo:hi], self.rows
        held = np.logical_or.reduce(alive, axis=0)
        left = rows.sum(1)
        fit = among & (left <= capacity) & (held | flush)
        short = among & held & (left > capacity)
        out = np.zeros((self.lines, self.n))
        if np.count_nonzero(fit):
            out[fit] = rows[fit]
            rows[fit] = 0.0
            alive[:, fit] = False
        if np.count_nonzero(short):
            whole, part, before, _ = _fifo_stops(alive, short, capacity, self.total[lo:hi])
            chunk = self.tonnes[lo:hi]
            # whole chunks, added line by line in chunk order (np.add.at keeps the order)
            given = np.zeros((self.lines, self.n))
            k, r = whole.nonzero()
            np.add.at(given, r, chunk[k, r])
            i, r = part.nonzero()
            if len(i):
                # then the oldest entries of the next chunk, up to what capacity is left
                t = chunk[i, r]
                served = in_order_rows(before[i, r], t)
                given[r] += served
                chunk[i, r] = t - served
                self.total[lo + i, r] -= before[i, r]
            alive &= ~whole
            out[short] += given[short]
            kept = rows[short] - out[short]
            np.maximum(kept, 0.0, out=kept)
            rows[short] = kept
        live = np.flatnonzero(np.logical_or.reduce(alive, axis=1))
        self.head = lo + int(live[0]) if len(live) else hi
        return out.ravel()
