"""Buyers: demand draws, on-hand stock, serving demand, substitution (DESIGN §2.2).

All buyers are stepped together as numpy vectors; nothing here is a SimPy process.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from simulator.plan import BuyerParams, Plan
from simulator.quantiles import gamma_ppf
from simulator.streams import Streams


def draw_demand(plan: Plan, streams: Streams) -> np.ndarray:
    """Daily demand before substitution, [day, buyer] (t/day).

    Each buyer draws from its own stream ``demand/<name>`` (uniforms turned into gamma or
    truncated-normal multipliers of mean 1), so adding a buyer changes nobody else's draws.
    """
    noise = np.ones((plan.days, len(plan.buyers)))
    for j, name in enumerate(plan.buyers):
        u = streams.generator(f"demand/{name}").random(plan.days)
        for start, end, dist, cv in plan.noise[j]:
            if cv == 0.0:
                continue
            q = u[start:end]
            if dist == "gamma":
                k = 1.0 / cv**2
                noise[start:end, j] = gamma_ppf(k, q) / k
            else:
                noise[start:end, j] = truncated_normal(cv, q)
    return plan.demand_mean * noise


def truncated_normal(cv: float, u: np.ndarray) -> np.ndarray:
    """Multipliers of mean 1 from uniforms ``u``: 1 + cv * Z for a standard normal Z
    truncated to 1 + cv * Z > 0 (by inverse CDF), divided by their mean. For cv <= 0.3 the
    truncation removes under 1e-3 of the mass and the CV is cv; for larger cv it is below cv
    (0.62 at cv = 1).
    """
    a = -1.0 / cv  # Z above a keeps demand positive
    below = special.ndtr(a)
    z = special.ndtri(below + u * (1.0 - below))
    mean = 1.0 + cv * np.exp(-0.5 * a * a) / np.sqrt(2.0 * np.pi) / (1.0 - below)
    return (1.0 + cv * z) / mean


class Buyers:
    """Inventory state of all buyers (t per buyer; per slot when ``reps`` replications are
    stepped together, see :mod:`simulator.lockstep`).
    """

    def __init__(self, plan: Plan, on_hand: np.ndarray | None = None,
                 on_order: np.ndarray | None = None, backorder: np.ndarray | None = None,
                 reps: int = 1) -> None:
        n = len(plan.buyers) * reps
        self.on_hand = np.zeros(n) if on_hand is None else on_hand  # updated in place
        self.on_hand[:] = np.tile(plan.initial_stock, reps)
        self.on_order = np.zeros(n) if on_order is None else on_order
        self.backorder = np.zeros(n) if backorder is None else backorder
        self.sub_start = np.full(n, np.inf)  # day substitution began
        self.backorders = np.tile([b.shortage == "backorder"
                                   for b in plan.scenario.buyers.values()], reps)
        self.any_backorders = bool(self.backorders.any())
        self.substituting = False  # some buyer has started substitution

    def substituted(self, day: int, p: BuyerParams) -> np.ndarray:
        """Share (0-1) of demand moved to magnet-free designs on ``day``."""
        ramp = np.clip((day - self.sub_start) / p.sub_lead, 0.0, 1.0)
        return np.where(np.isfinite(self.sub_start), p.sub_max * ramp, 0.0)

    def trigger_substitution(self, day: int, cover: np.ndarray, p: BuyerParams) -> None:
        """Start substitution where cover (days) fell below the trigger."""
        start = (cover < p.sub_trigger) & ~np.isfinite(self.sub_start) & (p.sub_max > 0.0)
        if np.count_nonzero(start):
            self.sub_start[start] = day
            self.substituting = True

    def serve(self, demand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Serve ``demand`` (t per buyer) from stock, oldest backorders first.

        Returns (delivered, unmet): unmet is the part of today's demand not served today.
        """
        if not self.any_backorders:
            delivered = np.minimum(self.on_hand, demand)
            self.on_hand -= delivered
            return delivered, demand - delivered
        owed = self.backorder
        required = demand + owed
        delivered = np.minimum(self.on_hand, required)
        self.on_hand -= delivered
        served_today = np.maximum(delivered - owed, 0.0)
        unmet = demand - served_today
        self.backorder[:] = np.where(self.backorders, required - delivered, 0.0)
        return delivered, unmet

    def position(self) -> np.ndarray:
        """Inventory position (t): on hand + on order - backorders."""
        if not self.any_backorders:
            return self.on_hand + self.on_order
        return self.on_hand + self.on_order - self.backorder
