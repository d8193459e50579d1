"""Named random streams: one root seed -> one child per replication -> one generator per name.

A stream's seed depends only on the root seed, the replication number and the stream's name
(``demand/us_auto``, ``review/us_auto``, ``transit/US``), never on how many other streams
exist. Adding a buyer or changing a policy therefore leaves everyone else's draws unchanged,
and replication *k* of every policy variant sees the same numbers (common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np


def _key(name: str) -> int:
    """A stable 32-bit integer for a stream name (crc32 is fixed across Python runs)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Factory of named generators for one replication."""

    def __init__(self, seed: int, replication: int) -> None:
        self.seed, self.replication = seed, replication

    def generator(self, name: str) -> np.random.Generator:
        """The generator for ``name`` in this replication (same name -> same draws)."""
        seq = np.random.SeedSequence(entropy=self.seed, spawn_key=(self.replication, _key(name)))
        return np.random.Generator(np.random.PCG64(seq))


class BlockUniforms:
    """Uniform(0, 1) draws from named streams ``<lane>/<entity>``, one stream per lane
    (purpose) and entity, taken for many entities at once and for every lane together.

    Each stream is drawn in blocks and consumed strictly in order, so the numbers an entity
    gets depend only on how many it has taken before, never on how its draws were batched
    with other entities' (a PCG64 stream of doubles is the same in one call or many).
    Generators are created on an entity's first draw. With several replications' streams
    (stepped together, see :mod:`simulator.lockstep`), entity ``r * len(names) + i`` is
    ``names[i]`` in ``streams[r]``.
    """

    def __init__(self, streams: Streams | list[Streams], lanes: tuple[str, ...],
                 names: tuple[str, ...], block: int = 256) -> None:
        self._streams = streams if isinstance(streams, list) else [streams]
        self._lanes, self._names = lanes, names
        n = len(names) * len(self._streams)
        self._gens: list[list[np.random.Generator] | None] = [None] * n
        self._buf = np.empty((len(lanes), n, block))
        self._ptr = np.full(n, block)  # next unused column per entity
        self._block = block

    def take(self, who: np.ndarray) -> np.ndarray:
        """Draws [lane, i] for entity ``who[i]``; ``who`` must be sorted (non-decreasing)."""
        counts = np.bincount(who, minlength=len(self._ptr))
        short = self._ptr + counts > self._block
        if np.count_nonzero(short):
            self._refill(short.nonzero()[0], int(counts.max()))
        cols = self._ptr[who] + (np.arange(len(who)) - who.searchsorted(who))
        self._ptr += counts
        return self._buf[:, who, cols]

    def _refill(self, rows: np.ndarray, need: int) -> None:
        """Move the unused draws of ``rows`` to the front and fill up with new draws."""
        if need > self._block:
            self._widen(max(need, 2 * self._block))
        for b in rows.tolist():
            p = int(self._ptr[b])
            left = self._block - p
            self._buf[:, b, :left] = self._buf[:, b, p:]
            gens = self._gens[b]
            if gens is None:
                rep, name = divmod(b, len(self._names))
                gens = self._gens[b] = [self._streams[rep].generator(
                    f"{lane}/{self._names[name]}") for lane in self._lanes]
            for k, gen in enumerate(gens):
                self._buf[k, b, left:] = gen.random(self._block - left)
            self._ptr[b] = 0

    def _widen(self, block: int) -> None:
        """Grow the buffer to ``block`` columns, keeping unused draws (at the end of rows)."""
        buf = np.empty((len(self._lanes), len(self._ptr), block))
        buf[:, :, block - self._block:] = self._buf
        self._buf, self._ptr, self._block = buf, self._ptr + (block - self._block), block
