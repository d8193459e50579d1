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
- ``manifest.json``, ``report.md`` and ``figures/frontier.png``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import platform
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simulator import metrics
from simulator.ensemble import ChunkResult, execute, plan_chunks
from simulator.plan import compile_plan
from simulator.runner import ResumeError, RunDir
from simulator.scenarios import load_scenario, scenario_hash, with_overrides
from simulator.schema import Scenario
from simulator.timeline import FIXED, SETTABLE
from simulator.yamlsrc import InputError, Problem

BASE = "base"
RESERVED = ("name", "seed", "replications", "variants", "sweep")
LEVEL = ("total", "total")
Progress = Callable[[int, int], None]  # (replications done over all variants, in all)


@dataclass(frozen=True)
class Variant:
    """A named set of dot-path overrides of the base scenario."""

    name: str
    sets: Mapping[str, Any] = field(default_factory=dict)


def _fail(path: str, message: str, source: str = "variants") -> InputError:
    return InputError([Problem(source, 0, 0, path, message)])


def variants_of(scenario: Scenario, names: Sequence[str] | None = None) -> list[Variant]:
    """The variants to compare, reference first.

    The scenario itself is the implicit first variant ``base``, unless the first entry of
    its ``variants:`` has no overrides (``{}``): that entry then names the scenario itself.
    ``names`` picks a subset in the order given; its first name is the reference.
    """
    listed = [Variant(k, dict(v)) for k, v in scenario.variants.items()]
    if not listed:
        raise _fail("variants", "the scenario defines no variants to compare")
    if listed[0].sets:
        if BASE in scenario.variants:
            raise _fail(f"variants.{BASE}", f"{BASE!r} names the unmodified scenario; list "
                        "it first with no overrides ({}) or rename it")
        listed.insert(0, Variant(BASE))
    if names is None:
        return listed
    known = {v.name: v for v in listed}
    problems = [Problem("--variants", 0, 0, n, f"unknown variant; known: {', '.join(known)}")
                for n in names if n not in known]
    problems += [Problem("--variants", 0, 0, n, "listed twice")
                 for n in dict.fromkeys(n for n in names if list(names).count(n) > 1)]
    if not names:
        problems.append(Problem("--variants", 0, 0, "", "no variant named"))
    if problems:
        raise InputError(problems)
    return [known[n] for n in names]


def _text(value: Any) -> str:
    """A sweep value as written in a variant name (YAML-like)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), default=str)


def sweep_variants(scenario: Scenario) -> list[Variant]:
    """Every point of the scenario's ``sweep:`` grid, named ``path=value,path=value``.

    The grid runs over the paths in file order, the last path fastest; the first point (every
    path at its first value) is the reference.
    """
    grid = scenario.sweep
    if not grid:
        raise _fail("sweep", "the scenario defines no sweep grid", "sweep")
    empty = [Problem("sweep", 0, 0, f"sweep.{p}", "needs at least one value")
             for p, vals in grid.items() if not vals]
    if empty:
        raise InputError(empty)
    out = []
    for point in itertools.product(*grid.values()):
        sets = dict(zip(grid, point, strict=True))
        out.append(Variant(",".join(f"{p}={_text(v)}" for p, v in sets.items()), sets))
    return out


def _overlap(a: str, b: str) -> bool:
    """Whether two dot paths can address the same field (``*`` matches any key)."""
    pa, pb = a.split("."), b.split(".")
    return all(x == y or "*" in (x, y) for x, y in zip(pa, pb, strict=False))


def _settable(path: str) -> bool:
    """Whether a timeline event could change the field at ``path``."""
    parts = path.split(".")
    return parts[0] in SETTABLE and parts[-1] not in FIXED.get(parts[0], ())


def held_events(scenario: Scenario, sets: Mapping[str, Any]) -> list[tuple[int, list[str]]]:
    """Timeline events that set a field the variant sets: (event index, variant paths)."""
    mine = [p for p in sets if _settable(p)]
    out = []
    for i, ev in enumerate(scenario.timeline):
        hit = [p for p in mine if any(_overlap(p, q) for q in ev.set)]
        if hit:
            out.append((i, hit))
    return out


def _hold(sc: Scenario, sets: Mapping[str, Any], source: str) -> Scenario:
    """``sc`` with the variant's values re-set by every event that would change them, so
    that a variant holds for the whole horizon (a variant's policy is not undone by, e.g.,
    a dated change of the base's sourcing).
    """
    held = held_events(sc, sets)
    if not held:
        return sc
    events = [ev.model_dump(mode="python") for ev in sc.timeline]
    for i, hit in held:
        own = {k: v for k, v in events[i]["set"].items() if k not in hit}
        events[i]["set"] = {**own, **{p: sets[p] for p in hit}}  # the variant's last: it wins
    return with_overrides(sc, {"timeline": events}, source)


def _scenarios(base: Scenario, variants: Sequence[Variant], hold: bool = True
               ) -> list[tuple[Scenario, list[str]]]:
    """Each variant's scenario and the events it holds against ("date label: path").

    Every variant is validated up front; all problems are reported together.
    """
    problems: list[Problem] = []
    out: list[tuple[Scenario, list[str]]] = []
    for v in variants:
        bad = [p for p in v.sets if p.split(".")[0] in RESERVED]
        problems += [Problem(f"variants.{v.name}", 0, 0, p, "cannot differ between variants "
                             "(the comparison fixes it)") for p in bad]
        source = f"variants.{v.name}"
        try:
            sc = with_overrides(base, v.sets, source) if v.sets else base
            notes = [f"{sc.timeline[i].date} {sc.timeline[i].label}: {', '.join(hit)}"
                     for i, hit in held_events(sc, v.sets)] if hold else []
            out.append((_hold(sc, v.sets, source) if hold else sc, notes))
        except InputError as err:
            problems += err.problems
    if problems:
        raise InputError(problems)
    return out


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
    """Variants compared replication by replication (what :func:`compare` returns)."""

    def __init__(self, arms: list[Arm], manifest: dict[str, Any],
                 directory: Path | None = None) -> None:
        self.arms, self.manifest, self.directory = arms, manifest, directory

    @property
    def variants(self) -> list[str]:
        """Variant names, reference first."""
        return [a.variant.name for a in self.arms]

    def paired(self, metric: str, level: str = "total", entity: str = "total"
               ) -> pd.DataFrame:
        """Mean and paired difference vs the first variant of one metric, per variant."""
        ref = self.arms[0].values(metric, level, entity)
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
        """Per variant: expected total cost (USD) and CVaR95 of total unmet tonnes (t)."""
        rows = []
        for a in self.arms:
            cost, unmet = a.values("cost_usd"), a.values("unmet_t")
            rows.append({"variant": a.variant.name,
                         "cost_usd_mean": float(np.nanmean(cost)),
                         "unmet_t_mean": float(np.nanmean(unmet)),
                         "unmet_t_cvar95": metrics.cvar95(unmet),
                         "fill_rate_mean": float(np.nanmean(a.values("fill_rate")))})
        return pd.DataFrame(rows)

    def replications(self, arm: Arm) -> pd.DataFrame:
        """One row per replication, entity and metric of one variant."""
        n, ents, ms = arm.shortage.shape
        return pd.DataFrame({
            "variant": arm.variant.name,
            "replication": np.repeat(np.arange(n), ents * ms),
            "level": np.tile(np.repeat([e.level for e in arm.entities], ms), n),
            "entity": np.tile(np.repeat([e.name for e in arm.entities], ms), n),
            "metric": np.tile(metrics.ALL_METRICS, n * ents),
            "value": arm.shortage.ravel(),
        })

    def plot_frontier(self) -> Any:
        """Expected cost vs CVaR95 of unmet tonnes, one labelled point per variant."""
        from simulator import plots

        return plots.frontier(self.frontier)


def frontier_of(summary: pd.DataFrame) -> pd.DataFrame:
    """:attr:`Comparison.frontier` rebuilt from a comparison's ``summary.csv``."""
    total = summary[summary.level == "total"].set_index(["metric", "variant"])
    order = list(dict.fromkeys(summary.variant))
    return pd.DataFrame({
        "variant": order,
        "cost_usd_mean": total.loc["cost_usd", "mean"].reindex(order).to_numpy(),
        "unmet_t_mean": total.loc["unmet_t", "mean"].reindex(order).to_numpy(),
        "unmet_t_cvar95": total.loc["unmet_t", "cvar95"].reindex(order).to_numpy(),
        "fill_rate_mean": total.loc["fill_rate", "mean"].reindex(order).to_numpy(),
    })


def redraw(directory: Path) -> list[Path]:
    """Redraw ``figures/frontier.png`` of a comparison directory from its ``summary.csv``."""
    import matplotlib.pyplot as plt

    from simulator import plots

    fig = plots.frontier(frontier_of(pd.read_csv(directory / "summary.csv")))
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


def _simulate(variant: Variant, sc: Scenario, seed: int, n: int, rundir: RunDir,
              workers: int, tick: Callable[[int], None], backend: str = "local",
              scheduler: str | None = None) -> Arm:
    """Run (or finish) one variant's replications with the shared root seed."""
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
    todo = [c for c in plan_chunks(n) if c not in done]
    if todo:
        execute(plan, todo, seed, 0, max(1, min(workers, len(todo))), collect, variant.name,
                backend, scheduler)
    return arm


def _write(comp: Comparison, work: Path, figures: bool) -> None:
    """Write the outputs of a finished comparison into ``work``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    comp.table.to_csv(work / "comparison.csv", index=False, float_format="%.9g")
    comp.summary.to_csv(work / "summary.csv", index=False, float_format="%.9g")
    writer = None
    for arm in comp.arms:  # one variant at a time: the long frame of all never exists
        t = pa.Table.from_pandas(comp.replications(arm), preserve_index=False)
        writer = writer or pq.ParquetWriter(work / "replications.parquet", t.schema)
        writer.write_table(t)
    if writer is not None:
        writer.close()
    (work / "manifest.json").write_text(json.dumps(comp.manifest, indent=1, default=str))
    if figures:
        import matplotlib.pyplot as plt

        (work / "figures").mkdir(exist_ok=True)
        fig = comp.plot_frontier()
        fig.savefig(work / "figures" / "frontier.png", dpi=110)
        plt.close(fig)
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
    arms = []
    for i, (v, (sc, _)) in enumerate(zip(variants, built, strict=True)):
        rid = {"variant": v.name, "hash": scenario_hash(sc), "replications": n, "seed": seed_}
        rundir = RunDir(work / "variants" / f"v{i:03d}", rid, resume)
        arms.append(_simulate(v, sc, seed_, n, rundir, cores, tick, backend, scheduler))
    from simulator import __version__

    manifest = {
        "verb": verb, "scenario": base.model_dump(mode="json"),
        "scenario_hash": scenario_hash(base), "comparison_hash": ident["hash"],
        "variants": {v.name: dict(v.sets) for v in variants},
        "variant_hashes": {a.variant.name: scenario_hash(a.scenario) for a in arms},
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
        "(common random numbers), so an interval that excludes 0 is a policy effect, not "
        "noise. Costs: holding of buyer stock and stockpiles, premiums over China's price, "
        "and lost units valued per sector (`costs:`); one-off investments are not included.",
        "", _markdown(report_rows(comp)), "",
        "All metrics, and lost units per sector: `comparison.csv`; distributions: "
        "`summary.csv`; per-replication values: `replications.parquet`.", "",
    ]
    if figures:
        text += ["## Cost vs tail shortage", "", "![frontier](figures/frontier.png)", "",
                 "Lower left is better: expected total cost against the mean unmet tonnes of "
                 "the worst 5% of replications (CVaR95).", ""]
    return "\n".join(text)
