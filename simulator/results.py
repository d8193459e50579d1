"""Ensemble results: chunk results gathered in replication order, turned into tidy frames.

:class:`Results` is what :func:`simulator.run` returns and :func:`load_run` reads back from a
run directory: ``.summary``, ``.exports``, ``.replications``, ``.cover``, ``.backlog``,
``.daily`` (read lazily from parquet) and ``.plot_*()`` methods returning figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from simulator import metrics
from simulator.ensemble import COVER_EVERY, ChunkResult
from simulator.observed import load_observed
from simulator.plan import Plan
from simulator.schema import Scenario


class Aggregate:
    """Per-replication arrays filled chunk by chunk (in any order)."""

    def __init__(self, plan: Plan, replications: int) -> None:
        self.plan, self.n = plan, replications
        self.entities = metrics.entities(plan)
        self.shortage = np.full((replications, len(self.entities),
                                 len(metrics.ALL_METRICS)), np.nan)
        self.gate = np.full((replications, len(metrics.GATE_METRICS)), np.nan)
        self.monthly: np.ndarray | None = None
        self.backlog: np.ndarray | None = None
        self.cover_hist: np.ndarray | None = None
        self.done: set[int] = set()

    def add(self, r: ChunkResult) -> None:
        """Place a chunk's arrays at its replication indices."""
        sl = slice(r.chunk.start, r.chunk.stop)
        self.shortage[sl], self.gate[sl] = r.shortage, r.gate
        if self.monthly is None:
            self.monthly = np.zeros((self.n, *r.monthly.shape[1:]))
            self.backlog = np.zeros((self.n, r.backlog.shape[1]))
            self.cover_hist = np.zeros_like(r.cover_hist)
        self.monthly[sl] = r.monthly
        assert self.backlog is not None and self.cover_hist is not None
        self.backlog[sl] = r.backlog
        self.cover_hist += r.cover_hist
        self.done.update(range(r.chunk.start, r.chunk.stop))

    def summary(self) -> pd.DataFrame:
        """summary.csv: level, entity, metric, mean, p5, p50, p95, cvar95."""
        rows = []
        for i, e in enumerate(self.entities):
            for j, m in enumerate(metrics.ALL_METRICS):
                rows.append({"level": e.level, "entity": e.name, "metric": m,
                             **metrics.across(self.shortage[:, i, j], m)})
        for j, m in enumerate(metrics.GATE_METRICS):
            rows.append({"level": "gate", "entity": "gate", "metric": m,
                         **metrics.across(self.gate[:, j], m)})
        return pd.DataFrame(rows)

    def replications(self, level: str | None = None) -> pd.DataFrame:
        """One row per replication, entity and metric (for paired comparisons); only the
        entities of ``level`` if given.
        """
        keep = [i for i, e in enumerate(self.entities) if level in (None, e.level)]
        return replication_table([self.entities[i] for i in keep],
                                 self.shortage[:, keep]).to_pandas()

    def exports(self, observed: pd.DataFrame) -> pd.DataFrame:
        """exports_monthly.csv (DESIGN §6) with observed tonnes where known."""
        from simulator.ensemble import month_index

        assert self.monthly is not None
        _, labels = month_index(self.plan)
        world = self.monthly.sum(2, keepdims=True)
        data = np.concatenate([self.monthly, world], axis=2)
        dests = [*self.plan.regions, "WORLD"]
        p5, p95 = np.percentile(data, [5, 95], axis=0)
        df = pd.DataFrame({
            "month": np.repeat(labels, len(dests)),
            "destination": np.tile(dests, len(labels)),
            "dispatched_t_mean": data.mean(0).ravel(),
            "dispatched_t_p5": p5.ravel(), "dispatched_t_p95": p95.ravel(),
        })
        obs = observed[["month", "destination", "observed_t"]]
        return df.merge(obs, on=["month", "destination"], how="left")

    def cover(self) -> pd.DataFrame:
        """Quantiles of days of cover on hand per sector, sampled every COVER_EVERY days."""
        assert self.cover_hist is not None
        sectors = list(dict.fromkeys(self.plan.sectors))
        cum = np.cumsum(self.cover_hist, axis=2)
        total = cum[:, :, -1:]
        dates = self.plan.dates[::COVER_EVERY]
        rows: dict[str, Any] = {
            "date": np.repeat(dates, len(sectors)), "sector": np.tile(sectors, len(dates))}
        for q in (5, 25, 50, 75, 95):
            idx = (cum >= total * q / 100.0).argmax(axis=2)
            rows[f"cover_days_p{q}"] = idx.ravel().astype(float)
        return pd.DataFrame(rows)

    def backlog_frame(self) -> pd.DataFrame:
        """Licence backlog (t) over time: mean, p5, p95 across replications."""
        assert self.backlog is not None
        p5, p95 = np.percentile(self.backlog, [5, 95], axis=0)
        return pd.DataFrame({"date": self.plan.dates[::COVER_EVERY],
                             "backlog_t_mean": self.backlog.mean(0),
                             "backlog_t_p5": p5, "backlog_t_p95": p95})


def replication_table(entities: list[metrics.Entity], shortage: np.ndarray,
                      variant: str | None = None, first: int = 0) -> pa.Table:
    """One row per replication, entity and metric of ``shortage`` [rep, entity, metric]
    (replications numbered from ``first``).

    Text columns are dictionary-encoded (pandas reads them as categoricals), so a table of
    10,000 replications holds small integer codes, not millions of Python strings.
    """
    n, ents, ms = shortage.shape

    def coded(codes: np.ndarray, names: list[str]) -> pa.DictionaryArray:
        small = np.int16 if len(names) < 2**15 else np.int32
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(small)),
                                              pa.array(names, pa.string()))

    def per_entity(values: list[str]) -> pa.DictionaryArray:
        names = list(dict.fromkeys(values))
        code = np.array([names.index(v) for v in values])
        return coded(np.tile(np.repeat(code, ms), n), names)

    cols: dict[str, Any] = {} if variant is None else {
        "variant": coded(np.zeros(n * ents * ms), [variant])}
    cols["replication"] = np.repeat(np.arange(first, first + n, dtype=np.int64), ents * ms)
    cols["level"] = per_entity([e.level for e in entities])
    cols["entity"] = per_entity([e.name for e in entities])
    cols["metric"] = coded(np.tile(np.arange(ms), n * ents), list(metrics.ALL_METRICS))
    cols["value"] = shortage.reshape(-1)
    return pa.table(cols)


def write_replications(writer: pq.ParquetWriter | None, path: Path,
                       entities: list[metrics.Entity], shortage: np.ndarray,
                       variant: str | None = None, rows: int = 200_000
                       ) -> pq.ParquetWriter:
    """Append the rows of :func:`replication_table` to ``path`` a slice of replications at
    a time (about ``rows`` rows each), so the whole long table never exists in memory.
    Returns the writer (opened on first use); the caller closes it.
    """
    step = max(1, rows // max(1, shortage.shape[1] * shortage.shape[2]))
    for a in range(0, max(1, len(shortage)), step):  # no replications: the schema alone
        t = replication_table(entities, shortage[a:a + step], variant, a)
        writer = writer or pq.ParquetWriter(path, t.schema)
        writer.write_table(t)
    assert writer is not None
    return writer


class Results:
    """The outputs of one ensemble run."""

    def __init__(self, directory: Path | None, manifest: dict[str, Any],
                 frames: dict[str, pd.DataFrame], sectors: pd.DataFrame | None = None
                 ) -> None:
        """``frames`` as :func:`frames_of` gives them; ``sectors``: the sector rows of
        :attr:`replications`, if at hand (for the shortage figure).
        """
        # absolute, so that the lazily read files are found after a change of directory
        self.directory = directory.absolute() if directory is not None else None
        self.manifest, self._sectors = manifest, sectors
        self.summary: pd.DataFrame = frames["summary"]
        self.exports: pd.DataFrame = frames["exports"]
        self._replications: pd.DataFrame | None = frames.get("replications")
        self.cover: pd.DataFrame = frames["cover"]
        self.backlog: pd.DataFrame = frames["backlog"]

    @property
    def replications(self) -> pd.DataFrame:
        """One row per replication, entity and metric (read from ``replications.parquet``
        on first use; text columns are categoricals).
        """
        if self._replications is None:
            self._replications = self._read_replications()
        return self._replications

    def _read_replications(self, **equal: str) -> pd.DataFrame:
        """Rows of ``replications.parquet`` whose columns equal ``equal``, read a batch at a
        time (so memory follows the rows kept, not the file).
        """
        if self.directory is None:
            raise FileNotFoundError("these results have no run directory to read from")
        path = self.directory / "replications.parquet"
        if not equal:
            return pd.read_parquet(path)
        parts = []
        for batch in pq.ParquetFile(path).iter_batches(batch_size=200_000):
            mask = None
            for col, value in equal.items():
                hit = pc.equal(pc.cast(batch.column(col), pa.string()), value)
                mask = hit if mask is None else pc.and_(mask, hit)
            parts.append(batch.filter(mask))
        return pa.Table.from_batches(parts).to_pandas()

    @property
    def scenario(self) -> Scenario:
        """The resolved scenario that was run."""
        return Scenario.model_validate(self.manifest["scenario"])

    @property
    def daily(self) -> pd.DataFrame:
        """Daily rows (read from ``daily.parquet`` in the run directory)."""
        if self.directory is None:
            raise FileNotFoundError("these results have no run directory to read from")
        if not self.directory.is_dir():
            raise FileNotFoundError(f"{self.directory}: run directory not found")
        if not (self.directory / "daily.parquet").exists():
            raise FileNotFoundError("this run kept no daily rows (see --daily-replications)")
        return pd.read_parquet(self.directory / "daily.parquet")

    def metric(self, metric: str, level: str = "total") -> pd.DataFrame:
        """Rows of the summary for one metric at one level."""
        s = self.summary
        return s[(s.metric == metric) & (s.level == level)].reset_index(drop=True)

    def plot_exports(self, destination: str = "WORLD") -> Any:
        """Gate outflow vs observed exports with policy events."""
        from simulator import plots

        return plots.exports(self.exports, self.scenario, destination)

    def plot_cover(self) -> Any:
        """Days of cover per sector (fan chart across replications)."""
        from simulator import plots

        return plots.cover(self.cover, self.scenario)

    def plot_shortage(self) -> Any:
        """Distribution of unmet tonnes per sector across replications."""
        from simulator import plots

        rows = self._replications if self._replications is not None else self._sectors
        return plots.shortage(rows if rows is not None else
                              self._read_replications(level="sector"))

    def plot_validation(self) -> Any:
        """Modelled vs observed monthly exports, a panel per destination with observations."""
        from simulator import plots

        return plots.validation(self.exports, self.scenario)

    def plot_backlog(self) -> Any:
        """Licence backlog over time."""
        from simulator import plots

        return plots.backlog(self.backlog, self.scenario)


FRAMES = {"summary": "summary.csv", "exports": "exports_monthly.csv",
          "replications": "replications.parquet", "cover": "cover_quantiles.csv",
          "backlog": "backlog.csv"}


def frames_of(agg: Aggregate) -> dict[str, pd.DataFrame]:
    """The output frames of an aggregate but ``replications`` (written from the aggregate
    by :func:`write_replications`, read back on demand).
    """
    observed = load_observed(agg.plan.scenario.observed_exports)
    return {"summary": agg.summary(), "exports": agg.exports(observed),
            "cover": agg.cover(), "backlog": agg.backlog_frame()}


def load_run(directory: str | Path) -> Results:
    """Read a run directory written by :func:`simulator.run` or ``magsim run``."""
    d = Path(directory)
    if not (d / "manifest.json").is_file():
        raise FileNotFoundError(f"{d}: not a magsim run directory (no manifest.json)")
    manifest = json.loads((d / "manifest.json").read_text())
    frames = {}
    for key, name in FRAMES.items():
        if key == "replications":
            continue  # read on first use (Results.replications)
        path = d / name
        frames[key] = pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(
            path, dtype={"month": str}, parse_dates=["date"] if key in ("cover", "backlog")
            else None)
    return Results(d, manifest, frames)
