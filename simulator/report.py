"""Figures and ``report.md`` of a run directory."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

FIGURES = {
    "exports_world.png": ("plot_exports", {"destination": "WORLD"}),
    "exports_us.png": ("plot_exports", {"destination": "US"}),
    "cover.png": ("plot_cover", {}),
    "shortage.png": ("plot_shortage", {}),
    "backlog.png": ("plot_backlog", {}),
    "validation.png": ("plot_validation", {}),
}


def write_figures(results: object, directory: Path) -> list[Path]:
    """Draw every figure of a run into ``directory`` as PNG."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    regions = set(results.exports.destination)
    for name, (method, kwargs) in FIGURES.items():
        if kwargs.get("destination", "WORLD") not in regions:
            continue
        if method == "plot_validation" and results.exports.observed_t.isna().all():
            continue
        fig = getattr(results, method)(**kwargs)
        fig.savefig(directory / name, dpi=110)
        plt.close(fig)
        out.append(directory / name)
    return out


def _number(v: object) -> str:
    """A table cell: a dash for undefined, thousands separators, three significant digits
    below 100.
    """
    if not isinstance(v, float):
        return str(v)
    if v != v:  # NaN: undefined, e.g. recovery in a group that never ran out
        return "—"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_number(v) for v in row) + " |")
    return "\n".join(lines)


GATE_UNITS = {"backlog_peak_t": "t, highest day", "mean_review_days": "working days",
              "approval_rate": "share of decided t", "dispatched_t": "t, whole horizon"}


def _shortage(s: pd.DataFrame) -> pd.DataFrame:
    """Sector, region and total rows: unmet tonnes (mean, p95), fill rate, stockout days,
    recovery days.
    """
    by = s[s.level.isin(["sector", "region", "total"])].set_index(["level", "entity", "metric"])
    rows = by.index.droplevel("metric").unique()
    out = pd.DataFrame({"level": rows.get_level_values(0), "entity": rows.get_level_values(1)})
    for col, (metric, stat) in {"unmet t (mean)": ("unmet_t", "mean"),
                                "unmet t (p95)": ("unmet_t", "p95"),
                                "fill rate (%)": ("fill_rate", "mean"),
                                "stockout days": ("stockout_days", "mean"),
                                "recovery days †": ("recovery_days", "mean")}.items():
        v = [by.loc[(lv, e, metric), stat] for lv, e in rows]
        out[col] = [100.0 * x for x in v] if metric == "fill_rate" else v
    return out


def sector_units(scenario: dict) -> dict[str, str]:
    """What a lost unit is in each sector whose buyers count units (e.g. ``vehicles +
    e-two-wheelers`` where its buyers count different ones), from a resolved scenario dict.
    """
    names: dict[str, list[str]] = {}
    for b in scenario["buyers"].values():
        if b["demand"].get("kg_per_unit") is not None:
            names.setdefault(b["sector"], []).append(b.get("unit_name", "units"))
    return {sec: " + ".join(dict.fromkeys(u)) for sec, u in names.items()}


def _lost_units(s: pd.DataFrame, scenario: dict) -> pd.DataFrame:
    """Lost units per sector (mean, p95) with what a unit is."""
    lost = s[(s.level == "sector") & (s.metric == "lost_units")].set_index("entity")
    return pd.DataFrame([{"sector": sec, "lost units (mean)": lost.loc[sec, "mean"],
                          "lost units (p95)": lost.loc[sec, "p95"], "unit": unit}
                         for sec, unit in sector_units(scenario).items() if sec in lost.index])


def _timeline(scenario: dict) -> pd.DataFrame:
    """Every timeline event: date, its number on the figures (marked events), label."""
    rows, k = [], 0
    for e in scenario.get("timeline", []):
        k += bool(e.get("shade"))
        rows.append({"date": str(e["date"]), "on figures": f"({k})" if e.get("shade") else "",
                     "event": e["label"]})
    return pd.DataFrame(rows)


def _shock(scenario: dict) -> str:
    """The shock that recovery counts from, as report.md states it (the scenario as stored
    in the manifest; the same rule as :func:`simulator.metrics.shock_day`).
    """
    if scenario.get("shock"):
        return f"{scenario['shock']}, the scenario's `shock`"
    events = scenario.get("timeline", [])
    shaded = [e for e in events if e.get("shade")]
    if events:
        e = (shaded or events)[0]
        return f"{e['date']}, {e['label']}"
    if scenario.get("disruptions"):
        return "each replication's first random disruption"
    return f"{scenario['horizon']['start']}, the first day: no timeline"


def write_report(results: object, directory: Path) -> Path:
    """Write ``report.md``: headline metrics by sector and region, the gate, the timeline
    and the figures.
    """
    s: pd.DataFrame = results.summary
    m = results.manifest
    sc = m["scenario"]
    gate = s[s.level == "gate"][["metric", "mean", "p5", "p95"]].copy()
    gate.insert(1, "unit", [GATE_UNITS.get(x, "") for x in gate.metric])
    lost = _lost_units(s, sc)
    timeline = _timeline(sc)
    horizon = f"{sc['horizon']['start']} to {sc['horizon']['end']}"
    text = [
        f"# {sc['name']}: magsim run report", "",
        sc.get("description", ""), "",
        f"{m['replications']} replications, seed {m['seed']}, scenario hash "
        f"`{m['scenario_hash']}`, magsim {m['version']}; horizon {horizon}.", "",
        "## Shortage (across replications)", "", _table(_shortage(s)), "",
        "Means across replications unless marked p95. † Recovery days: the mean over the "
        "replications that ran out (undefined, —, where none did); days from the first "
        f"stockout on or after the shock ({_shock(sc)}) until cover on hand is back to 90% "
        "of its median before the shock (docs/model.md §12). For a region "
        "or the total, stockouts count days on which any of its buyers is short, while "
        "recovery is read on the group's pooled cover, so a member can still be short after "
        "the group has recovered; per buyer figures are in `summary.csv`.", "",
    ]
    if len(lost):
        text += ["### Lost units by sector", "", _table(lost), "",
                 "A sector whose buyers count different units adds their counts (the unit "
                 "column lists them); lost units are not added across sectors.", ""]
    text += ["## The gate", "", _table(gate), ""]
    if len(timeline):
        text += ["## Timeline", "", _table(timeline), "",
                 "Numbered events are dashed lines on the figures, the others dotted; the "
                 "scenario file gives each one's source.", ""]
    drawn = [name for name in FIGURES if (directory / "figures" / name).exists()]
    if drawn:
        text += ["## Figures", ""]
        text += [line for name in drawn for line in (f"![{name[:-4]}](figures/{name})", "")]
    text += [
        "Full distributions: `summary.csv` (mean, p5, p50, p95, CVaR95 per entity and metric),"
        " `replications.parquet` (one value per replication), `exports_monthly.csv`.", "",
    ]
    path = directory / "report.md"
    path.write_text("\n".join(text))
    return path
