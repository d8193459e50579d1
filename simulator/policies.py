"""Replenishment policies as pure functions of inventory position (DESIGN §2.2).

Vectorised over buyers: ``kind`` holds each buyer's policy code (see :mod:`simulator.plan`).
:class:`Rules` resolves a phase's per-buyer branches once, so the daily step pays only for
the policies actually in use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.plan import BASE_STOCK, DAYS_OF_COVER, SS, BuyerParams


@dataclass(frozen=True)
class Rules:
    """The policies of one phase with their per-buyer branches resolved.

    At a review, the order-up-to level S is ``order_up_to_t`` (base_stock, sS) or
    ``target_days`` x forecast daily demand (days_of_cover); the order is S - position when
    positive, and zero for an sS buyer whose position is above s (it orders at position <= s).
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


__all__ = ["BASE_STOCK", "DAYS_OF_COVER", "SS", "Rules"]
