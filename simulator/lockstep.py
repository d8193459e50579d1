"""Replications in lock-step: per-buyer parameters repeated for a batch of replications.

A batch of R replications of one plan is stepped together (:class:`simulator.model.Replication`).
Each per-buyer vector then has R x B *slots*, replication-major: slot ``r * B + b`` is buyer
``b`` of the batch's replication ``r``, so ``x.reshape(R, B)[r]`` is replication ``r``'s
vector. Every step works element by element or on such rows, so replication ``r`` of a batch
gets exactly the numbers it gets alone (tests/test_lockstep.py compares them bit for bit).
"""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np

from simulator.plan import BuyerParams, GateParams, Phase, StockpileParams


def tile_phase(phase: Phase, reps: int) -> Phase:
    """``phase`` with its per-buyer arrays repeated for ``reps`` replications (itself if 1)."""
    if reps == 1:
        return phase
    b = phase.buyers
    buyers = BuyerParams(**{f.name: np.tile(getattr(b, f.name), (reps,) + (1,) * (
        getattr(b, f.name).ndim - 1)) for f in fields(BuyerParams)})
    g: GateParams = phase.gate
    gate = replace(g, licence_until=np.tile(g.licence_until, reps))
    s: StockpileParams = phase.stockpiles
    stock = replace(s, eligible=np.tile(s.eligible, (1, reps)))
    return replace(phase, gate=gate, buyers=buyers, stockpiles=stock)
