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


def test_a_worker_killed_mid_run_has_its_chunk_retried_and_outputs_are_identical(tmp_path):
    """Join a running cluster by address; SIGKILL a worker that is running a chunk."""
    import os
    import signal

    from dask.distributed import Client, LocalCluster

    sc = scenario({"horizon.end": "2025-12-31"}, timeline=[CONTROLS])
    n = 16
    local = run(sc, replications=n, workers=1, out=tmp_path / "local", figures=False)
    killed: list[int] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        with Client(cluster) as client:
            pids = list(client.run(os.getpid).values())

        def kill_a_worker(done: int, total: int) -> None:
            # chunks of one replication are spread over both workers from the start, so
            # after the first result each worker still holds several unfinished chunks
            if not killed and 0 < done <= total // 2:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        dask = run(sc, replications=n, out=tmp_path / "dask", figures=False, backend="dask",
                   scheduler=cluster.scheduler_address, progress=kill_a_worker)
    assert killed and dask.manifest["replications"] == n
    for name in ("summary.csv", "exports_monthly.csv"):
        assert (local.directory / name).read_bytes() == (dask.directory / name).read_bytes()
