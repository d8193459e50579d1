"""Start magsim's LocalCluster workers from a fork server, not by spawning each one.

Dask spawns a LocalCluster's workers by default: each is a fresh interpreter that imports
Dask, then numpy, scipy, pyarrow and magsim for its first chunk (about 1.3 s of CPU each,
2.6 s for two workers on 2 cores). A fork server is one single-threaded process that imports
them once and forks a worker per request. Forking it is safe, unlike forking magsim's own
process, whose Dask event-loop thread is running. Kept light (no numpy, no magsim model) so
that the CLI can start the server first and let it import while the CLI loads the rest.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver

PRELOAD = ["distributed", "simulator.ensemble"]
"""What the fork server imports once, before forking workers."""


def settings() -> dict[str, str]:
    """Dask settings that make LocalCluster workers come from the fork server (empty where
    the platform has none, e.g. Windows: Dask then spawns them).
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return {}
    import dask
    from distributed.utils import get_mp_context

    method = {"distributed.worker.multiprocessing-method": "forkserver"}
    with dask.config.set(method):
        get_mp_context()  # Dask sets its own preload (pandas and more) on first use ...
    _preload()  # ... which magsim's replaces
    return method


def start() -> None:
    """Start the fork server now; it imports :data:`PRELOAD` while this process goes on
    (this process need not have imported Dask yet).
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        _preload()
        multiprocessing.forkserver.ensure_running()


def _preload() -> None:
    """Make the fork server import :data:`PRELOAD` (no effect once it runs: later clusters
    of this process reuse the running server).
    """
    multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
