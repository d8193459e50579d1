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
import signal
import threading

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
    start()  # ... which magsim's replaces
    return method


def start() -> None:
    """Start the fork server now; it imports :data:`PRELOAD` while this process goes on
    (this process need not have imported Dask yet).

    The server is started with SIGINT ignored, and so are the workers it forks: Ctrl-C at
    a terminal reaches every process of the foreground group, and it is magsim's to handle
    (it stops the workers), as for the local backend's pool; a worker that took it would
    print a KeyboardInterrupt traceback. (An ignored signal stays ignored across the
    server's exec, and the server hands its children the dispositions it started with.)
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return
    _preload()
    if threading.current_thread() is not threading.main_thread():  # no signal.signal here
        multiprocessing.forkserver.ensure_running()
        return
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, handler)


def _preload() -> None:
    """Make the fork server import :data:`PRELOAD` (no effect once it runs: later clusters
    of this process reuse the running server).
    """
    multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
