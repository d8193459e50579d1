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


def _table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = [f"{v:,.3g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(results: object, directory: Path) -> Path:
    """Write ``report.md``: headline metrics by sector and region, and the figures."""
    s: pd.DataFrame = results.summary
    m = results.manifest
    keep = ["unmet_t", "fill_rate", "stockout_days", "lost_units", "recovery_days"]
    by = s[s.level.isin(["sector", "region", "total"]) & s.metric.isin(keep)]
    wide = by.pivot_table(index=["level", "entity"], columns="metric", values="mean",
                          sort=False).reset_index()
    gate = s[s.level == "gate"][["metric", "mean", "p5", "p95"]]
    text = [
        f"# {m['scenario']['name']}: magsim run report", "",
        m["scenario"].get("description", ""), "",
        f"{m['replications']} replications, seed {m['seed']}, scenario hash "
        f"`{m['scenario_hash']}`, magsim {m['version']}.", "",
        "## Shortage (means across replications)", "", _table(wide), "",
        "Lost units are vehicles, MW or systems (per buyer's `unit_name`); they are not "
        "added across sectors.", "",
        "## The gate", "", _table(gate), "",
        "## Figures", "",
        "![exports](figures/exports_world.png)", "",
        "![exports US](figures/exports_us.png)", "",
        "![backlog](figures/backlog.png)", "", "![cover](figures/cover.png)", "",
        "![shortage](figures/shortage.png)", "",
        "Full distributions: `summary.csv` (mean, p5, p50, p95, CVaR95 per entity and metric),"
        " `replications.parquet` (one value per replication), `exports_monthly.csv`.", "",
    ]
    path = directory / "report.md"
    path.write_text("\n".join(text))
    return path
