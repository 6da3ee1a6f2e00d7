"""Running a study: plan the work, drive the executor, resume, stop, assemble.

`run_study(plan, options)` runs (or resumes, or extends) a study: it finds
the replications already on disk, submits chunks of the missing ones to the
executor, writes each finished chunk as a part, applies the stopping rule at
checkpoints that depend only on the data, and writes the final tables.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from skydome.engine.batch import auto_batch_size
from skydome.errors import UserError
from skydome.io import write_atomic_file
from skydome.seeding import replication_seed
from skydome.stats import Estimate
from skydome.study import tables
from skydome.study.executors import (
    Backend,
    Chunk,
    ChunkResult,
    Work,
    dask_backend,
    local_backend,
    no_close,
    run_chunk,
)
from skydome.study.metrics import Row, cell_estimates
from skydome.study.options import (
    MAX_REPLICATIONS,
    UNTIL_CI_DEFAULT_N,
    OptionError,
    StudyOptions,
    default_jobs,
)
from skydome.study.plan import ProgressFn, StudyPlan
from skydome.study.store import StudyDir, manifest, precheck, write_parquet

__all__ = ["FIRST_CHECKPOINT", "StudyResult", "run_study"]

FIRST_CHECKPOINT = 100
"""With a stopping rule, the interval is first looked at after this many replications."""

_BATCH_PROBE_CELLS = 64
"""The automatic batch size of a sweep is the smallest of its first cells' (they differ
in a few values, rarely in what the batched step covers)."""

_CHUNK_TARGET_S = 2.0
"""Adaptive chunks aim at about this much work, so a crash loses little and tasks balance."""


@dataclass(frozen=True)
class StudyResult:
    """A finished study.

    Attributes:
        plan: the study plan.
        n: replications per cell in the final table.
        table: one row per replication, sorted by cell and replication.
        estimates: per cell, metric name -> estimate.
        summary: the `summary.json` content.
        reused: replications found on disk (resume) rather than run.
        ran: replications run by this call.
        elapsed_s: wall time of this call, seconds.
        workers: parallel workers used (0 when nothing had to run).
        startup_s: from asking for the executor until a worker starts the first
            task: connecting, starting workers, shipping the scenarios.
        executor: description of the executor.
        out_dir: the study directory (None: in memory only).
    """

    plan: StudyPlan
    n: int
    table: pa.Table
    estimates: tuple[dict[str, Estimate], ...]
    summary: dict[str, Any]
    reused: int
    ran: int
    elapsed_s: float
    workers: int
    startup_s: float
    executor: str
    out_dir: Path | None


@dataclass
class _Runner:
    """Mutable state of one call of `run_study`."""

    plan: StudyPlan
    row_schema: pa.Schema
    directory: StudyDir | None
    open_backend: Callable[[], Backend]
    chunk_size: int | None
    progress: ProgressFn | None
    batch: int = 1
    """Replications a worker steps together (1: one at a time): chunks of batches."""
    done: dict[tuple[int, int], Row] = field(default_factory=dict)
    backend: Backend | None = None
    workers: int = 0
    executor: str = "none"
    ran: int = 0
    startup_s: float | None = None
    _t_open: float | None = None
    _wall_sum: float = 0.0
    _wall_n: int = 0

    def add_done(self, rows: Sequence[Row]) -> None:
        for r in rows:
            self.done.setdefault((int(r["cell"]), int(r["replication"])), r)
            if r.get("wall_s"):
                self._wall_sum += float(r["wall_s"])
                self._wall_n += 1

    def count_below(self, target: int) -> int:
        return sum(1 for (_, i) in self.done if i < target)

    def ensure_backend(self) -> Backend:
        if self.backend is None:
            self._t_open = time.time()
            self.backend = self.open_backend()
            self.workers = self.backend.workers
            self.executor = self.backend.description
        return self.backend

    def close_backend(self, cancel: bool) -> None:
        if self.backend is not None:
            be, self.backend = self.backend, None
            be.close(cancel)

    def run_upto(self, target: int) -> None:
        """Run every missing replication below `target` in every cell."""
        runs = list(self._missing_runs(target))
        if not runs:
            return
        be = self.ensure_backend()
        planned = target * len(self.plan.cells)
        done = self.count_below(target)
        remaining = sum(k for _, _, k in runs)
        inflight: set[cf.Future[ChunkResult]] = set()
        warm = be.workers  # the first tasks are single replications: they time the model
        try:
            while runs or inflight:
                while runs and len(inflight) < 2 * be.workers:
                    take = min(self._next_size(remaining, be.workers, warm), runs[0][2])
                    warm = max(warm - 1, 0)
                    cell, start, k = runs[0]
                    if take == k:
                        runs.pop(0)
                    else:
                        runs[0] = (cell, start + take, k - take)
                    remaining -= take
                    seeds = tuple(replication_seed(self.plan.seed, start + j) for j in range(take))
                    chunk = Chunk(cell, start, seeds)
                    inflight.add(be.executor.submit(run_chunk, be.work_ref, chunk))
                finished, inflight = cf.wait(inflight, return_when=cf.FIRST_COMPLETED)
                for fut in finished:
                    res = fut.result()
                    self._collect(res)
                    done += len(res.rows)
                    if self.progress is not None:
                        self.progress(done, planned)
        except KeyboardInterrupt:
            # Ctrl-C: drop the chunks not started, save those running (a few
            # seconds at most), then stop. A second Ctrl-C stops at once.
            running = {f for f in inflight if not f.cancel()}
            try:
                finished, _ = cf.wait(running, timeout=3 * _CHUNK_TARGET_S)
                for fut in finished:
                    if fut.exception() is None:
                        self._collect(fut.result())
            finally:
                self.close_backend(True)
            raise
        except (cf.BrokenExecutor, cf.CancelledError, OSError) as e:
            # A worker process died (out of memory, killed), or the cluster went away.
            for fut in inflight:
                fut.cancel()
            self.close_backend(True)
            where = self.directory.root if self.directory is not None else None
            saved = (
                f"the finished replications are saved in {where}: run the same command "
                "with --resume to complete the study"
                if where is not None
                else "nothing was saved (no study directory)"
            )
            detail = str(e).rstrip(".")
            what = f"{type(e).__name__}: {detail}" if detail else type(e).__name__
            raise UserError(
                f"the study lost its workers ({what}; out of memory, killed, or the cluster "
                f"went away); {saved}"
            ) from None
        except BaseException:
            for fut in inflight:
                fut.cancel()
            self.close_backend(True)
            raise

    def _missing_runs(self, target: int) -> Iterator[tuple[int, int, int]]:
        """Runs (cell, first index, length) of consecutive missing replications."""
        for c in range(len(self.plan.cells)):
            start = None
            for i in range(target + 1):
                missing = i < target and (c, i) not in self.done
                if missing and start is None:
                    start = i
                elif not missing and start is not None:
                    yield c, start, i - start
                    start = None

    def _next_size(self, remaining: int, workers: int, warm: int) -> int:
        if self.chunk_size is not None:
            return self.chunk_size
        if self.batch > 1:
            # A whole batch per chunk (a killed chunk is re-run whole), smaller at
            # the end so that the workers finish together.
            return max(1, min(self.batch, math.ceil(remaining / (2 * workers))))
        if warm > 0 and self._wall_n == 0:
            return 1
        # Guided self-scheduling: big chunks while much remains, small ones at the
        # end so that the workers finish together; capped at ~2 s of work.
        per_rep = self._wall_sum / self._wall_n if self._wall_n else 1.0
        cap = max(1, int(_CHUNK_TARGET_S / max(per_rep, 1e-6)))
        return max(1, min(cap, math.ceil(remaining / (2 * workers))))

    def _collect(self, res: ChunkResult) -> None:
        if self._t_open is not None:
            wait = max(0.0, res.t_start - self._t_open)
            self.startup_s = wait if self.startup_s is None else min(self.startup_s, wait)
        if self.directory is not None:
            table = pa.Table.from_pylist(res.rows, schema=self.row_schema)
            self.directory.write_part(table, res.events)
        self.add_done(res.rows)
        self.ran += len(res.rows)


def _next_target(target: int, width: float, goal: float, cap: int) -> int:
    """The next checkpoint of the stopping rule: a function of the data, never of timing.

    The interval's width shrinks like 1/sqrt(n), so about `n (width / goal)^2`
    replications reach the goal; grow by at least 10 % and at most 2x per step.
    """
    est = target * (width / goal) ** 2 if math.isfinite(width) else 2.0 * target
    nxt = max(target + max(1, target // 10), min(2 * target, math.ceil(est)))
    return min(cap, nxt)


def run_study(
    plan: StudyPlan,
    options: StudyOptions,
    *,
    progress: ProgressFn | None = None,
) -> StudyResult:
    """Run (or resume, or extend) a study and write its tables.

    Args:
        plan: from `plan_study`.
        options: how to run it.
        progress: called with (done, planned) as replications finish.

    Returns:
        The study result.

    Raises:
        UserError: options that do not fit the plan (`OptionError`), an unusable or
            mismatched directory, an unreachable scheduler.
    """
    t_start = time.perf_counter()
    n_cells = len(plan.cells)
    options.check_plan(plan)
    root = options.out_dir
    old = precheck(root, options.resume) if root is not None else None
    n = options.n
    if n is None:
        if old is not None and isinstance(old.get("n"), int):
            n = int(old["n"])
        elif options.until_ci is not None:
            n = min(UNTIL_CI_DEFAULT_N, MAX_REPLICATIONS // n_cells)
        else:
            raise OptionError("n", "give the number of replications")
        StudyOptions(n=n).check_counts(n_cells)
    work = Work(tuple(c.params for c in plan.cells), options.events, options.batch)
    batch = (
        options.batch
        if options.batch is not None
        else min(auto_batch_size(c.params) for c in plan.cells[:_BATCH_PROBE_CELLS])
    )

    def open_backend() -> Backend:
        if options.scheduler is not None:
            return dask_backend(work, options.scheduler, options.connect_timeout_s)
        if options.executor is not None:
            ex = options.executor
            return Backend(ex, work, default_jobs(), type(ex).__name__, no_close)
        return local_backend(work, options.jobs if options.jobs is not None else default_jobs())

    directory = StudyDir(root) if root is not None else None
    runner = _Runner(
        plan=plan,
        row_schema=tables.row_schema(plan),
        directory=directory,
        open_backend=open_backend,
        chunk_size=options.chunk_size,
        progress=progress,
        batch=batch,
    )
    until = options.stopping_rule
    try:
        if options.scheduler is not None:
            runner.ensure_backend()  # fail fast, before anything is written
        reused = 0
        if directory is not None:
            directory.open(manifest(plan, n, options), old)
            directory.write_cells(plan)
            runner.add_done(directory.load())
            reused = runner.count_below(n)
        target = n if until is None else min(n, FIRST_CHECKPOINT)
        stop_info: dict[str, Any] | None = None
        while True:
            if progress is not None:
                progress(runner.count_below(target), target * n_cells)
            runner.run_upto(target)
            if options.until_ci is None:
                break
            metric = options.ci_metric
            worst = max(
                cell_estimates(
                    [runner.done[(c, i)] for i in range(target)], [metric], options.confidence
                )[metric].width
                for c in range(n_cells)
            )
            reached = worst <= options.until_ci
            stop_info = {**(until or {}), "reached": reached, "worst_width": worst}
            if reached or target >= n:
                break
            target = _next_target(target, worst, options.until_ci, n)
        runner.close_backend(False)
        return _finish(plan, runner, target, options, stop_info, t_start, reused)
    finally:
        runner.close_backend(True)
        if directory is not None:
            directory.close()


def _finish(
    plan: StudyPlan,
    runner: _Runner,
    n: int,
    options: StudyOptions,
    stop_info: dict[str, Any] | None,
    t_start: float,
    reused: int,
) -> StudyResult:
    """Assemble the final tables and the summary; write them atomically."""
    directory = runner.directory
    metric_names = [c for c, _ in plan.columns]
    keys = [(c, i) for c in range(len(plan.cells)) for i in range(n)]
    rows = [runner.done[k] for k in keys]
    table = tables.replications_table(plan, rows, n)
    estimates = tuple(
        cell_estimates(rows[c * n : (c + 1) * n], metric_names, options.confidence)
        for c in range(len(plan.cells))
    )
    summary = tables.summary_json(plan, n, estimates, options.confidence, stop_info)
    elapsed = time.perf_counter() - t_start
    result = StudyResult(
        plan=plan,
        n=n,
        table=table,
        estimates=estimates,
        summary=summary,
        reused=reused,
        ran=runner.ran,
        elapsed_s=elapsed,
        workers=runner.workers,
        startup_s=runner.startup_s or 0.0,
        executor=runner.executor,
        out_dir=directory.root if directory is not None else None,
    )
    if directory is not None:
        root = directory.root
        write_parquet(table, root / "replications.parquet")
        write_parquet(tables.summary_table(plan, estimates), root / "summary.parquet")
        if options.events:
            directory.assemble_events(set(keys), plan.is_sweep)
        text = json.dumps(summary, indent=2) + "\n"
        write_atomic_file(root / "summary.json", text)
    return result
