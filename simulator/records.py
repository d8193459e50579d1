"""Daily records of one replication: preallocated arrays, filled once per day.

Arrays are laid out [day, entity] so that each day's write is one contiguous row. Buyer
arrays are in tonnes (t) unless noted; "day d" covers the interval (d-1, d] of simulation
time, so a licence decided during day d-1's night is counted on day d.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

BUYER_FIELDS = (
    "inventory",  # on hand at the end of the day (t)
    "demand",  # demand after substitution (t)
    "delivered",  # demand served from stock (t)
    "unmet",  # demand not served on its day (t)
    "backorder",  # backordered tonnes at the end of the day (t)
    "received",  # ordered tonnes arrived: China, suppliers, gray channel (t)
    "received_gray",  # of which via the gray channel (t)
    "released",  # stockpile releases arrived (t)
    "ordered",  # tonnes ordered at review (t)
    "on_order",  # ordered, not yet arrived nor lost (t)
    "licence_backlog",  # awaiting a licence decision or re-application (t)
    "awaiting_dispatch",  # approved or open, waiting for China's capacity (t)
    "in_transit",  # dispatched or shipped, not yet arrived (t)
    "supplier_backlog",  # waiting for an ex-China supplier's output (t)
    "lost_denied",  # denied and given up (t)
    "premium_usd",  # premium paid over China on tonnes shipped that day (USD)
    "substituted_share",  # share (0-1) of demand moved to magnet-free designs
)
STATE_FIELDS = ("inventory", "on_order", "backorder", "licence_backlog", "awaiting_dispatch",
                "in_transit")
"""Buyer fields that are end-of-day state vectors: the model keeps them as the rows of one
[field, buyer] array (:attr:`Recorder.state`) and logs it in one copy per day."""
REGION_FIELDS = ("applied", "approved", "denied", "dispatched")  # t per region per day
GATE_FIELDS = ("queue_applications", "in_review_applications", "decisions", "review_wd_sum")


@dataclass(frozen=True)
class Records:
    """Immutable daily arrays of one replication ([day, buyer], [day, region], ...)."""

    replication: int
    inventory: np.ndarray
    demand: np.ndarray
    delivered: np.ndarray
    unmet: np.ndarray
    backorder: np.ndarray
    received: np.ndarray
    received_gray: np.ndarray
    released: np.ndarray
    ordered: np.ndarray
    on_order: np.ndarray
    licence_backlog: np.ndarray
    awaiting_dispatch: np.ndarray
    in_transit: np.ndarray
    supplier_backlog: np.ndarray
    lost_denied: np.ndarray
    premium_usd: np.ndarray
    substituted_share: np.ndarray
    applied: np.ndarray
    approved: np.ndarray
    denied: np.ndarray
    dispatched: np.ndarray
    queue_applications: np.ndarray
    in_review_applications: np.ndarray
    decisions: np.ndarray
    review_wd_sum: np.ndarray
    stockpile: np.ndarray  # [day, stockpile] level at the end of the day (t)
    stockpile_refill: np.ndarray  # [day, stockpile] bought back that day (t)
    supplier_shipped: np.ndarray  # [day, supplier] (t)
    disrupted: np.ndarray  # [day, disruption] 1.0 where a random disruption is in force
    applications: tuple[tuple[float, float, float, int, bool], ...] = ()
    """With tracing on: (filed, review start or NaN, decided, buyer, approved) per licence."""

    def array_names(self) -> list[str]:
        """Names of the daily arrays."""
        return [f.name for f in fields(self) if isinstance(getattr(self, f.name), np.ndarray)]


class Recorder:
    """Mutable buffers the model writes into; :meth:`freeze` returns :class:`Records`.

    With ``reps`` replications stepped together (:mod:`simulator.lockstep`) every entity
    axis holds ``reps`` blocks, replication-major, and gate series are [day, replication].
    """

    def __init__(self, days: int, buyers: int, regions: int, stockpiles: int,
                 suppliers: int, disruptions: int = 0, reps: int = 1) -> None:
        self.days, self.reps = days, reps
        self.sizes = {"buyer": buyers, "region": regions, "stockpile": stockpiles,
                      "supplier": suppliers, "disruption": disruptions}
        slots = buyers * reps
        for name in BUYER_FIELDS:
            if name not in STATE_FIELDS:
                setattr(self, name, np.zeros((days, slots)))
        self.state = np.zeros((len(STATE_FIELDS), slots))  # today's state vectors, by row
        self.state_log = np.zeros((days, len(STATE_FIELDS), slots))
        for name in REGION_FIELDS:
            # +1: decisions after the end
            setattr(self, name, np.zeros((days + 1, regions * reps)))
        for name in GATE_FIELDS:
            setattr(self, name, np.zeros((days + 1, reps)))
        self.stockpile = np.zeros((days, stockpiles * reps))
        self.stockpile_refill = np.zeros((days, stockpiles * reps))
        self.supplier_shipped = np.zeros((days, suppliers * reps))
        self.disrupted = np.zeros((days, disruptions * reps))
        self.applications: list[tuple[float, float, float, int, bool]] = []

    def row(self, name: str) -> np.ndarray:
        """The state vector ``name`` (a view into :attr:`state`, t per buyer)."""
        return self.state[STATE_FIELDS.index(name)]

    def log_state(self, day: int) -> None:
        """Record today's state vectors."""
        self.state_log[day] = self.state

    def freeze(self, replication: int, index: int = 0) -> Records:
        """The immutable records of the batch's ``index``-th replication (numbered
        ``replication``), spill-over slots trimmed.
        """
        n, b = self.days, self.sizes["buyer"]

        def part(x: np.ndarray, size: int) -> np.ndarray:
            if self.reps == 1:
                return x[:n]
            return np.ascontiguousarray(x[:n, index * size:(index + 1) * size])

        arrays = {name: part(getattr(self, name), b) for name in BUYER_FIELDS
                  if name not in STATE_FIELDS}
        for k, name in enumerate(STATE_FIELDS):
            arrays[name] = np.ascontiguousarray(self.state_log[:, k, index * b:(index + 1) * b])
        for name in REGION_FIELDS:
            arrays[name] = part(getattr(self, name), self.sizes["region"])
        for name in GATE_FIELDS:
            arrays[name] = np.ascontiguousarray(getattr(self, name)[:n, index])
        for name, kind in (("stockpile", "stockpile"), ("stockpile_refill", "stockpile"),
                           ("supplier_shipped", "supplier"), ("disrupted", "disruption")):
            arrays[name] = part(getattr(self, name), self.sizes[kind])
        return Records(replication=replication, applications=tuple(self.applications),
                       **arrays)
