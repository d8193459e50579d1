"""Monte Carlo ensembles: chunks of replications, run in-process or on a process pool.

A chunk's result holds only small per-replication arrays (metrics, monthly exports) and a
fixed-size histogram of cover, plus the daily rows of the first replications; so memory
does not grow with the number of replications. Replication *k* always uses the streams of
``(seed, k)``, so results do not depend on chunking, worker count or completion order.
"""

from __future__ import annotations

import logging
import math
import signal
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from simulator import forkserver, metrics
from simulator.model import simulate_batch
from simulator.plan import Plan
from simulator.records import Records

COVER_BINS = 200  # 1-day bins of cover, 0..199 days (higher values fall in the last bin)
COVER_EVERY = 7  # days between cover samples in the fan-chart histogram
LOCKSTEP = 50  # replications stepped together at most
BATCH_BUYER_DAYS = 1_200_000
"""Buyer-days a lock-step batch holds at most (50 replications of the 2025 replay, 21 buyers x
1,096 days: 1,000 replays under ``magsim run`` peak at ~615 MiB); larger scenarios step fewer
replications at a time."""


@dataclass(frozen=True)
class Chunk:
    """Replications ``start`` (inclusive) to ``stop`` (exclusive)."""

    start: int
    stop: int

    @property
    def name(self) -> str:
        """File-name stem of this chunk."""
        return f"{self.start:07d}-{self.stop:07d}"


@dataclass
class ChunkResult:
    """What a chunk hands back; arrays are [replication, ...] for its replications."""

    chunk: Chunk
    shortage: np.ndarray  # [rep, entity, metric]
    gate: np.ndarray  # [rep, gate metric]
    monthly: np.ndarray  # [rep, month, region] dispatched t
    cover_hist: np.ndarray  # [sample day, sector, bin] counts
    backlog: np.ndarray  # [rep, sample day] licence backlog, all buyers (t)
    daily: pa.Table | None
    seconds: float


def plan_chunks(replications: int, total: int | None = None) -> list[Chunk]:
    """Fixed chunking that depends only on the replication count (so resume can reuse it):
    chunks of about sqrt(n) replications (progress and saves every few; 20 replications in
    4 chunks of 5), ceil(n/40)^2 from 121 on, at most ``LOCKSTEP`` (from 281 on); a chunk's
    replications step together. A comparison sizes each variant's chunks by ``total``, its
    replications over all variants.
    """
    n = total or replications
    root = math.isqrt(max(n - 1, 0)) + 1  # ceil(sqrt(n))
    size = max(1, min(LOCKSTEP, replications, max(root, math.ceil(n / 40) ** 2)))
    return [Chunk(a, min(a + size, replications)) for a in range(0, replications, size)]


def month_index(plan: Plan) -> tuple[np.ndarray, list[str]]:
    """Month number of each day and the month labels (YYYY-MM)."""
    months = plan.dates.astype("datetime64[M]")
    labels = np.unique(months)
    return np.searchsorted(labels, months), [str(m) for m in labels]


def _sector_cover(rec: Records, plan: Plan) -> np.ndarray:
    forecast = plan.demand_mean * (1.0 - rec.substituted_share)
    sectors = list(dict.fromkeys(plan.sectors))
    out = np.empty((plan.days, len(sectors)))
    for j, s in enumerate(sectors):
        m = [i for i, x in enumerate(plan.sectors) if x == s]
        out[:, j] = rec.inventory[:, m].sum(1) / np.maximum(forecast[:, m].sum(1), 1e-12)
    return out


def daily_table(rec: Records, plan: Plan, scenario: str, variant: str) -> pa.Table:
    """Long-format daily rows of one replication: buyers, regions and stockpiles."""
    days, nb = rec.inventory.shape
    dates = np.repeat(plan.dates, nb)
    cols = {
        "scenario": [scenario] * (days * nb), "variant": [variant] * (days * nb),
        "replication": np.full(days * nb, rec.replication, dtype=np.int32),
        "date": dates, "kind": ["buyer"] * (days * nb),
        "entity": np.tile(np.array(plan.buyers), days),
    }
    values = {f"{k}_t": getattr(rec, k).ravel() for k in (
        "inventory", "demand", "delivered", "unmet", "received", "released",
        "licence_backlog", "on_order", "in_transit")}
    buyer = pa.table({**cols, **values, "premium_usd": rec.premium_usd.ravel(),
                      "substituted_share": rec.substituted_share.ravel()})
    nr = len(plan.regions)
    region = pa.table({
        "scenario": [scenario] * (days * nr), "variant": [variant] * (days * nr),
        "replication": np.full(days * nr, rec.replication, dtype=np.int32),
        "date": np.repeat(plan.dates, nr), "kind": ["region"] * (days * nr),
        "entity": np.tile(np.array(plan.regions), days),
        "approved_t": rec.approved.ravel(), "denied_t": rec.denied.ravel(),
        "dispatched_t": rec.dispatched.ravel(),
    })
    ns = len(plan.stockpiles)
    parts = [buyer, region]
    if ns:
        parts.append(pa.table({
            "scenario": [scenario] * (days * ns), "variant": [variant] * (days * ns),
            "replication": np.full(days * ns, rec.replication, dtype=np.int32),
            "date": np.repeat(plan.dates, ns), "kind": ["stockpile"] * (days * ns),
            "entity": np.tile(np.array(plan.stockpiles), days),
            "stockpile_t": rec.stockpile.ravel(),
            "refill_t": rec.stockpile_refill.ravel(),
        }))
    return pa.concat_tables(parts, promote_options="default")


def run_chunk(plan: Plan, chunk: Chunk, seed: int, daily_upto: int, variant: str = ""
              ) -> ChunkResult:
    """Simulate the replications of ``chunk`` and reduce each to its metrics."""
    t0 = time.perf_counter()
    ents = metrics.entities(plan)
    midx, labels = month_index(plan)
    sample = np.arange(0, plan.days, COVER_EVERY)
    n_sectors = len(dict.fromkeys(plan.sectors))
    hist = np.zeros((len(sample), n_sectors, COVER_BINS), dtype=np.int64)
    n = chunk.stop - chunk.start
    shortage = np.empty((n, len(ents), len(metrics.ALL_METRICS)))
    gate = np.empty((n, len(metrics.GATE_METRICS)))
    monthly = np.empty((n, len(labels), len(plan.regions)))
    backlog = np.empty((n, len(sample)))
    tables = []
    for i, rec in enumerate(batched_records(plan, range(chunk.start, chunk.stop), seed)):
        k = rec.replication
        shortage[i] = metrics.replication_metrics(rec, plan, ents)
        gate[i] = metrics.gate_metrics(rec)
        monthly[i] = metrics.monthly_dispatched(rec, midx, len(labels))
        backlog[i] = rec.licence_backlog.sum(1)[sample]
        cover = _sector_cover(rec, plan)[sample]
        bins = np.clip(cover.astype(np.int64), 0, COVER_BINS - 1)
        np.add.at(hist, (np.arange(len(sample))[:, None], np.arange(n_sectors)[None, :], bins),
                  1)
        if k < daily_upto:
            tables.append(daily_table(rec, plan, plan.scenario.name, variant))
    daily = pa.concat_tables(tables) if tables else None
    return ChunkResult(chunk, shortage, gate, monthly, hist, backlog, daily,
                       time.perf_counter() - t0)


def batch_size(plan: Plan) -> int:
    """Replications of ``plan`` stepped together: ``LOCKSTEP``, fewer for scenarios so large
    that the batch would hold more than ``BATCH_BUYER_DAYS``.
    """
    return max(1, min(LOCKSTEP, BATCH_BUYER_DAYS // max(1, len(plan.buyers) * plan.days)))


def batched_records(plan: Plan, reps: range, seed: int | None) -> Iterable[Records]:
    """The records of ``reps`` in order, simulated in lock-step batches (:func:`batch_size`)."""
    size = batch_size(plan)
    for lo in range(reps.start, reps.stop, size):
        yield from simulate_batch(plan, list(range(lo, min(lo + size, reps.stop))), seed)


QUIET_DASK = {"distributed.worker.profile.enabled": False,
              "distributed.admin.tick.interval": "1s",
              "distributed.admin.system-monitor.interval": "2s",
              "distributed.worker.memory.monitor-interval": "1s",
              "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
"""Dask settings of magsim's LocalCluster: by default a worker samples its task's stack every
10 ms and wakes its event loop every 20 ms, which slows this pure-Python simulation
(``benchmarks/bench_dask_overhead.py``); they are diagnostics only. Dask also starts workers
with ``MALLOC_TRIM_THRESHOLD_=65536``, which turns off glibc's adaptive mmap threshold: every
multi-megabyte array of a lock-step batch is then a fresh mapping, page-faulted in again (8x
the page faults, a 25-replication chunk of the replay 40% slower); magsim leaves glibc's
default."""


SCHEDULER_TIMEOUT = 10.0
"""Seconds magsim tries to connect to a Dask scheduler (``--scheduler``), and then waits at
most as long again for its handshake: long enough for a scheduler that is still starting,
short enough that a wrong address fails soon."""


class SchedulerError(Exception):
    """A Dask scheduler address that is malformed or does not answer."""


def reach(address: str, timeout: float | None = None) -> None:
    """Connect to the Dask scheduler at ``address`` and hang up, or raise
    :class:`SchedulerError`: at once for a malformed address, else after ``timeout`` seconds
    (default :data:`SCHEDULER_TIMEOUT`) of trying to connect, plus as much for an answer.
    """
    import asyncio

    from distributed.comm import connect
    from distributed.comm.addressing import get_address_host_port

    timeout = SCHEDULER_TIMEOUT if timeout is None else timeout
    fail = f"cannot reach the Dask scheduler at {address}"
    try:
        port = get_address_host_port(address)[1]
        if not 0 < port < 65536:
            raise ValueError(f"port {port} is out of range")
    except ValueError as err:
        raise SchedulerError(f"{fail}: not an address like tcp://HOST:PORT ({err})") from None

    async def hello() -> None:
        comm = await connect(address, timeout=timeout)  # retries until the timeout
        await comm.close()

    try:  # Dask waits for the handshake without a limit (a web server never answers)
        asyncio.run(asyncio.wait_for(hello(), 2 * timeout))
    except TimeoutError:
        raise SchedulerError(f"{fail}: no answer in {2 * timeout:g} s (is it a Dask "
                             "scheduler?)") from None
    except OSError as err:  # Dask's "timed out" wraps the reason: refused, unknown host ...
        raise SchedulerError(f"{fail}: {_reason(err)} (tried for {timeout:g} s)") from None
    except Exception as err:  # noqa: BLE001 - whatever a peer that is not Dask leads to
        raise SchedulerError(f"{fail}: not a Dask scheduler ({type(err).__name__})"
                             ) from None


def _reason(err: BaseException) -> str:
    """The first system reason (``Connection refused``) in ``err``'s chain of causes, or
    ``timed out`` when no attempt ended before the time was up (a busy machine).
    """
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    return "timed out"


class Workers:
    """Where chunks run: in this process, on a process pool, or on Dask (a LocalCluster of
    single-threaded worker processes, or the cluster at ``scheduler``).

    Opened on first use and kept until :meth:`close`, so the chunks of many runs (a
    comparison's variants, a sweep's points) share one pool or cluster instead of starting
    one each (a LocalCluster's workers come from a fork server, see
    :mod:`simulator.forkserver`). A context manager: leaving it by an exception
    stops the workers at once.
    """

    def __init__(self, workers: int, backend: str = "local", scheduler: str | None = None
                 ) -> None:
        self.workers, self.backend, self.scheduler = max(1, workers), backend, scheduler
        self.pool: ProcessPoolExecutor | None = None
        self.client: Any = None
        self.cluster: Any = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.close(abort=kind is not None)

    @property
    def parallel(self) -> bool:
        """Chunks go to other processes (Dask, or a pool of more than one)."""
        return self.backend == "dask" or self.workers > 1

    def dask(self) -> Any:
        """The Dask client (started on first use)."""
        if self.client is None:
            import dask
            from dask.distributed import Client, LocalCluster

            if not self.scheduler:
                with dask.config.set({**QUIET_DASK, **forkserver.settings()}):
                    # the scheduler's HTTP server binds a free port (":0"): with None it
                    # still tries 8787 and warns when another cluster holds it
                    self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                                processes=True, dashboard_address=":0",
                                                silence_logs=logging.ERROR)
            self.client = Client(self.scheduler or self.cluster, timeout=SCHEDULER_TIMEOUT)
        return self.client

    def processes(self) -> ProcessPoolExecutor:
        """The process pool (started on first use)."""
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=self.workers,
                                            initializer=_ignore_interrupt)
        return self.pool

    def close(self, abort: bool = False) -> None:
        """Stop the workers; with ``abort`` (Ctrl-C, a failure) do not wait for running
        chunks (finished ones are already saved).
        """
        if self.pool is not None:
            if abort:
                for proc in list(getattr(self.pool, "_processes", {}).values()):
                    proc.terminate()
            self.pool.shutdown(wait=not abort, cancel_futures=True)
            self.pool = None
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            if abort:  # workers in mid-chunk: stop them at once
                self.cluster.sync(_kill, list(self.cluster.workers.values()))
            self.cluster.close()
            self.cluster = None


async def _kill(nannies: list[Any]) -> None:
    """Stop the worker processes of a LocalCluster's ``nannies``, killing any that has not
    stopped after 0.4 s (Dask's default waits 4 s for a running task).
    """
    import asyncio

    await asyncio.gather(*(n.close(timeout=0.5) for n in nannies))


@dataclass
class Job:
    """Chunks of one plan to run, and where their results go."""

    plan: Plan
    chunks: list[Chunk]
    seed: int
    on_result: Callable[[ChunkResult], None]
    daily_upto: int = 0
    variant: str = ""

    def args(self, c: Chunk, plan: Any = None) -> tuple[Any, ...]:
        """Arguments of :func:`run_chunk` for chunk ``c`` (``plan``: a stand-in for it)."""
        return (self.plan if plan is None else plan, c, self.seed, self.daily_upto,
                self.variant)


def _run_dask(client: Any, jobs: list[Job]) -> None:
    """Every job's chunks as Dask tasks at once; a task whose worker dies is retried."""
    from dask.distributed import as_completed

    owner: dict[Any, Job] = {}
    for job in jobs:
        plan_f = client.scatter(job.plan, broadcast=True)
        for c in job.chunks:
            fut = client.submit(run_chunk, *job.args(c, plan_f),
                                key=f"magsim-{c.name}-{job.variant}", retries=3, pure=False)
            owner[fut] = job
    left = set(owner)
    try:
        for fut in as_completed(list(owner)):
            owner[fut].on_result(fut.result())
            left.discard(fut)
            fut.release()
    finally:
        for fut in left:  # after a failure, on a cluster that outlives this call
            fut.cancel()


def _run_pool(pool: ProcessPoolExecutor, workers: int, jobs: list[Job]) -> None:
    """Every job's chunks on the pool in one queue (no idle tail between jobs), at most
    two per worker submitted at a time.
    """
    queue = iter([(job, c) for job in jobs for c in job.chunks])
    pending: dict[Future[ChunkResult], Job] = {}

    def submit_next() -> None:
        item = next(queue, None)
        if item is not None:
            job, c = item
            pending[pool.submit(run_chunk, *job.args(c))] = job

    for _ in range(2 * workers):
        submit_next()
    try:
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                pending.pop(fut).on_result(fut.result())
                submit_next()
    finally:
        for fut in pending:
            fut.cancel()


def execute_jobs(jobs: list[Job], session: Workers) -> None:
    """Run the chunks of all ``jobs`` on ``session``, handing each result to its job's
    ``on_result`` as soon as it is finished (in-process when there is one worker or one
    chunk in all).
    """
    jobs = [j for j in jobs if j.chunks]
    if session.backend == "dask":
        if jobs:
            _run_dask(session.dask(), jobs)
    elif session.workers > 1 and sum(len(j.chunks) for j in jobs) > 1:
        _run_pool(session.processes(), session.workers, jobs)
    else:
        for job in jobs:
            for c in job.chunks:
                job.on_result(run_chunk(*job.args(c)))


def execute(plan: Plan, chunks: Iterable[Chunk], seed: int, daily_upto: int, workers: int,
            on_result: Callable[[ChunkResult], None], variant: str = "",
            backend: str = "local", scheduler: str | None = None) -> None:
    """Run ``chunks`` (in-process if ``workers`` is 1, on a process pool, or on Dask) and
    hand each result to ``on_result`` as soon as it is finished.
    """
    with Workers(workers, backend, scheduler) as session:
        execute_jobs([Job(plan, list(chunks), seed, on_result, daily_upto, variant)], session)


def _ignore_interrupt() -> None:
    """Pool initializer: Ctrl-C is the parent's to handle (no traceback from each worker),
    and SIGTERM, by which the parent stops a worker, kills it (whatever handler the parent
    had when it forked).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
