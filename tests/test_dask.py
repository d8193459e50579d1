"""The Dask backend gives byte-identical outputs to the local backend for a seed."""

from __future__ import annotations

import pytest
from conftest import CONTROLS, scenario

from simulator import run

pytest.importorskip("dask.distributed")


def test_local_cluster_of_two_workers_matches_local_backend(tmp_path):
    sc = scenario(timeline=[CONTROLS])
    local = run(sc, replications=6, workers=2, out=tmp_path / "local", figures=False)
    dask = run(sc, replications=6, workers=2, out=tmp_path / "dask", figures=False,
               backend="dask")
    assert dask.manifest["backend"] == "dask"
    for name in ("summary.csv", "exports_monthly.csv"):
        assert (local.directory / name).read_bytes() == (dask.directory / name).read_bytes()
