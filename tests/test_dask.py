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
                      dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            pids = list(client.run(os.getpid).values())

        def kill_a_worker(done: int, total: int) -> None:
            # 4 chunks of 4 are spread over both workers from the start, so after the
            # first result each worker still holds an unfinished chunk
            if not killed and 0 < done <= total // 2:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        dask = run(sc, replications=n, out=tmp_path / "dask", figures=False, backend="dask",
                   scheduler=cluster.scheduler_address, progress=kill_a_worker)
    assert killed and dask.manifest["replications"] == n
    for name in ("summary.csv", "exports_monthly.csv"):
        assert (local.directory / name).read_bytes() == (dask.directory / name).read_bytes()


def test_a_worker_imports_only_what_a_chunk_needs():
    """Unpickling a chunk's task (``run_chunk`` and a plan) in a fresh process leaves out
    pandas, scipy.stats and matplotlib (comparison and report code): a spawned Dask worker
    starts faster."""
    import pickle
    import subprocess
    import sys

    from simulator import compile_plan
    from simulator.ensemble import run_chunk

    task = pickle.dumps((run_chunk, compile_plan(scenario(timeline=[CONTROLS]))))
    code = ("import pickle, sys; pickle.loads(sys.stdin.buffer.read()); "
            "print(sorted(m for m in ('pandas', 'scipy.stats', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], input=task, capture_output=True,
                         check=True).stdout
    assert out.decode().strip() == "[]"


def test_local_cluster_workers_are_forked_with_magsim_already_imported():
    """magsim's LocalCluster forks its workers from a server that imported magsim once, so
    a new worker has the model loaded before its first chunk (a spawned one would not).
    With Dask's default port taken (another cluster, a parallel test) it starts without a
    warning."""
    import contextlib
    import multiprocessing
    import os
    import socket
    import warnings

    from simulator.ensemble import Workers

    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork server on this platform")

    def loaded() -> tuple[bool, int]:
        import sys

        return "simulator.model" in sys.modules, os.getppid()

    with socket.socket() as taken, warnings.catch_warnings(record=True) as caught:
        with contextlib.suppress(OSError):  # already taken is as good
            taken.bind(("127.0.0.1", 8787))  # Dask's default HTTP port
        warnings.simplefilter("always")
        with Workers(2, "dask") as session:
            seen = list(session.dask().run(loaded).values())
    assert not [w for w in caught if "already in use" in str(w.message)]
    assert len(seen) == 2 and all(imported for imported, _ in seen)
    assert all(parent != os.getpid() for _, parent in seen)  # not forked from this process


def test_cli_dask_backend_matches_local(tmp_path):
    """``magsim run --backend dask`` (fork server started before the model loads) writes
    the same bytes as the local backend."""
    import subprocess
    import sys

    import yaml
    from conftest import TINY

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, sort_keys=False))
    outs = {}
    for backend in ("local", "dask"):
        outs[backend] = tmp_path / backend
        subprocess.run([sys.executable, "-m", "simulator", "run", str(path), "-o",
                        str(outs[backend]), "--replications", "6", "--workers", "2",
                        "--backend", backend], check=True, capture_output=True, timeout=300)
    for name in ("summary.csv", "exports_monthly.csv"):
        assert (outs["local"] / name).read_bytes() == (outs["dask"] / name).read_bytes()
