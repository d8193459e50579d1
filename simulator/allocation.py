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
    cum = np.cumsum(need)
    return np.clip(capacity - (cum - need), 0.0, need)


class WaitingLine:
    """Tonnes waiting for capacity, kept in arrival order and totalled per buyer."""

    def __init__(self, n_buyers: int) -> None:
        self.entries: deque[list[float]] = deque()  # [buyer, tonnes], oldest first
        self.waiting = np.zeros(n_buyers)

    def add(self, buyer: int, tonnes: float) -> None:
        """Queue ``tonnes`` for ``buyer``."""
        self.entries.append([buyer, tonnes])
        self.waiting[buyer] += tonnes

    def add_all(self, tonnes: np.ndarray) -> None:
        """Queue a vector of tonnes per buyer, buyer by buyer."""
        for b in np.flatnonzero(tonnes > 0.0):
            self.add(int(b), float(tonnes[b]))

    @property
    def total(self) -> float:
        """Tonnes waiting (t)."""
        return float(self.waiting.sum())

    def take(self, capacity: float, rule: str, rank: np.ndarray | None = None) -> np.ndarray:
        """Remove up to ``capacity`` tonnes by ``rule``; returns tonnes per buyer."""
        if not self.entries:
            return np.zeros_like(self.waiting)
        if self.total <= capacity:
            out = self.waiting.copy()
            self.entries.clear()
            self.waiting[:] = 0.0
            return out
        if rule == "fifo":
            return self._take_fifo(capacity)
        amounts = pro_rata(capacity, self.waiting) if rule == "pro_rata" else by_priority(
            capacity, self.waiting, rank if rank is not None else np.zeros(len(self.waiting)))
        self._remove(amounts)
        return amounts

    def _take_fifo(self, capacity: float) -> np.ndarray:
        out = np.zeros_like(self.waiting)
        while self.entries and capacity > EPS:
            entry = self.entries[0]
            b, t = int(entry[0]), entry[1]
            if capacity >= t:
                out[b] += t
                capacity -= t
                self.entries.popleft()
            else:
                out[b] += capacity
                entry[1] = t - capacity
                capacity = 0.0
        self.waiting -= out
        np.maximum(self.waiting, 0.0, out=self.waiting)
        return out

    def _remove(self, amounts: np.ndarray) -> None:
        """Take ``amounts`` per buyer from the oldest entries of each buyer."""
        left = amounts.copy()
        kept: deque[list[float]] = deque()
        for entry in self.entries:
            b = int(entry[0])
            x = min(entry[1], left[b])
            left[b] -= x
            if entry[1] - x > EPS:
                kept.append([b, entry[1] - x])
        self.entries = kept
        self.waiting -= amounts
        np.maximum(self.waiting, 0.0, out=self.waiting)
