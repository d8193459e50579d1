"""Figures (DESIGN §8): each function takes frames and returns a matplotlib figure."""

from __future__ import annotations

import re

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch
from matplotlib.patheffects import withStroke

from simulator.schema import Scenario  # noqa: E402

BAND = "#9ecae1"
LINE = "#08519c"
OBSERVED = "#d94801"


def _marked(scenario: Scenario) -> list:
    return [e for e in scenario.timeline if e.shade]


SHADE = "0.25"  # grey of the gate's refused share; alpha = SHADE_ALPHA x share
SHADE_ALPHA = 0.45


_REFUSED: dict[str, dict[str | None, list[tuple[int, float]]]] = {}


def _refused(scenario: Scenario, region: str | None = None) -> list[tuple[int, float]]:
    """:func:`simulator.plan.refused_share` of the scenario's timeline phases for ``region``
    (None, or a destination that is not a region such as WORLD: all buyers). Computed for
    every region from one compiled plan, kept for the last scenario: a run's figures share it.
    """
    from simulator.plan import compile_plan, refused_share
    from simulator.scenarios import scenario_hash

    key = scenario_hash(scenario)
    if key not in _REFUSED:
        plan = compile_plan(scenario)
        _REFUSED.clear()
        _REFUSED[key] = {r: refused_share(plan, r) for r in (None, *plan.regions)}
    spans = _REFUSED[key]
    return spans.get(region, spans[None])


def _gate_shade(ax: plt.Axes, scenario: Scenario, spans: list[tuple[int, float]],
                percent: bool = False) -> Patch:
    """Shade each timeline phase by ``spans``' share of China-bound tonnes the gate would
    refuse at a first decision: darker is tighter. With ``percent``, runs of one share at
    least 45 days long are labelled with it at the foot of the axes, at the run's start (a
    trough tends to come later in a tight phase), under the data (lines and markers draw
    over it). Returns a legend handle.
    """
    start = np.datetime64(scenario.horizon.start)
    end = int((np.datetime64(scenario.horizon.end) + 1 - start).astype(int))
    runs: list[list] = []  # [first day, stop day, share], consecutive phases of one share
    for k, (day, share) in enumerate(spans):
        stop = spans[k + 1][0] if k + 1 < len(spans) else end
        if runs and abs(runs[-1][2] - share) < 1e-9:
            runs[-1][1] = stop
        else:
            runs.append([day, stop, share])
    for day, stop, share in runs:
        if share <= 0:
            continue
        ax.axvspan(start + day, start + stop, color=SHADE, alpha=SHADE_ALPHA * share, lw=0)
        if percent and stop - day >= 45:
            ax.text(start + day + 4, 0.02, f"{share:.0%}", ha="left", va="bottom",
                    fontsize=7, color="0.25", transform=ax.get_xaxis_transform(), zorder=1.5,
                    path_effects=[withStroke(linewidth=2.5, foreground="white")])
    label = "grey: share of China-bound t refused\nat a first decision (darker = tighter"
    return Patch(color=SHADE, alpha=SHADE_ALPHA * 0.5,
                 label=label + ("; % at foot)" if percent else ")"))


def _legend(ax: plt.Axes, shade: Patch, title: str | None = None) -> None:
    """The axes' legend with the gate's shading added, above the axes (data fill every
    corner of these figures), under ``title`` (the figure's title: a suptitle would
    overlap a legend placed outside the axes).
    """
    handles, labels = ax.get_legend_handles_labels()
    ax.figure.legend([*handles, shade], [*labels, shade.get_label()], loc="outside upper center",
                     fontsize=8, ncols=3, frameon=False, title=title, title_fontsize=12)


def _events(ax: plt.Axes, scenario: Scenario, label: bool = True) -> None:
    """Draw marked timeline events as dashed lines numbered at the top (the key is added
    under the figure by :func:`_event_key`), the other events as dotted lines.
    """
    k = 0
    for ev in scenario.timeline:
        at = np.datetime64(ev.date)
        if not ev.shade:
            ax.axvline(at, color="0.4", lw=0.8, ls=":")
            continue
        k += 1
        ax.axvline(at, color="0.35", lw=0.8, ls="--")
        if label:
            ax.text(at, 1.0, str(k), transform=ax.get_xaxis_transform(), ha="center",
                    va="center", fontsize=7, color="0.15", clip_on=False,
                    bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": "0.35", "lw": 0.6})


def _event_key(fig: Figure, scenario: Scenario) -> None:
    """The numbered timeline events, as a wrapped footnote under the figure."""
    import textwrap

    items = [f"({i + 1}) {e.date:%d %b %Y}: {e.label}" for i, e in enumerate(_marked(scenario))]
    if len(items) < len(scenario.timeline):
        items.append("dotted: other timeline events (the scenario's timeline; a run's report.md)")
    if not items:
        return
    items = [x.replace(" ", "\u00a0") for x in items]  # no-break spaces: wrap between items
    text = "\n".join(textwrap.wrap("   ".join(items), 170, break_long_words=False))
    fig.supxlabel(text, x=0.01, ha="left", fontsize=7, color="0.25")


def _dates(ax: plt.Axes) -> None:
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
    ax.grid(alpha=0.3)


def _derived(scenario: Scenario) -> set[tuple[str, str]]:
    """(month, destination) of the scenario's observed figures that are derived, not stated
    by their source (none if the data file cannot be read where the figure is drawn).
    """
    from simulator.observed import load_observed
    from simulator.yamlsrc import InputError

    try:
        obs = load_observed(scenario.observed_exports)
    except (OSError, InputError):
        return set()
    return set(zip(obs.month[obs.derived], obs.destination[obs.derived], strict=True))


def _observed(ax: plt.Axes, d: pd.DataFrame, derived: set[tuple[str, str]], ms: float) -> None:
    """Observed monthly tonnes at ``d.t``: filled where the source states the figure, hollow
    where it was back-calculated from a reported change or share.
    """
    obs = d.dropna(subset=["observed_t"])
    back = np.array([(m, x) in derived for m, x in zip(obs.month, obs.destination,
                                                       strict=True)], dtype=bool)
    if (~back).any():
        ax.plot(obs.t[~back], obs.observed_t[~back], "o", color=OBSERVED, ms=ms,
                label="observed (China customs, HS 8505.11)")
    if back.any():
        ax.plot(obs.t[back], obs.observed_t[back], "o", mfc="white", mec=OBSERVED, mew=1.5,
                ms=ms, label="observed, derived from a reported change or share")


def exports(df: pd.DataFrame, scenario: Scenario, destination: str = "WORLD") -> Figure:
    """Monthly tonnes dispatched by China to ``destination``: model band vs observed."""
    d = df[df.destination == destination].copy()
    d["t"] = pd.to_datetime(d.month) + pd.Timedelta(days=14)
    fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
    ax.fill_between(d.t, d.dispatched_t_p5, d.dispatched_t_p95, color=BAND, alpha=0.6,
                    label="model, p5–p95 of replications")
    ax.plot(d.t, d.dispatched_t_mean, color=LINE, lw=2, label="model, mean")
    _observed(ax, d, _derived(scenario), ms=6)
    shade = _gate_shade(ax, scenario, _refused(scenario, destination), True)
    _events(ax, scenario)
    _event_key(fig, scenario)
    _dates(ax)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("NdFeB magnets dispatched (t/month)")
    _legend(ax, shade, f"China's magnet exports to {destination}: licensing gate outflow vs "
            "observed")
    return fig


def cover(df: pd.DataFrame, scenario: Scenario) -> Figure:
    """Days of cover on hand per sector: median, p25–p75 and p5–p95 across replications."""
    from simulator.ensemble import COVER_BINS

    sectors = list(dict.fromkeys(df.sector))
    fig, axes = plt.subplots(len(sectors), 1, figsize=(10, 2.2 * len(sectors) + 0.6),
                             sharex=True, layout="constrained", squeeze=False)
    spans, shades = _refused(scenario), []
    for ax, s in zip(axes[:, 0], sectors, strict=True):
        d = df[df.sector == s]
        t = pd.to_datetime(d.date)
        ax.fill_between(t, d.cover_days_p5, d.cover_days_p95, color=BAND, alpha=0.5,
                        lw=0, label="p5–p95")
        ax.fill_between(t, d.cover_days_p25, d.cover_days_p75, color=LINE, alpha=0.35,
                        lw=0, label="p25–p75")
        ax.plot(t, d.cover_days_p50, color=LINE, lw=1.5, label="median")
        if d.cover_days_p95.max() >= COVER_BINS - 1:
            ax.axhline(COVER_BINS - 1, color="0.4", lw=0.8, ls="-.")
            ax.text(0.995, COVER_BINS - 1, f"cover is counted up to {COVER_BINS - 1} days ",
                    transform=ax.get_yaxis_transform(), ha="right", va="top", fontsize=7,
                    color="0.3")
        shades.append(_gate_shade(ax, scenario, spans, percent=ax is axes[0, 0]))
        _events(ax, scenario, label=ax is axes[0, 0])
        _dates(ax)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(f"{s}\ncover (days)")
    _legend(axes[0, 0], shades[0], "Days of magnet cover on hand by sector, across replications")
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
    shade = _gate_shade(ax, scenario, _refused(scenario), True)
    _events(ax, scenario)
    _event_key(fig, scenario)
    _dates(ax)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("licence backlog (t): awaiting\na decision or a re-filing")
    _legend(ax, shade, "Licence backlog at China's export gate")
    return fig


def _place_labels(ax: plt.Axes, xs: np.ndarray, ys: np.ndarray, labels: list[str]) -> None:
    """Annotate points, moving a label to another side of its point if it would overlap
    a point or a label already placed or leave the axes (greedy, in display pixels at 100
    dpi; about 6.5 px per character and 13.5 px per line at 8 pt). Labels do not squeeze
    the axes; the x margins leave room.
    """
    fig = ax.figure
    fig.canvas.draw()  # fixes the limits so data -> pixel is final
    placed: list[tuple[float, float, float, float]] = [
        (px - 5, py - 5, px + 5, py + 5) for px, py in ax.transData.transform(
            np.column_stack([xs, ys]))]
    sides = [(6, 4, "left"), (6, -12, "left"), (-6, 4, "right"), (-6, -12, "right"),
             (6, 14, "left"), (6, -22, "left"), (-6, 14, "right"), (-6, -22, "right"),
             (6, 26, "left"), (6, -34, "left"), (-6, 26, "right"), (-6, -34, "right")]

    def inside(box: tuple[float, float, float, float], b: tuple[float, ...]) -> float:
        return (max(0.0, min(box[2], b[2]) - max(box[0], b[0])) *
                max(0.0, min(box[3], b[3]) - max(box[1], b[1])))

    frame = tuple(ax.bbox.extents)

    def overlap(box: tuple[float, float, float, float]) -> float:
        """Area shared with placed boxes, plus the area outside the axes (cut off)."""
        outside = (box[2] - box[0]) * (box[3] - box[1]) - inside(box, frame)
        return sum(inside(box, b) for b in placed) + outside

    for x, y, text in sorted(zip(xs, ys, labels, strict=True), key=lambda p: (p[0], p[1])):
        px, py = ax.transData.transform((x, y))
        lines = text.split("\n")
        w, h = 6.5 * max(map(len, lines)), 13.5 * len(lines)
        options = []
        for dx, dy, ha in sides:
            if dy < 0:
                dy -= h - 13.5  # below the point: the whole label stays below
            x0 = px + dx if ha == "left" else px + dx - w
            box = (x0, py + dy, x0 + w, py + dy + h)
            options.append((overlap(box), box, dx, dy, ha))
            if options[-1][0] == 0:
                break
        _, box, dx, dy, ha = min(options, key=lambda o: o[0])  # the first of the least
        placed.append(box)
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(dx * 0.75, dy * 0.75),
                    ha=ha, va="bottom", fontsize=8).set_in_layout(False)


def variant_label(name: str) -> str:
    """A variant's label on the frontier: a sweep point's settings
    (``gate.reviewers=300,china.export_capacity_t_per_day=250``) one per line, each path cut
    to its last segment; other names as they are.
    """
    parts = re.split(r",(?=[^,=]+=)", name)
    if not all("=" in p for p in parts):
        return name
    return "\n".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in (p.split("=", 1) for p in parts))


def _stagger(ax: plt.Axes, y: np.ndarray, step_px: float = 5.0) -> np.ndarray:
    """Vertical offsets (data units) that set apart, ``step_px`` pixels from each other and
    centred on their points, the marks of points whose heights lie within ``step_px`` of the
    next; other points get 0.
    """
    ax.figure.canvas.draw()  # fixes the limits so data -> pixel is final
    py = ax.transData.transform(np.column_stack([np.zeros_like(y), y]))[:, 1]
    per_px = (ax.get_ylim()[1] - ax.get_ylim()[0]) / ax.bbox.height
    order = np.argsort(py, kind="stable")
    group = np.concatenate(([0], np.cumsum(np.diff(py[order]) >= step_px)))
    off = np.zeros(len(y))
    for g in np.unique(group):
        members = order[group == g]
        off[members] = (np.arange(len(members)) - (len(members) - 1) / 2) * step_px * per_px
    return off


def frontier(df: pd.DataFrame, scenario: str = "") -> Figure:
    """Expected total cost vs CVaR95 of unmet tonnes, one labelled point per variant of
    ``scenario`` (its name); the dashed line joins the variants no other variant beats on
    both axes.
    """
    fig, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
    x, y = df.cost_usd_mean.to_numpy() / 1e6, df.unmet_t_cvar95.to_numpy()
    labels = [variant_label(str(v)) for v in df.variant]
    ax.scatter(x, y, s=50, color=LINE, zorder=3)
    ax.margins(x=0.25, y=0.12)  # room for the labels, which do not enter the layout
    order = np.lexsort((y, x))
    best, front = np.inf, []
    for i in order:
        if y[i] < best:
            best = y[i]
            front.append(i)
    ax.plot(x[front], y[front], ls="--", color="0.5", lw=1, zorder=2,
            label="efficient: no variant is cheaper and safer")
    if "cost_usd_ci95_low" in df:
        err = np.stack([x - df.cost_usd_ci95_low.to_numpy() / 1e6,
                        df.cost_usd_ci95_high.to_numpy() / 1e6 - x])
        if np.isfinite(err).any() and (np.nan_to_num(err) > 0).any():
            # bars of points at about the same CVaR are drawn a few pixels apart
            ax.errorbar(x, y + _stagger(ax, y), xerr=np.clip(np.nan_to_num(err), 0, None),
                        fmt="none", ecolor=BAND, elinewidth=2, capsize=3, zorder=2,
                        label="95% interval of the cost difference from "
                              f"{labels[0].replace(chr(10), ', ')} (paired)")
    if ax.get_xlim()[0] < 0 <= x.min():
        ax.set_xlim(left=0)  # the margin, not a cost
    _place_labels(ax, x, y, labels)
    ax.set_xlabel("expected total cost (USD m): holding + premiums + shortage")
    ax.set_ylabel("CVaR95 of unmet demand (t)")
    handles, texts = ax.get_legend_handles_labels()
    fig.legend(handles, texts, loc="outside upper center", fontsize=8, ncols=1,
               frameon=False, title_fontsize=12,
               title=f"{scenario + ': ' if scenario else ''}cost vs tail shortage of the "
                     "variants (lower left is better)")
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
    derived = _derived(scenario)
    for ax, dest in zip(axes.flat, dests, strict=False):
        e = d[d.destination == dest]
        t = pd.to_datetime(e.month) + pd.Timedelta(days=14)
        ax.fill_between(t, e.dispatched_t_p5, e.dispatched_t_p95, color=BAND, alpha=0.6,
                        lw=0, label="model p5–p95")
        ax.plot(t, e.dispatched_t_mean, color=LINE, lw=1.8, label="model mean")
        _observed(ax, e.assign(t=t), derived, ms=5)
        shade = _gate_shade(ax, scenario, _refused(scenario, dest))
        _events(ax, scenario, label=True)
        _dates(ax)
        ax.set_xlim(pd.Timestamp(f"{start}-01"), pd.Timestamp(f"{stop}-01") +
                    pd.Timedelta(days=31))
        ax.set_ylim(bottom=0)
        ax.set_ylabel("t/month")
        ax.set_title(dest, loc="left", fontsize=10, pad=10)
    _legend(axes[0, 0], shade, "China's NdFeB magnet exports by destination: model (mean, "
            "p5–p95) vs customs")
    _event_key(fig, scenario)
    return fig
