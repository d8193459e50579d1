"""Calibration figures: each function takes frames and returns a matplotlib figure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure

from simulator.plots import BAND, LINE, OBSERVED, plt

BEFORE = "0.45"
CONTEXT_MONTHS = 6  # months shown before the first month used


def label(name: str, width: int = 48) -> str:
    """A parameter's name for a figure: the first of tied names, ``(+k tied)``, and the
    middle cut out if it is still too long.
    """
    first, *tied = name.split("+")
    if len(first) > width:
        first = first[:14] + "…" + first[-(width - 15):]
    return first + (f" (+{len(tied)} tied)" if tied else "")


def exports(before: pd.DataFrame, after: pd.DataFrame, obs: pd.DataFrame, title: str
            ) -> Figure:
    """Observed vs modelled monthly exports before and after the fit, a panel per
    destination used; the months used are shaded.

    Args:
        before, after: modelled t per month (index YYYY-MM) and destination (columns).
        obs: the observations used: month, destination, observed_t.
    """
    dests = list(dict.fromkeys(obs.destination))
    first = pd.Period(min(obs.month), "M")
    window = [m for m in after.index if pd.Period(m, "M") >= first - CONTEXT_MONTHS]
    x = pd.PeriodIndex(window, freq="M").to_timestamp() + pd.Timedelta(days=14)
    cols = 1 if len(dests) == 1 else 2
    rows = -(-len(dests) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 2.9 * rows + 0.5),
                             layout="constrained", squeeze=False)
    for ax in axes.flat[len(dests):]:
        ax.set_visible(False)
    for ax, d in zip(axes.flat, dests, strict=False):
        o = obs[obs.destination == d]
        ax.axvspan(first.to_timestamp(), pd.Period(max(obs.month), "M").end_time,
                   color=BAND, alpha=0.25, lw=0)
        ax.plot(x, before.loc[window, d], color=BEFORE, ls="--", lw=1.3, label="before")
        ax.plot(x, after.loc[window, d], color=LINE, lw=2, label="after")
        ax.plot(pd.PeriodIndex(o.month, freq="M").to_timestamp() + pd.Timedelta(days=14),
                o.observed_t, "o", color=OBSERVED, ms=5, label="observed")
        ax.set_title(d, fontsize=10, loc="left")
        ax.set_ylabel("t/month")
        ax.set_ylim(bottom=0)
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="lower left")
    fig.suptitle(f"{title}\nshaded: months used", fontsize=10)
    return fig


def slices(sl: pd.DataFrame, params: Sequence[dict[str, Any]], threshold: float) -> Figure:
    """Loss along each parameter through the fit (the others held there), with the slice
    95% interval (band) and the linearised joint one (bar).

    Args:
        sl: param, value, loss.
        params: calibration.json's ``params`` entries (name, before, after, intervals).
        threshold: slice loss at the edge of the slice interval.
    """
    n = len(params)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows + 0.4), squeeze=False,
                             layout="constrained")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, p in zip(axes.flat, params, strict=False):
        s = sl[sl.param == p["name"]]
        ax.plot(s.value, s.loss, "o-", color=LINE, ms=3)
        ax.axhline(threshold, color=OBSERVED, lw=0.8, ls="--")
        ax.axvspan(*p["slice_interval95"], color=BAND, alpha=0.5, lw=0)
        lo, hi = p["interval95"]
        ax.plot([lo, hi], [threshold, threshold], color=LINE, lw=4, alpha=0.5,
                solid_capstyle="butt")
        ax.axvline(p["after"], color=LINE, lw=0.8)
        ax.axvline(p["before"], color=BEFORE, lw=0.8, ls=":")
        ax.set_title(label(p["name"]), fontsize=7)
        top = threshold + 3 * (threshold - s.loss.min())
        ax.set_ylim(s.loss.min() - 0.1 * (top - s.loss.min()), top)
        ax.set_xlabel(f"value (pinned: {p['pinned']})", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("loss (mean sq. log error)")
    fig.suptitle("Loss along each parameter through the fit, the others held there.\nBand: "
                 "slice 95% interval (dashed: its loss threshold); bar: joint (linearised) 95% "
                 "interval; dotted: value before", fontsize=9)
    return fig
