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
    """Mutable buffers the model writes into; :meth:`freeze` returns :class:`Records`."""

    def __init__(self, days: int, buyers: int, regions: int, stockpiles: int,
                 suppliers: int, disruptions: int = 0) -> None:
        self.days = days
        for name in BUYER_FIELDS:
            if name not in STATE_FIELDS:
                setattr(self, name, np.zeros((days, buyers)))
        self.state = np.zeros((len(STATE_FIELDS), buyers))  # today's state vectors, by row
        self.state_log = np.zeros((days, len(STATE_FIELDS), buyers))
        for name in REGION_FIELDS:
            setattr(self, name, np.zeros((days + 1, regions)))  # +1: decisions after the end
        for name in GATE_FIELDS:
            setattr(self, name, np.zeros(days + 1))
        self.stockpile = np.zeros((days, stockpiles))
        self.stockpile_refill = np.zeros((days, stockpiles))
        self.supplier_shipped = np.zeros((days, suppliers))
        self.disrupted = np.zeros((days, disruptions))
        self.applications: list[tuple[float, float, float, int, bool]] = []

    def row(self, name: str) -> np.ndarray:
        """The state vector ``name`` (a view into :attr:`state`, t per buyer)."""
        return self.state[STATE_FIELDS.index(name)]

    def log_state(self, day: int) -> None:
        """Record today's state vectors."""
        self.state_log[day] = self.state

    def freeze(self, replication: int) -> Records:
        """Trim the spill-over slots and return the immutable records."""
        arrays = {f.name: getattr(self, f.name) for f in fields(Records)
                  if f.name not in ("replication", "applications") + STATE_FIELDS}
        for k, name in enumerate(STATE_FIELDS):
            arrays[name] = np.ascontiguousarray(self.state_log[:, k])
        n = self.days
        return Records(replication=replication, applications=tuple(self.applications),
                       **{k: v[:n] for k, v in arrays.items()})
