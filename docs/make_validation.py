"""Regenerate the replay validation: figure and table in docs/validation.md.

    python docs/make_validation.py [--replications 20] [--seed S]

Runs scenarios/replay_2025.yaml, writes docs/figures/replay_vs_observed.png and replaces
the table between the ``<!-- table -->`` markers of docs/validation.md.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import pandas as pd

import simulator
from simulator import plots

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- table:start -->", "<!-- table:end -->"


def table(ex: pd.DataFrame, derived: set[tuple[str, str]]) -> str:
    """Markdown rows: every observed month and destination, model mean vs observed."""
    obs = ex.dropna(subset=["observed_t"]).copy()
    obs["error"] = obs.dispatched_t_mean / obs.observed_t - 1
    obs["mark"] = ["†" if k in derived else ""
                   for k in zip(obs.month, obs.destination, strict=True)]
    lines = ["| month | destination | observed (t) | model mean (t) | p5–p95 (t) | error |",
             "|---|---|---:|---:|---:|---:|"]
    for r in obs.sort_values(["destination", "month"]).itertuples():
        lines.append(f"| {r.month} | {r.destination} | {r.observed_t:,.0f}{r.mark} | "
                     f"{r.dispatched_t_mean:,.0f} | {r.dispatched_t_p5:,.0f}–"
                     f"{r.dispatched_t_p95:,.0f} | {r.error:+.0%} |")
    return "\n".join(lines) + "\n\n† derived in the data file from a reported change or share."


def checks(ex: pd.DataFrame, derived: set[tuple[str, str]]) -> str:
    """Markdown rows: the acceptance targets of the replay and whether they hold."""
    obs = ex.dropna(subset=["observed_t"]).copy()
    obs["derived"] = [k in derived for k in zip(obs.month, obs.destination, strict=True)]
    obs = obs.set_index(["destination", "month"])
    rows = ["| check | observed (t) | model mean (t) | error | tolerance | holds |",
            "|---|---:|---:|---:|---:|---|"]

    def row(name: str, o: float, m: float, tol: float, mark: str = "") -> None:
        err = m / o - 1
        rows.append(f"| {name} | {o:,.0f}{mark} | {m:,.0f} | {err:+.1%} | ±{tol:.0%} | "
                    f"{'yes' if abs(err) <= tol else '**no**'} |")

    for month in ("2025-04", "2025-05", "2025-06", "2025-07"):
        r = obs.loc[("WORLD", month)]
        row(f"WORLD {month}", r.observed_t, r.dispatched_t_mean, 0.25, "†" if r.derived else "")
    pre = obs.loc["WORLD"].loc[lambda d: d.index < "2025-04"]
    row(f"WORLD mean of {len(pre)} months before Apr 2025 ({pre.derived.sum()} derived)",
        pre.observed_t.mean(), pre.dispatched_t_mean.mean(), 0.15)
    for month in ("2025-05", "2025-06", "2025-07"):
        r = obs.loc[("US", month)]
        row(f"US {month}", r.observed_t, r.dispatched_t_mean, 0.40, "†" if r.derived else "")
    return "\n".join(rows)


def main() -> None:
    """Run the replay and refresh the figure and the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=20)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        res = simulator.run(ROOT / "scenarios" / "replay_2025.yaml", args.replications,
                            args.seed, out=Path(tmp) / "run", figures=False)
        ex = res.exports
        derived = plots._derived(res.scenario)  # (month, destination) back-calculated
        fig = plots.validation(ex, res.scenario)
        fig.savefig(ROOT / "docs" / "figures" / "replay_vs_observed.png", dpi=110)
    doc = ROOT / "docs" / "validation.md"
    text = doc.read_text()
    new = (f"{START}\nAcceptance checks ({args.replications} replications):\n\n"
           f"{checks(ex, derived)}\n\nEvery observed month:\n\n{table(ex, derived)}\n{END}")
    doc.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: new, text,
                          flags=re.S))
    print(checks(ex, derived))


if __name__ == "__main__":
    main()
