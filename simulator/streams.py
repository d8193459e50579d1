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


class Uniforms:
    """Uniform(0, 1) draws from a named stream, pre-drawn in blocks to keep calls cheap."""

    __slots__ = ("_gen", "_block", "_buf", "_i")

    def __init__(self, gen: np.random.Generator, block: int = 256) -> None:
        self._gen, self._block = gen, block
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        """The next uniform draw."""
        if self._i >= len(self._buf):
            self._buf = self._gen.random(self._block).tolist()
            self._i = 0
        self._i += 1
        return self._buf[self._i - 1]
