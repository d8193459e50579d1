"""``simulator.run``: an ensemble written to a run directory, atomically and resumably.

Work happens in ``<DIR>.partial/``: each finished chunk of replications is saved there as it
completes (``chunks/*.npz`` and a ``daily.parquet`` part), so an interrupted run (Ctrl-C or
a hard kill) keeps its finished chunks. ``resume=True`` reuses them; the outputs are then
identical to an uninterrupted run with the same seed. When every chunk is in, the outputs
are written and the directory is renamed to ``<DIR>``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from simulator import __version__
from simulator.ensemble import Chunk, ChunkResult, execute, plan_chunks
from simulator.plan import Plan, compile_plan
from simulator.results import FRAMES, Aggregate, Results, frames_of, write_replications
from simulator.scenarios import load_scenario, scenario_hash, with_overrides
from simulator.schema import Scenario

DAILY_DEFAULT = 20  # replications whose daily rows are kept unless told otherwise
Progress = Callable[[int, int], None]  # (replications done, replications in all)


class ResumeError(ValueError):
    """``--resume`` on a directory that holds another run."""


def default_dir(scenario: Scenario) -> Path:
    """``runs/<scenario>-<hash>``."""
    return Path("runs") / f"{scenario.name}-{scenario_hash(scenario)}"


def _atomic_save(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


class RunDir:
    """The ``.partial`` working directory of a run."""

    ARRAYS = ("shortage", "gate", "monthly", "cover_hist", "backlog")

    def __init__(self, final: Path, identity: dict[str, Any], resume: bool) -> None:
        self.final = final
        self.work = final.with_name(final.name + ".partial")
        marker = self.work / "run.json"
        if resume and marker.is_file():
            seen = json.loads(marker.read_text())
            if seen != identity:
                raise ResumeError(f"{self.work}: holds a different run (scenario hash "
                                  f"{seen.get('hash')}, {seen.get('replications')} "
                                  "replications); start it without --resume")
            for cut in self.work.rglob("*.tmp"):  # writes an interruption cut short
                cut.unlink()
        elif self.work.exists():
            shutil.rmtree(self.work)
        (self.work / "chunks").mkdir(parents=True, exist_ok=True)
        (self.work / "daily.parquet").mkdir(exist_ok=True)
        marker.write_text(json.dumps(identity, indent=1))

    def finished(self) -> list[Chunk]:
        """Chunks saved by an earlier attempt."""
        out = []
        for p in sorted((self.work / "chunks").glob("*.npz")):
            a, b = p.stem.split("-")
            out.append(Chunk(int(a), int(b)))
        return out

    def load(self, chunk: Chunk) -> ChunkResult:
        """Read a saved chunk back."""
        with np.load(self.work / "chunks" / f"{chunk.name}.npz") as z:
            arrays = {k: z[k] for k in self.ARRAYS}
        return ChunkResult(chunk, daily=None, seconds=0.0, **arrays)

    def save(self, r: ChunkResult) -> None:
        """Persist a finished chunk: the daily part first, the arrays last (the marker)."""
        if r.daily is not None:
            import pyarrow.parquet as pq

            part = self.work / "daily.parquet" / f"part-{r.chunk.name}.parquet"
            _atomic_save(part, lambda p: pq.write_table(r.daily, p))
        arrays = {k: getattr(r, k) for k in self.ARRAYS}
        target = self.work / "chunks" / f"{r.chunk.name}.npz"
        _atomic_save(target, lambda p: np.savez(p.open("wb"), **arrays))

    def publish(self) -> Path:
        """Rename the finished work directory into place."""
        (self.work / "run.json").unlink()
        if self.final.exists():
            shutil.rmtree(self.final)
        os.replace(self.work, self.final)
        return self.final


def prepare(scenario: Scenario | str | Path, replications: int | None = None,
            seed: int | None = None, sets: Mapping[str, Any] | None = None) -> Scenario:
    """The scenario as run: loaded, with ``sets``, replications and seed applied."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    extra: dict[str, Any] = dict(sets or {})
    if replications is not None:
        extra["replications"] = replications
    if seed is not None:
        extra["seed"] = seed
    return with_overrides(sc, extra, "--set") if extra else sc


def _write_outputs(agg: Aggregate, plan: Plan, work: Path, manifest: dict[str, Any],
                   figures: bool) -> Results:
    frames = frames_of(agg)
    for key, name in FRAMES.items():
        if key in frames:
            frames[key].to_csv(work / name, index=False, float_format="%.9g")
    write_replications(None, work / FRAMES["replications"], agg.entities,
                       agg.shortage).close()
    (work / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str))
    results = Results(work, manifest, frames, sectors=agg.replications("sector"))
    if figures:
        from simulator.report import write_figures, write_report

        write_figures(results, work / "figures")
        write_report(results, work)
    return results


def run(scenario: Scenario | str | Path, replications: int | None = None,
        seed: int | None = None, workers: int | None = None, out: str | Path | None = None,
        resume: bool = False, sets: Mapping[str, Any] | None = None,
        daily_replications: int | None = None, figures: bool = True,
        progress: Progress | None = None, backend: str = "local",
        scheduler: str | None = None) -> Results:
    """Run a Monte Carlo ensemble and write its run directory (DESIGN §6).

    Args:
        scenario: a :class:`Scenario` or a path to a scenario YAML file.
        replications, seed: override the scenario's defaults.
        workers: processes (default: the machine's cores, at most the chunk count).
        out: run directory (default ``runs/<name>-<hash>``).
        resume: reuse the finished chunks of an interrupted run in ``out``.
        sets: dot-path overrides applied before the run.
        daily_replications: how many replications keep daily rows (default 20).
        figures: draw figures and report.md.
        progress: called with (replications done, total) after each chunk.
        backend: ``local`` (process pool) or ``dask`` (``scheduler`` address, or a
            LocalCluster of ``workers`` processes); outputs are identical for a seed.
    """
    sc = prepare(scenario, replications, seed, sets)
    plan = compile_plan(sc)
    n, seed_ = sc.replications, sc.seed
    keep = min(n, DAILY_DEFAULT if daily_replications is None else daily_replications)
    final = Path(out) if out is not None else default_dir(sc)
    identity = {"hash": scenario_hash(sc), "replications": n, "seed": seed_, "daily": keep}
    rundir = RunDir(final, identity, resume)
    agg = Aggregate(plan, n)
    for c in rundir.finished():
        agg.add(rundir.load(c))
    todo = [c for c in plan_chunks(n) if c.start not in agg.done]
    t0 = time.perf_counter()
    if progress:
        progress(len(agg.done), n)

    def collect(r: ChunkResult) -> None:
        rundir.save(r)
        agg.add(r)
        if progress:
            progress(len(agg.done), n)

    cores = workers if workers is not None else os.cpu_count() or 1
    execute(plan, todo, seed_, keep, max(1, min(cores, len(todo))), collect,
            backend=backend, scheduler=scheduler)
    manifest = {
        "scenario": sc.model_dump(mode="json"), "scenario_hash": scenario_hash(sc),
        "seed": seed_, "replications": n, "daily_replications": keep,
        "version": __version__, "python": platform.python_version(),
        "numpy": np.__version__, "seconds": round(time.perf_counter() - t0, 3),
        "resumed_chunks": len(plan_chunks(n)) - len(todo), "workers": cores,
        "backend": backend,
    }
    _write_outputs(agg, plan, rundir.work, manifest, figures)
    directory = rundir.publish()
    from simulator.results import load_run

    return load_run(directory)
