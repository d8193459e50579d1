"""The comparison's report: the table of paired differences and ``report.md``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from simulator.variants import _text

if TYPE_CHECKING:
    from simulator.comparison import Comparison


def _cell(mean: float, low: float, high: float, scale: float, fmt: str) -> str:
    if math.isnan(mean):
        return "–"
    if math.isnan(low):
        return f"{mean / scale:{fmt}}"
    return f"{mean / scale:+{fmt}} [{low / scale:+{fmt}}, {high / scale:+{fmt}}]"


REPORT_METRICS = (("cost_usd", 1e6, ",.1f", "cost (USD m)"),
                  ("unmet_t", 1.0, ",.0f", "unmet (t)"),
                  ("fill_rate", 1.0, ".4f", "fill rate"),
                  ("stockout_days", 1.0, ",.1f", "stockout days"))


def report_rows(comp: Comparison) -> pd.DataFrame:
    """The report's table: per variant, means and paired differences with 95% CIs."""
    table = comp.table.set_index(["variant", "metric"])
    front = comp.frontier.set_index("variant")
    rows = []
    for v in comp.variants:
        row: dict[str, str] = {"variant": v}
        for metric, scale, fmt, label in REPORT_METRICS:
            r = table.loc[(v, metric)]
            row[label] = _cell(r["mean"], math.nan, math.nan, scale, fmt)
            row[f"Δ {label} [95% CI]"] = _cell(r["diff_vs_first"], r["diff_ci95_low"],
                                              r["diff_ci95_high"], scale, fmt)
        row["CVaR95 unmet (t)"] = f"{front.loc[v, 'unmet_t_cvar95']:,.0f}"
        rows.append(row)
    return pd.DataFrame(rows)


def _markdown(df: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |"
              for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _held_text(held: Mapping[str, list[str]]) -> list[str]:
    if not held:
        return []
    lines = ["Held for the whole horizon: these timeline events set a field that the variant "
             "sets, and the variant's value was kept instead:", ""]
    lines += [f"- `{name}`: " + "; ".join(notes) for name, notes in held.items()]
    return [*lines, ""]


def report_text(comp: Comparison, figures: bool = True) -> str:
    """``report.md`` of a comparison: the variants, the paired table and the frontier."""
    m = comp.manifest
    ref = comp.variants[0]
    defs = [f"- `{name}`: " + (", ".join(f"`{p}` = `{_text(v)}`" for p, v in sets.items())
                               or "the scenario as written") for name, sets in
            m["variants"].items()]
    text = [
        f"# {m['scenario']['name']}: policy comparison ({m['verb']})", "",
        m["scenario"].get("description", ""), "",
        f"{len(comp.variants)} variants x {m['replications']} replications, seed {m['seed']},"
        f" scenario hash `{m['scenario_hash']}`, magsim {m['version']}.", "",
        "## Variants", "", *defs, "", *_held_text(m.get("held", {})),
        "## Comparison (total over all buyers)", "",
        f"Means over replications, and paired differences against `{ref}` with 95% "
        "confidence intervals (t distribution of the per-replication differences). Every "
        "variant sees the same demand, transit and licensing draws in replication *k* "
        "(common random numbers), so the intervals are those of the policy's effect; one "
        "that excludes 0 is unlikely to be noise for that one variant and metric, but at a "
        "95% level about one interval in twenty excludes 0 by chance, and this table holds "
        "many. Costs: holding of buyer stock and stockpiles, premiums over China's price, "
        "and lost units valued per sector (`costs:`); one-off investments are not included.",
        "", _markdown(report_rows(comp)), "",
        "All metrics, and lost units per sector: `comparison.csv`; distributions: "
        "`summary.csv`; per-replication values: `replications.parquet`.", "",
    ]
    if figures:
        text += ["## Cost vs tail shortage", "", "![frontier](figures/frontier.png)", "",
                 "Lower left is better: expected total cost against the mean unmet tonnes of "
                 "the worst 5% of replications (CVaR95). Bars: the 95% interval of each "
                 f"variant's cost difference from `{ref}` (paired); CVaR95 of "
                 f"{m['replications']} replications has no interval here, so points close "
                 "in the vertical may not differ.", ""]
    return "\n".join(text)
