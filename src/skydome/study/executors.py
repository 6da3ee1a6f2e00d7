"""Executors: where replications run (this process, local processes, a Dask cluster).

Replications are grouped into chunks of consecutive indices and submitted to
a `concurrent.futures.Executor`: in-process for one job, a pool of local
processes (spawned, each given the compiled scenarios once by its
initializer) for more, or a Dask distributed cluster (the scenarios scattered
to every worker once). A row depends only on the scenario and its seed, never
on the executor, the number of jobs or the chunking.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from skydome import __version__
from skydome.engine import default_pipeline
from skydome.engine.batch import auto_batch_size, simulate_batch
from skydome.results import events_table, summarize
from skydome.scenario import SimParams
from skydome.study.metrics import Row, replication_row
from skydome.study.options import OptionError

__all__ = [
    "Backend",
    "Chunk",
    "ChunkResult",
    "InlineExecutor",
    "ReplicationError",
    "Work",
    "dask_backend",
    "local_backend",
    "no_close",
    "run_chunk",
]


@dataclass(frozen=True)
class Work:
    """What every worker needs: the compiled scenario of every cell, shipped once."""

    cells: tuple[SimParams, ...]
    events: bool
    batch: int | None = None
    """Replications stepped together (None: `auto_batch_size` per cell; 1: one at a time)."""


@dataclass(frozen=True)
class Chunk:
    """A task: consecutive replications `start, start + 1, ...` of one cell."""

    cell: int
    start: int
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class ChunkResult:
    """The rows (and events) of one finished chunk."""

    cell: int
    start: int
    rows: list[Row]
    events: pa.Table | None
    t_start: float
    """When the worker started the chunk (epoch seconds): measures start-up latency."""


class ReplicationError(RuntimeError):
    """A replication raised: a defect, reported with the seed that reproduces it."""


_installed: Work | None = None


def _install(work: Work, parent_pid: int) -> None:
    """Process-pool initializer: keep the work, leave Ctrl-C to the parent, die with it."""
    global _installed
    _installed = work
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)  # the study was killed: do not finish a chunk nobody will read

    threading.Thread(target=watch, name="skydome-parent-watch", daemon=True).start()


def run_chunk(work: Work | None, chunk: Chunk) -> ChunkResult:
    """Run one chunk of replications (in a worker); `work` None: the installed one."""
    t_start = time.time()
    w = work if work is not None else _installed
    if w is None:  # pragma: no cover - a pool without its initializer
        raise RuntimeError("skydome worker has no study installed")
    params = w.cells[chunk.cell]
    pipe = default_pipeline(params)
    size = w.batch if w.batch is not None else auto_batch_size(params)
    rows: list[Row] = []
    events: list[pa.Table] = []
    for first in range(0, len(chunk.seeds), size):
        seeds = chunk.seeds[first : first + size]
        t0 = time.perf_counter()
        try:
            results = simulate_batch(params, seeds, pipeline=pipe, batched=size > 1)
        except Exception as e:
            raise _batch_error(params, chunk, first, seeds, e) from e
        # A batch's replications share its wall time.
        wall = (time.perf_counter() - t0) / len(seeds)
        for k, (seed, result) in enumerate(zip(seeds, results, strict=True)):
            i = chunk.start + first + k
            try:
                row = replication_row(summarize(result))
            except Exception as e:
                raise ReplicationError(
                    f"replication {i} of cell {chunk.cell} (seed {seed}) failed: "
                    f"{type(e).__name__}: {e}; reproduce it with "
                    f"`skydome run SCENARIO --seed {seed}`"
                ) from e
            rows.append({"cell": chunk.cell, "replication": i, "seed": seed, **row, "wall_s": wall})
            if w.events:
                ev = events_table(result)
                n = ev.num_rows
                ev = ev.add_column(0, "replication", pa.array(np.full(n, i, dtype=np.int64)))
                ev = ev.add_column(0, "cell", pa.array(np.full(n, chunk.cell, dtype=np.int64)))
                events.append(ev)
    ev = pa.concat_tables(events) if events else None
    return ChunkResult(chunk.cell, chunk.start, rows, ev, t_start)


def _batch_error(
    params: SimParams, chunk: Chunk, first: int, seeds: tuple[int, ...], error: Exception
) -> ReplicationError:
    """The error of a failed batch, naming the replication that fails alone if one does."""
    for k, seed in enumerate(seeds):
        try:
            if len(seeds) > 1:
                simulate_batch(params, [seed], batched=False)
            else:
                raise error
        except Exception as e:
            return ReplicationError(
                f"replication {chunk.start + first + k} of cell {chunk.cell} (seed {seed}) "
                f"failed: {type(e).__name__}: {e}; reproduce it with "
                f"`skydome run SCENARIO --seed {seed}`"
            )
    last = chunk.start + first + len(seeds) - 1
    return ReplicationError(
        f"the batch of replications {chunk.start + first}-{last} of cell {chunk.cell} failed "
        f"({type(error).__name__}: {error}), though each runs alone: a defect of the "
        "batched engine; run the study with --batch 1"
    )


class InlineExecutor(cf.Executor):
    """A `concurrent.futures.Executor` that runs each call at `submit`, in this process.

    Used for one job: no process start-up, no pickling, the same results.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        """Run `fn(*args, **kwargs)` now; return a finished future."""
        fut: cf.Future[Any] = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as e:
            if not isinstance(e, Exception):
                raise  # KeyboardInterrupt, SystemExit: stop the study
            fut.set_exception(e)
        return fut


@dataclass
class Backend:
    """An open executor, what to send its tasks, and how to close it."""

    executor: cf.Executor
    work_ref: Any
    workers: int
    description: str
    close: Callable[[bool], None]


_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Worker processes run one replication at a time: one BLAS thread each (as Dask's nanny does)."""


def _ready() -> None:
    """A no-op task: submitting one per worker starts the workers now."""


def local_backend(work: Work, jobs: int) -> Backend:
    """This process for one job, else a pool of spawned processes given `work` once."""
    if jobs == 1:
        return Backend(InlineExecutor(), work, 1, "1 process", no_close)
    pool = cf.ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_install,
        initargs=(work, os.getpid()),
    )
    # Spawned workers read the environment when they start, i.e. at these submits:
    # give them one BLAS thread each unless the user chose otherwise, then restore.
    saved = {k: os.environ.get(k) for k in _ONE_THREAD}
    try:
        for k, v in _ONE_THREAD.items():
            os.environ.setdefault(k, v)
        for _ in range(jobs):
            pool.submit(_ready)
    finally:
        for k, old in saved.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old

    def close(cancel: bool) -> None:
        pool.shutdown(wait=not cancel, cancel_futures=cancel)

    return Backend(pool, None, jobs, f"{jobs} local processes", close)


def _version_probe() -> Callable[[], str | None]:
    """A function that reports the skydome version a Dask worker can import.

    It is defined locally, so cloudpickle ships it by value: it runs even on a
    worker without skydome, and says so (None) instead of failing to unpickle.
    """

    def probe() -> str | None:
        try:
            import skydome

            return str(skydome.__version__)
        except ImportError:
            return None

    return probe


def dask_backend(work: Work, address: str, timeout_s: float) -> Backend:
    """A Dask cluster's executor, the work scattered to every worker once.

    Raises:
        OptionError: unreachable scheduler, no workers, another skydome version.
    """
    try:
        import distributed
    except ImportError:  # pragma: no cover - a dependency
        raise OptionError(
            "scheduler", "needs the `distributed` package (pip install distributed)"
        ) from None
    shown = f" {address}"
    try:
        # distributed's methods carry no annotations: use the client untyped.
        connect: Callable[..., Any] = distributed.Client
        client = connect(address, timeout=timeout_s, set_as_default=False)
    except Exception as e:  # any failure to connect is the address's fault
        raise OptionError(
            "scheduler",
            f"cannot reach a Dask scheduler within {timeout_s:g} s "
            f"({type(e).__name__}: {e}); start one with `dask scheduler` and give its "
            "tcp://HOST:PORT address",
            shown,
        ) from None
    try:
        try:
            client.wait_for_workers(1, timeout=timeout_s)
        except (TimeoutError, OSError):
            raise OptionError(
                "scheduler",
                f"the scheduler has no workers after {timeout_s:g} s; start some "
                f"with `dask worker {address}`",
                shown,
            ) from None
        versions: dict[str, str | None] = client.run(_version_probe())
        bad = {w: v for w, v in versions.items() if v != __version__}
        if bad:
            w, v = sorted(bad.items())[0]
            got = "no skydome" if v is None else f"skydome {v}"
            raise OptionError(
                "scheduler",
                f"worker {w} has {got}, this is skydome {__version__}: install the "
                f"same skydome version on every worker ({len(bad)} of {len(versions)} differ)",
                shown,
            )
        nthreads = sum(int(k) for k in client.nthreads().values())
        ref = client.scatter(work, broadcast=True, hash=False)
        executor = client.get_executor(pure=False)
    except BaseException:
        client.close()
        raise

    def close(cancel: bool) -> None:
        executor.shutdown(wait=not cancel)
        client.close()

    return Backend(
        executor, ref, max(nthreads, 1), f"Dask cluster {address} ({nthreads} threads)", close
    )


def no_close(cancel: bool) -> None:
    """A caller's executor is the caller's to shut down."""
