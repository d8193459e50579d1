"""Replenishment policies as pure functions of inventory position (DESIGN §2.2).

Vectorised over buyers: ``kind`` holds each buyer's policy code (see :mod:`simulator.plan`).
"""

from __future__ import annotations

import numpy as np

from simulator.plan import BASE_STOCK, DAYS_OF_COVER, SS


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


__all__ = ["BASE_STOCK", "DAYS_OF_COVER", "SS", "order_quantity", "order_up_to_level"]
