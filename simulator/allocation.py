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


def pro_rata(capacity: float, need: np.ndarray) -> np.ndarray:
    """Tonnes per buyer when ``capacity`` is split in proportion to ``need`` (t)."""
    total = need.sum()
    if total <= capacity:
        return need.copy()
    return need * (capacity / total)


def by_priority(capacity: float, need: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Serve ranks in order (0 first), pro rata within a rank (t per buyer)."""
    out = np.zeros_like(need)
    left = capacity
    for r in np.unique(rank):
        members = rank == r
        share = pro_rata(left, need * members)
        out += share
        left -= share.sum()
        if left <= EPS:
            break
    return out


def in_order(capacity: float, need: np.ndarray) -> np.ndarray:
    """Serve buyers in index order (used where no arrival order exists)."""
    cum = np.add.accumulate(need)
    return np.minimum(np.maximum(capacity - (cum - need), 0.0), need)


class WaitingLine:
    """Tonnes waiting for capacity, kept in arrival order and totalled per buyer (t).

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

    def add_all(self, tonnes: np.ndarray) -> None:
        """Queue a vector of tonnes per buyer, in buyer order (zeros are harmless)."""
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

    def take(self, capacity: float, rule: str, rank: np.ndarray | None = None) -> np.ndarray:
        """Remove up to ``capacity`` tonnes by ``rule``; returns tonnes per buyer."""
        if not self.chunks:
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
        order = np.argsort(buyers, kind="stable")  # each buyer's entries, oldest first
        ranked = buyers[order]
        cum = np.cumsum(tonnes[order])
        start = np.concatenate(([0.0], cum))[np.searchsorted(ranked, ranked)]  # before buyer
        before = cum - tonnes[order] - start  # this buyer's tonnes in older entries
        left = np.empty(len(tonnes))
        left[order] = np.clip(tonnes[order] - np.maximum(amounts[ranked] - before, 0.0),
                              0.0, None)
        keep = left > EPS
        self.chunks = deque([(buyers[keep], left[keep], float(left[keep].sum()))]
                            ) if keep.any() else deque()
        self.waiting -= amounts
        np.maximum(self.waiting, 0.0, out=self.waiting)
