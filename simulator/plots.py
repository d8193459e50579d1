"""Figures (DESIGN §8): each function takes frames and returns a matplotlib figure."""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # noqa: E402

from simulator.schema import Scenario  # noqa: E402

BAND = "#9ecae1"
LINE = "#08519c"
OBSERVED = "#d94801"


def _marked(scenario: Scenario) -> list:
    return [e for e in scenario.timeline if e.shade]


def _events(ax: plt.Axes, scenario: Scenario, label: bool = True) -> None:
    """Shade the spans between marked timeline events and number each event at the top
    (the key is added under the figure by :func:`_event_key`).
    """
    marked = _marked(scenario)
    end = np.datetime64(scenario.horizon.end)
    for i, ev in enumerate(marked):
        start = np.datetime64(ev.date)
        stop = np.datetime64(marked[i + 1].date) if i + 1 < len(marked) else end
        ax.axvspan(start, stop, color="0.5" if i % 2 == 0 else "0.8", alpha=0.12, lw=0)
        ax.axvline(start, color="0.35", lw=0.8, ls="--")
        if label:
            ax.text(start, 1.0, str(i + 1), transform=ax.get_xaxis_transform(), ha="center",
                    va="center", fontsize=7, color="0.15", clip_on=False,
                    bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": "0.35", "lw": 0.6})


def _event_key(fig: Figure, scenario: Scenario) -> None:
    """The numbered timeline events, as a wrapped footnote under the figure."""
    import textwrap

    marked = _marked(scenario)
    if not marked:
        return
    items = [f"({i + 1}) {e.date:%d %b %Y}: {e.label}".replace(" ", "\u00a0")
             for i, e in enumerate(marked)]  # no-break spaces: wrap between events only
    text = "\n".join(textwrap.wrap("   ".join(items), 170, break_long_words=False))
    fig.supxlabel(text, x=0.01, ha="left", fontsize=7, color="0.25")


def _dates(ax: plt.Axes) -> None:
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
    ax.grid(alpha=0.3)


def exports(df: pd.DataFrame, scenario: Scenario, destination: str = "WORLD") -> Figure:
    """Monthly tonnes dispatched by China to ``destination``: model band vs observed."""
    d = df[df.destination == destination].copy()
    d["t"] = pd.to_datetime(d.month) + pd.Timedelta(days=14)
    fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
    ax.fill_between(d.t, d.dispatched_t_p5, d.dispatched_t_p95, color=BAND, alpha=0.6,
                    label="model, p5–p95 of replications")
    ax.plot(d.t, d.dispatched_t_mean, color=LINE, lw=2, label="model, mean")
    obs = d.dropna(subset=["observed_t"])
    if len(obs):
        ax.plot(obs.t, obs.observed_t, "o", color=OBSERVED, ms=6,
                label="observed (China customs, HS 8505.11)")
    _events(ax, scenario)
    _event_key(fig, scenario)
    _dates(ax)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("NdFeB magnets dispatched (t/month)")
    ax.set_title(f"China's magnet exports to {destination}: licensing gate outflow vs observed",
                 pad=12)
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    return fig


def cover(df: pd.DataFrame, scenario: Scenario) -> Figure:
    """Days of cover on hand per sector: median, p25–p75 and p5–p95 across replications."""
    sectors = list(dict.fromkeys(df.sector))
    fig, axes = plt.subplots(len(sectors), 1, figsize=(10, 2.2 * len(sectors) + 0.6),
                             sharex=True, layout="constrained", squeeze=False)
    for ax, s in zip(axes[:, 0], sectors, strict=True):
        d = df[df.sector == s]
        t = pd.to_datetime(d.date)
        ax.fill_between(t, d.cover_days_p5, d.cover_days_p95, color=BAND, alpha=0.5,
                        lw=0, label="p5–p95")
        ax.fill_between(t, d.cover_days_p25, d.cover_days_p75, color=LINE, alpha=0.35,
                        lw=0, label="p25–p75")
        ax.plot(t, d.cover_days_p50, color=LINE, lw=1.5, label="median")
        _events(ax, scenario, label=ax is axes[0, 0])
        _dates(ax)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(f"{s}\ncover (days)")
    axes[0, 0].legend(loc="lower left", fontsize=8, ncols=3)
    axes[0, 0].set_title("Days of magnet cover on hand by sector, across replications",
                         pad=12)
    _event_key(fig, scenario)
    return fig


def shortage(replications: pd.DataFrame, metric: str = "unmet_t") -> Figure:
    """Distribution across replications of a shortage metric per sector (box plots)."""
    d = replications[(replications.level == "sector") & (replications.metric == metric)]
    sectors = list(dict.fromkeys(d.entity))
    data = [d[d.entity == s].value.dropna().to_numpy() for s in sectors]
    fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    ax.boxplot(data, tick_labels=sectors, whis=(5, 95), showmeans=True)
    ax.set_ylabel("unmet demand over the horizon (t)" if metric == "unmet_t" else metric)
    ax.set_title("Shortage per sector across replications (whiskers p5–p95, ▲ mean)")
    ax.grid(axis="y", alpha=0.3)
    return fig


def backlog(df: pd.DataFrame, scenario: Scenario) -> Figure:
    """Tonnes awaiting a licence decision over time."""
    t = pd.to_datetime(df.date)
    fig, ax = plt.subplots(figsize=(10, 4), layout="constrained")
    ax.fill_between(t, df.backlog_t_p5, df.backlog_t_p95, color=BAND, alpha=0.6,
                    label="p5–p95")
    ax.plot(t, df.backlog_t_mean, color=LINE, lw=2, label="mean")
    _events(ax, scenario)
    _event_key(fig, scenario)
    _dates(ax)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("awaiting a licence decision (t)")
    ax.set_title("Licence backlog at China's export gate", pad=12)
    ax.legend(loc="upper left", fontsize=8)
    return fig


def _place_labels(ax: plt.Axes, xs: np.ndarray, ys: np.ndarray, labels: list[str]) -> None:
    """Annotate points, moving a label to another side of its point if it would overlap
    one already placed (greedy, in display pixels; about 6 px per character at 8 pt).
    """
    fig = ax.figure
    fig.canvas.draw()  # fixes the limits so data -> pixel is final
    placed: list[tuple[float, float, float, float]] = []
    sides = [(6, 4, "left"), (6, -12, "left"), (-6, 4, "right"), (-6, -12, "right"),
             (6, 14, "left"), (6, -22, "left")]
    for x, y, text in sorted(zip(xs, ys, labels, strict=True), key=lambda p: (p[0], p[1])):
        px, py = ax.transData.transform((x, y))
        w, h = 6.0 * len(text), 11.0
        for dx, dy, ha in sides:
            x0 = px + dx if ha == "left" else px + dx - w
            box = (x0, py + dy, x0 + w, py + dy + h)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                       for b in placed):
                break
        placed.append(box)
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(dx * 0.75, dy * 0.75),
                    ha=ha, fontsize=8)


def frontier(df: pd.DataFrame) -> Figure:
    """Expected total cost vs CVaR95 of unmet tonnes, one labelled point per variant; the
    dashed line joins the variants no other variant beats on both axes.
    """
    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    x, y = df.cost_usd_mean.to_numpy() / 1e9, df.unmet_t_cvar95.to_numpy()
    ax.scatter(x, y, s=50, color=LINE, zorder=3)
    order = np.lexsort((y, x))
    best, front = np.inf, []
    for i in order:
        if y[i] < best:
            best = y[i]
            front.append(i)
    ax.plot(x[front], y[front], ls="--", color="0.5", lw=1, zorder=2,
            label="efficient: no variant is cheaper and safer")
    _place_labels(ax, x, y, [str(v) for v in df.variant])
    ax.set_xlabel("expected total cost (billion USD): holding + premiums + shortage")
    ax.set_ylabel("CVaR95 of unmet demand (t)")
    ax.set_title("Stockpile policies: cost vs tail shortage (lower left is better)")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def validation(df: pd.DataFrame, scenario: Scenario, start: str = "2024-01",
               stop: str = "2025-12") -> Figure:
    """Modelled vs observed monthly exports, one panel per destination with observations."""
    d = df[(df.month >= start) & (df.month <= stop)].copy()
    dests = [x for x in dict.fromkeys(d.destination) if d[d.destination == x].observed_t.notna()
             .any()]
    cols = 2
    rows = -(-len(dests) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 3.2 * rows + 0.6), sharex=True,
                             layout="constrained", squeeze=False)
    for ax in axes.flat[len(dests):]:
        ax.set_visible(False)
    for ax, dest in zip(axes.flat, dests, strict=False):
        e = d[d.destination == dest]
        t = pd.to_datetime(e.month) + pd.Timedelta(days=14)
        ax.fill_between(t, e.dispatched_t_p5, e.dispatched_t_p95, color=BAND, alpha=0.6,
                        lw=0, label="model p5–p95")
        ax.plot(t, e.dispatched_t_mean, color=LINE, lw=1.8, label="model mean")
        ax.plot(t, e.observed_t, "o", color=OBSERVED, ms=5, label="observed")
        _events(ax, scenario, label=True)
        _dates(ax)
        ax.set_xlim(pd.Timestamp(f"{start}-01"), pd.Timestamp(f"{stop}-01") +
                    pd.Timedelta(days=31))
        ax.set_ylim(bottom=0)
        ax.set_ylabel("t/month")
        ax.set_title(dest, loc="left", fontsize=10, pad=10)
    axes[0, 0].legend(loc="lower left", fontsize=8)
    fig.suptitle("China's NdFeB magnet exports by destination: model (mean, p5–p95) vs customs")
    _event_key(fig, scenario)
    return fig
