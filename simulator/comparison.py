"""Policy comparison under common random numbers: ``magsim compare`` and ``magsim sweep``.

Every variant of a scenario (its ``variants:``, or the grid of its ``sweep:``) is run with the
same root seed, so replication *k* of every variant draws demand, transit, coverage, review
and approval from the streams of ``(seed, k)``: common random numbers (DESIGN §3). Variants
are then compared replication by replication: the paired difference ``x_v[k] - x_0[k]``
against the first variant has far less variance than a difference of independent runs, so
small policy effects show up with few replications.

Only per-replication metric vectors ([replication, entity, metric], see
:mod:`simulator.metrics`) are kept, so memory grows with replications x variants but never
with days. The run directory (default ``runs/<scenario>-compare-<hash>``) is built in
``<DIR>.partial/`` (each variant's finished chunks are saved there, so ``resume=True``
continues an interrupted comparison) and renamed into place at the end. It holds:

- ``comparison.csv``: ``variant, metric, mean, diff_vs_first, diff_ci95_low,
  diff_ci95_high`` at level total (DESIGN §6); money in USD, mass in t, time in days;
- ``summary.csv``: the run summary of every variant (a ``variant`` column first);
- ``replications.parquet``: one value per variant, replication, entity and metric;
- ``gate_replications.parquet``: the gate metrics per variant and replication;
- ``manifest.json`` (with ``hold``), ``report.md`` and ``figures/frontier.png``.

:func:`simulator.load_comparison` reads it back into the :class:`Comparison` returned here.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simulator import metrics
from simulator.ensemble import ChunkResult, Job, Workers, execute_jobs, plan_chunks
from simulator.plan import compile_plan
from simulator.results import write_replications
from simulator.runner import ResumeError, RunDir
from simulator.scenarios import load_scenario, scenario_hash, with_overrides
from simulator.schema import Scenario
from simulator.variants import Variant, _scenarios, sweep_variants, variants_of

LEVEL = ("total", "total")
Progress = Callable[[int, int], None]  # (replications done over all variants, in all)


def paired_stats(x: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Mean of ``x`` and the paired difference ``x - ref`` over replications.

    Replications where either value is NaN (e.g. days to first stockout without a stockout)
    are left out of the difference. The 95% interval is mean ± t(0.975, n-1) · sd / √n of
    the differences; NaN with fewer than two pairs.
    """
    ok = ~np.isnan(x) & ~np.isnan(ref)
    d = x[ok] - ref[ok]
    mean = float(np.nanmean(x)) if (~np.isnan(x)).any() else math.nan
    diff = float(d.mean()) if len(d) else math.nan
    half = math.nan
    if len(d) >= 2:
        half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)))
    return {"mean": mean, "diff_vs_first": diff, "diff_ci95_low": diff - half,
            "diff_ci95_high": diff + half}


@dataclass
class Arm:
    """Per-replication arrays of one variant: [rep, entity, metric] and [rep, gate metric]."""

    variant: Variant
    scenario: Scenario
    entities: list[metrics.Entity]
    shortage: np.ndarray
    gate: np.ndarray

    def index(self, level: str, entity: str) -> int:
        """Position of an entity in this variant's arrays."""
        for i, e in enumerate(self.entities):
            if (e.level, e.name) == (level, entity):
                return i
        raise KeyError(f"{self.variant.name}: no entity {level}/{entity}")

    def values(self, metric: str, level: str = "total", entity: str = "total") -> np.ndarray:
        """One metric over replications."""
        return self.shortage[:, self.index(level, entity), metrics.ALL_METRICS.index(metric)]


class Comparison:
    """Variants compared replication by replication (what :func:`compare` returns and
    :func:`~simulator.comparison_load.load_comparison` reads back).
    """

    def __init__(self, arms: list[Arm], manifest: dict[str, Any],
                 directory: Path | None = None) -> None:
        self.arms, self.manifest, self.directory = arms, manifest, directory

    @property
    def variants(self) -> list[str]:
        """Variant names, reference first."""
        return [a.variant.name for a in self.arms]

    def paired(self, metric: str, level: str = "total", entity: str = "total",
               against: str | None = None) -> pd.DataFrame:
        """Mean and paired difference of one metric, per variant, vs the variant
        ``against`` (default: the first, the reference); columns as in comparison.csv.
        """
        names = self.variants
        if against is not None and against not in names:
            raise KeyError(f"no variant {against!r} in this comparison (has {names})")
        ref = self.arms[names.index(against) if against else 0].values(metric, level, entity)
        return pd.DataFrame([{"variant": a.variant.name, "metric": metric,
                              **paired_stats(a.values(metric, level, entity), ref)}
                             for a in self.arms])

    def _rows(self) -> list[tuple[str, str, str]]:
        """(metric label, level, entity): total metrics, and lost units per sector."""
        rows = [(m, *LEVEL) for m in metrics.ALL_METRICS if m != "lost_units"]
        first = self.arms[0]
        for e in first.entities:
            if e.level == "sector" and not np.isnan(first.values("lost_units", *_key(e))).all():
                rows.append((f"lost_units.{e.name}", e.level, e.name))
        return rows

    @property
    def table(self) -> pd.DataFrame:
        """comparison.csv: total-level metrics (lost units per sector, as units differ)."""
        parts = []
        for label, level, entity in self._rows():
            metric = label.split(".")[0]
            df = self.paired(metric, level, entity)
            parts.append(df.assign(metric=label))
        order = {n: i for i, n in enumerate(self.variants)}
        df = pd.concat(parts, ignore_index=True)
        return df.sort_values("variant", key=lambda s: s.map(order), kind="stable"
                              ).reset_index(drop=True)

    @property
    def summary(self) -> pd.DataFrame:
        """summary.csv of every variant: variant, level, entity, metric, mean, ..., cvar95."""
        rows = []
        for a in self.arms:
            for i, e in enumerate(a.entities):
                for j, m in enumerate(metrics.ALL_METRICS):
                    rows.append({"variant": a.variant.name, "level": e.level, "entity": e.name,
                                 "metric": m, **metrics.across(a.shortage[:, i, j], m)})
            for j, m in enumerate(metrics.GATE_METRICS):
                rows.append({"variant": a.variant.name, "level": "gate", "entity": "gate",
                             "metric": m, **metrics.across(a.gate[:, j], m)})
        return pd.DataFrame(rows)

    @property
    def frontier(self) -> pd.DataFrame:
        """Per variant: expected total cost (USD), the 95% interval of that cost as the first
        variant's mean cost plus the paired interval of the difference (zero width for the
        first), and CVaR95 of total unmet tonnes (t).
        """
        rows = []
        ref_cost = self.arms[0].values("cost_usd")
        for a in self.arms:
            cost, unmet = a.values("cost_usd"), a.values("unmet_t")
            paired = paired_stats(cost, ref_cost)
            rows.append({"variant": a.variant.name,
                         "cost_usd_mean": float(np.nanmean(cost)),
                         "cost_usd_ci95_low": float(np.nanmean(ref_cost)) +
                         paired["diff_ci95_low"],
                         "cost_usd_ci95_high": float(np.nanmean(ref_cost)) +
                         paired["diff_ci95_high"],
                         "unmet_t_mean": float(np.nanmean(unmet)),
                         "unmet_t_cvar95": metrics.cvar95(unmet),
                         "fill_rate_mean": float(np.nanmean(a.values("fill_rate")))})
        return pd.DataFrame(rows)

    def plot_frontier(self) -> Any:
        """Expected cost vs CVaR95 of unmet tonnes, one labelled point per variant."""
        from simulator import plots

        return plots.frontier(self.frontier, self.manifest["scenario"]["name"])


def frontier_of(summary: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """:attr:`Comparison.frontier` rebuilt from a comparison's ``summary.csv`` and
    ``comparison.csv`` (``table``).
    """
    total = summary[summary.level == "total"].set_index(["metric", "variant"])
    order = list(dict.fromkeys(summary.variant))
    cost = total.loc["cost_usd", "mean"].reindex(order).to_numpy()
    diff = table[table.metric == "cost_usd"].set_index("variant").reindex(order)
    return pd.DataFrame({
        "variant": order,
        "cost_usd_mean": cost,
        "cost_usd_ci95_low": cost[0] + diff.diff_ci95_low.to_numpy(),
        "cost_usd_ci95_high": cost[0] + diff.diff_ci95_high.to_numpy(),
        "unmet_t_mean": total.loc["unmet_t", "mean"].reindex(order).to_numpy(),
        "unmet_t_cvar95": total.loc["unmet_t", "cvar95"].reindex(order).to_numpy(),
        "fill_rate_mean": total.loc["fill_rate", "mean"].reindex(order).to_numpy(),
    })


def redraw(directory: Path) -> list[Path]:
    """Redraw ``figures/frontier.png`` of a comparison directory from its ``summary.csv``."""
    import matplotlib.pyplot as plt

    from simulator import plots

    name = json.loads((directory / "manifest.json").read_text())["scenario"]["name"]
    fig = plots.frontier(frontier_of(pd.read_csv(directory / "summary.csv"),
                                     pd.read_csv(directory / "comparison.csv")), name)
    path = directory / "figures" / "frontier.png"
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def _key(e: metrics.Entity) -> tuple[str, str]:
    return e.level, e.name


def _identity(sc: Scenario, variants: Sequence[Variant], hold: bool = True) -> str:
    """Short hash (12 hex digits) of the base scenario and the variants compared."""
    doc = {"scenario": scenario_hash(sc), "hold": hold,
           "variants": [[v.name, dict(v.sets)] for v in variants]}
    text = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def default_dir(scenario: Scenario, variants: Sequence[Variant], verb: str = "compare",
                hold: bool = True) -> Path:
    """``runs/<scenario>-<verb>-<hash>``."""
    return Path("runs") / f"{scenario.name}-{verb}-{_identity(scenario, variants, hold)}"


def prepared(scenario: Scenario, replications: int | None = None, seed: int | None = None
             ) -> Scenario:
    """The base scenario with the comparison's replications and seed (shared by all)."""
    extra = {k: v for k, v in (("replications", replications), ("seed", seed))
             if v is not None and getattr(scenario, k) != v}
    return with_overrides(scenario, extra, "--set") if extra else scenario


def _workdir(final: Path, identity: dict[str, Any], resume: bool) -> Path:
    """Create (or, resuming, check) ``<final>.partial``."""
    work = final.with_name(final.name + ".partial")
    marker = work / "compare.json"
    if resume and marker.is_file():
        if json.loads(marker.read_text()) != identity:
            raise ResumeError(f"{work}: holds a different comparison; start it without "
                              "--resume")
    elif work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(identity, indent=1, default=str))
    return work


def _arm(variant: Variant, sc: Scenario, seed: int, n: int, rundir: RunDir,
         tick: Callable[[int], None], total: int) -> tuple[Arm, Job]:
    """One variant's arm, filled from the chunks ``rundir`` holds already, and the job
    that runs the rest of its replications with the shared root seed (chunks sized by the
    comparison's ``total`` replications, see :func:`plan_chunks`).
    """
    plan = compile_plan(sc)
    ents = metrics.entities(plan)
    arm = Arm(variant, sc, ents, np.full((n, len(ents), len(metrics.ALL_METRICS)), np.nan),
              np.full((n, len(metrics.GATE_METRICS)), np.nan))

    def collect(r: ChunkResult, save: bool = True) -> None:
        if save:
            rundir.save(r)
        sl = slice(r.chunk.start, r.chunk.stop)
        arm.shortage[sl], arm.gate[sl] = r.shortage, r.gate
        tick(r.chunk.stop - r.chunk.start)

    done = rundir.finished()
    for c in done:
        collect(rundir.load(c), save=False)
    todo = [c for c in plan_chunks(n, total) if c not in done]
    return arm, Job(plan, todo, seed, collect, variant=variant.name)


def _write(comp: Comparison, work: Path, figures: bool) -> None:
    """Write the outputs of a finished comparison into ``work``."""
    comp.table.to_csv(work / "comparison.csv", index=False, float_format="%.9g")
    comp.summary.to_csv(work / "summary.csv", index=False, float_format="%.9g")
    writer = None
    for arm in comp.arms:  # a slice at a time: the long frame of all never exists
        writer = write_replications(writer, work / "replications.parquet", arm.entities,
                                    arm.shortage, arm.variant.name)
    if writer is not None:
        writer.close()
    from simulator.comparison_load import GATE, gate_table  # it imports this module

    gate_table(comp.arms).to_parquet(work / GATE, index=False)
    (work / "manifest.json").write_text(json.dumps(comp.manifest, indent=1, default=str))
    if figures:
        import matplotlib.pyplot as plt

        (work / "figures").mkdir(exist_ok=True)
        fig = comp.plot_frontier()
        fig.savefig(work / "figures" / "frontier.png", dpi=110)
        plt.close(fig)
    from simulator.compare_report import report_text

    (work / "report.md").write_text(report_text(comp, figures))


def _publish(work: Path, final: Path) -> Path:
    shutil.rmtree(work / "variants", ignore_errors=True)
    (work / "compare.json").unlink()
    if final.exists():
        shutil.rmtree(final)
    os.replace(work, final)
    return final


def compare_variants(scenario: Scenario, variants: Sequence[Variant],
                     replications: int | None = None, seed: int | None = None,
                     workers: int | None = None, out: str | Path | None = None,
                     progress: Progress | None = None, *, resume: bool = False,
                     figures: bool = True, verb: str = "compare", hold: bool = True,
                     backend: str = "local", scheduler: str | None = None) -> Comparison:
    """Run ``variants`` of ``scenario`` with common random numbers and write the outputs.

    With ``hold`` (the default) a variant's values hold for the whole horizon: a timeline
    event that sets the same field gets the variant's value instead (listed under ``held``
    in the manifest and the report). Without it a variant only changes the starting values.
    ``backend`` and ``scheduler`` are as for :func:`simulator.run`.
    """
    base = prepared(scenario, replications, seed)
    n, seed_ = base.replications, base.seed
    built = _scenarios(base, variants, hold)
    final = Path(out) if out is not None else default_dir(base, variants, verb, hold)
    ident = {"hash": _identity(base, variants, hold), "replications": n, "seed": seed_}
    work = _workdir(final, ident, resume)
    cores = workers if workers is not None else os.cpu_count() or 1
    total, done = n * len(variants), [0]

    def tick(k: int) -> None:
        done[0] += k
        if progress:
            progress(done[0], total)

    t0 = time.perf_counter()
    if progress:
        progress(0, total)
    arms, jobs = [], []
    for i, (v, (sc, _)) in enumerate(zip(variants, built, strict=True)):
        rid = {"variant": v.name, "hash": scenario_hash(sc), "replications": n, "seed": seed_}
        arm, job = _arm(v, sc, seed_, n, RunDir(work / "variants" / f"v{i:03d}", rid, resume),
                        tick, total)
        arms.append(arm)
        jobs.append(job)
    # every variant's chunks in one queue on one pool or cluster (a LocalCluster takes
    # seconds to start; a queue per variant would leave workers idle at its end)
    with Workers(min(cores, sum(len(j.chunks) for j in jobs) or 1), backend,
                 scheduler) as session:
        execute_jobs(jobs, session)
    from simulator import __version__

    manifest = {
        "verb": verb, "scenario": base.model_dump(mode="json"),
        "scenario_hash": scenario_hash(base), "comparison_hash": ident["hash"],
        "variants": {v.name: dict(v.sets) for v in variants},
        "variant_hashes": {a.variant.name: scenario_hash(a.scenario) for a in arms},
        "hold": hold,
        "held": {v.name: notes for v, (_, notes) in zip(variants, built, strict=True) if notes},
        "seed": seed_, "replications": n, "common_random_numbers": True,
        "version": __version__, "python": platform.python_version(),
        "seconds": round(time.perf_counter() - t0, 3), "workers": cores,
    }
    comp = Comparison(arms, manifest)
    _write(comp, work, figures)
    comp.directory = _publish(work, final)
    return comp


def compare(scenario: Scenario | str | Path, variants: Sequence[str] | None = None,
            replications: int | None = None, seed: int | None = None,
            workers: int | None = None, out: str | Path | None = None,
            progress: Progress | None = None, *, resume: bool = False,
            figures: bool = True, hold: bool = True, backend: str = "local",
            scheduler: str | None = None) -> Comparison:
    """Compare the scenario's ``variants:`` (all, or those named) under common random numbers.

    Args:
        scenario: a scenario with ``variants:`` (or the path of its YAML file).
        variants: names to run, reference first (default: all, ``base`` first).
        replications, seed: override the scenario's defaults (shared by every variant).
        workers: processes (default: the machine's cores).
        out: run directory (default ``runs/<scenario>-compare-<hash>``).
        progress: called with (replications done, total over all variants).
        resume: keep the finished chunks of an interrupted comparison in ``out``.
        figures: draw ``figures/frontier.png``.
        hold: keep each variant's values against timeline events that set the same fields
            (see :func:`compare_variants`).
        backend, scheduler: ``local`` or ``dask`` (as for :func:`simulator.run`).
    """
    sc = _load(scenario)
    return compare_variants(sc, variants_of(sc, variants), replications, seed, workers, out,
                            progress, resume=resume, figures=figures, hold=hold,
                            backend=backend, scheduler=scheduler)


def sweep(scenario: Scenario | str | Path, replications: int | None = None,
          seed: int | None = None, workers: int | None = None, out: str | Path | None = None,
          progress: Progress | None = None, *, resume: bool = False, figures: bool = True,
          hold: bool = True, backend: str = "local", scheduler: str | None = None
          ) -> Comparison:
    """Run every point of the scenario's ``sweep:`` grid under common random numbers.

    Same arguments and outputs as :func:`compare` (default directory
    ``runs/<scenario>-sweep-<hash>``); the first grid point is the reference.
    """
    sc = _load(scenario)
    return compare_variants(sc, sweep_variants(sc), replications, seed, workers, out,
                            progress, resume=resume, figures=figures, verb="sweep", hold=hold,
                            backend=backend, scheduler=scheduler)


def _load(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
