"""Ensembles: worker-count independence, run directory contents, load_run round trip."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import CONTROLS, scenario

from simulator import load_run, run


@pytest.fixture(scope="module")
def controlled():
    return scenario(timeline=[CONTROLS])


def test_same_seed_byte_identical_with_one_or_two_workers(controlled, tmp_path):
    one = run(controlled, replications=6, workers=1, out=tmp_path / "one", figures=False)
    two = run(controlled, replications=6, workers=2, out=tmp_path / "two", figures=False)
    for name in ("summary.csv", "exports_monthly.csv"):
        assert (one.directory / name).read_bytes() == (two.directory / name).read_bytes()
    other = run(controlled, replications=6, seed=99, workers=1, out=tmp_path / "s99",
                figures=False)
    assert (other.directory / "summary.csv").read_bytes() != (
        one.directory / "summary.csv").read_bytes()


def test_run_directory_has_every_output_and_loads_back(controlled, tmp_path):
    res = run(controlled, replications=3, workers=1, out=tmp_path / "run")
    d = res.directory
    for name in ("manifest.json", "summary.csv", "exports_monthly.csv", "report.md",
                 "replications.parquet", "figures/exports_world.png", "figures/cover.png",
                 "figures/shortage.png", "figures/backlog.png"):
        assert (d / name).exists(), name
    assert not (tmp_path / "run.partial").exists()
    manifest = json.loads((d / "manifest.json").read_text())
    assert manifest["replications"] == 3 and manifest["seed"] == 11
    daily = res.daily
    assert set(daily.replication) == {0, 1, 2}
    back = load_run(d)
    pd.testing.assert_frame_equal(back.summary, res.summary)
    # the summary's total unmet is the mean over replications of the per-replication values
    reps = res.replications
    per_rep = reps[(reps.level == "total") & (reps.metric == "unmet_t")].value
    row = res.metric("unmet_t").iloc[0]
    assert row["mean"] == pytest.approx(per_rep.mean(), rel=1e-6)
    exports = res.exports
    world = exports[exports.destination == "WORLD"].dispatched_t_mean.sum()
    regions = exports[exports.destination != "WORLD"].dispatched_t_mean.sum()
    assert world == pytest.approx(regions, rel=1e-9)


def test_replication_rows_written_a_slice_at_a_time_equal_the_array(tmp_path):
    """replications.parquet is written in slices of replications with dictionary-encoded
    text; read back, row k is value k of the [replication, entity, metric] array.
    """
    import numpy as np

    from simulator.metrics import ALL_METRICS, Entity
    from simulator.results import write_replications

    ents = [Entity("buyer", "a", np.array([0])), Entity("sector", "auto", np.array([0])),
            Entity("total", "total", np.array([0]))]
    shortage = np.random.default_rng(3).random((7, len(ents), len(ALL_METRICS)))
    per_rep = len(ents) * len(ALL_METRICS)
    path = tmp_path / "r.parquet"
    write_replications(None, path, ents, shortage, "v1", rows=2 * per_rep + 1).close()
    df = pd.read_parquet(path)
    assert len(df) == shortage.size
    np.testing.assert_array_equal(df.value.to_numpy(), shortage.ravel())
    np.testing.assert_array_equal(df.replication.to_numpy(), np.repeat(np.arange(7), per_rep))
    assert list(df.entity[:per_rep:len(ALL_METRICS)]) == ["a", "auto", "total"]
    assert list(df.metric[:len(ALL_METRICS)]) == list(ALL_METRICS)
    assert set(df.variant) == {"v1"}
    assert all(isinstance(df[c].dtype, pd.CategoricalDtype)
               for c in ("variant", "level", "entity", "metric"))


def test_rows_read_by_column_values_equal_the_filtered_table(controlled, tmp_path):
    """The shortage figure of a loaded run reads only sector rows, batch by batch; they
    are the rows of the whole table with that level and metric.
    """
    res = run(controlled, replications=4, workers=1, out=tmp_path / "r", figures=False)
    back = load_run(res.directory)
    part = back._read_replications(level="sector", metric="unmet_t")
    full = back.replications
    want = full[(full.level == "sector") & (full.metric == "unmet_t")].reset_index(drop=True)
    assert len(part) == 4 * len(set(want.entity)) > 0
    pd.testing.assert_frame_equal(part, want, check_categorical=False)
