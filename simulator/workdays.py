"""Working-day clock: Monday to Friday, less a holiday list.

Working time advances by one unit over each working calendar day and stands still on
weekends and holidays. Licence reviews and the statutory cap are counted on this clock;
:meth:`WorkCalendar.add` turns "w working days after time t" into simulation time (days).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable

import numpy as np


class WorkCalendar:
    """Working days over a horizon of ``days`` calendar days from ``start``."""

    def __init__(self, start: dt.date, days: int, holidays: Iterable[dt.date] = ()) -> None:
        span = days + 3 * 365  # room for reviews that end after the horizon
        dates = np.arange(np.datetime64(start), np.datetime64(start) + span)
        weekday = (dates.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 is Thu
        work = weekday < 5
        hol = np.array([np.datetime64(h) for h in holidays], dtype="datetime64[D]")
        work &= ~np.isin(dates, hol)
        self.work = work.astype(float)
        self.cum = np.concatenate(([0.0], np.cumsum(self.work)))  # cum[d] = working days < d
        self._work, self._cum = self.work.tolist(), self.cum.tolist()  # fast scalar access

    def clock(self, t: float) -> float:
        """Working days elapsed from day 0 to simulation time ``t``."""
        d = int(t)
        return self._cum[d] + self._work[d] * (t - d)

    def add(self, t: float, working_days: float) -> float:
        """Simulation time at which ``working_days`` working days have passed since ``t``."""
        target = self.clock(t) + working_days
        i = bisect.bisect_left(self._cum, target)  # first day-end reaching it
        if i == 0:
            return t
        d = i - 1  # cum[d] < target <= cum[d] + work[d], so day d is a working day
        return max(t, d + (target - self._cum[d]))

    def between(self, t0: float, t1: float) -> float:
        """Working days from ``t0`` to ``t1``."""
        return self.clock(t1) - self.clock(t0)

    def at_day(self, day: int) -> float:
        """Working clock (working days since day 0) at the start of calendar day ``day``."""
        return self._cum[day]

    def times(self, w: np.ndarray, lower: np.ndarray | float) -> np.ndarray:
        """Earliest simulation times (days), not before ``lower``, at which the working clock
        reads ``w`` (working days since day 0): the inverse of :meth:`clock`, vectorised.

        ``add(t, x) == times(clock(t) + x, t)``; a time that ends a working day maps to the
        start of the next calendar day, so decisions fall on working days.
        """
        d = np.searchsorted(self.cum, w, side="left") - 1  # cum[d] < w <= cum[d] + work[d]
        t = np.where(d >= 0, d + (w - self.cum[np.maximum(d, 0)]), 0.0)
        return np.maximum(t, lower)
