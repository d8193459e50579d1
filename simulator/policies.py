"""Replenishment policies as pure functions of inventory position (DESIGN §2.2).

Vectorised over buyers: ``kind`` holds each buyer's policy code (see :mod:`simulator.plan`).
:class:`Rules` resolves a phase's per-buyer branches once, so the daily step pays only for
the policies actually in use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.plan import BASE_STOCK, DAYS_OF_COVER, SS, BuyerParams


def order_up_to_level(kind: np.ndarray, order_up_to: np.ndarray, target_days: np.ndarray,
                      forecast: np.ndarray) -> np.ndarray:
    """S per buyer (t): fixed for base_stock and sS, target days x forecast for days_of_cover."""
    return np.where(kind == DAYS_OF_COVER, target_days * forecast, order_up_to)


def order_quantity(kind: np.ndarray, position: np.ndarray, level: np.ndarray,
                   reorder_point: np.ndarray) -> np.ndarray:
    """Tonnes to order per buyer at a review.

    Args:
        kind: policy code per buyer (BASE_STOCK, SS, DAYS_OF_COVER).
        position: inventory position (t): on hand + on order - backorders.
        level: order-up-to level S (t).
        reorder_point: s for sS buyers (t); ignored for the others.
    """
    gap = np.maximum(level - position, 0.0)
    trigger = np.where(kind == SS, position <= reorder_point, True)
    return np.where(trigger, gap, 0.0)


@dataclass(frozen=True)
class Rules:
    """The policies of one phase with their per-buyer branches resolved (see
    :func:`order_up_to_level` and :func:`order_quantity`, which this reproduces).
    """

    params: BuyerParams
    cover: np.ndarray | None  # days_of_cover buyers; None when all are
    ss: np.ndarray | None  # sS buyers; None when none are
    every_day: bool  # every buyer reviews daily
    china_only: bool  # every buyer sources from China only

    @classmethod
    def of(cls, p: BuyerParams) -> Rules:
        """Resolve the branches of ``p``."""
        cover = p.kind == DAYS_OF_COVER
        return cls(p, None if cover.all() else cover, (p.kind == SS) if (p.kind == SS).any()
                   else None, bool((p.period == 1).all()),
                   bool((p.china_share == 1.0).all()) and not p.supplier_share.any())

    def quantity(self, day: int, position: np.ndarray, forecast: np.ndarray) -> np.ndarray:
        """Tonnes to order per buyer on ``day`` (zero for buyers not reviewing that day)."""
        p = self.params
        level = p.target_days * forecast
        if self.cover is not None:
            level = np.where(self.cover, level, p.order_up_to)
        qty = level - position
        np.maximum(qty, 0.0, out=qty)
        if self.ss is not None:
            qty[self.ss & (position > p.reorder_point)] = 0.0
        if not self.every_day:
            qty[day % p.period != 0] = 0.0
        return qty


__all__ = ["BASE_STOCK", "DAYS_OF_COVER", "SS", "Rules", "order_quantity",
           "order_up_to_level"]
