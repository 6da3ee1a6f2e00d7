"""How a study runs: `StudyOptions`, frozen and validated once.

The options name no command-line flag: an invalid one raises `OptionError`,
which carries the option's field name, and the command line maps the field to
its flag (``jobs`` -> ``--jobs``).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from skydome.errors import UserError

if TYPE_CHECKING:
    from skydome.study.plan import StudyPlan

__all__ = [
    "JOBS_PER_CPU",
    "MAX_REPLICATIONS",
    "OptionError",
    "StudyOptions",
    "default_jobs",
    "max_jobs",
]

MAX_BATCH = 4096
"""Most replications `--batch` may step together (memory grows with it)."""

MAX_REPLICATIONS = 10_000_000
"""Most replications one study may plan (`n` x cells): every row is held in memory."""

JOBS_PER_CPU = 4
"""`jobs` may be at most this many local processes per CPU available."""

UNTIL_CI_DEFAULT_N = 10_000
"""With a stopping rule and no `n`: the most replications per cell it may use."""


class OptionError(UserError):
    """An invalid study option.

    Attributes:
        field: the `StudyOptions` field (``"jobs"``, ``"n"``, ...).
        shown: the value as it prefixes the message (``" 10,000"``), or "".
        detail: what is wrong, without the field.
    """

    def __init__(self, field: str, detail: str, shown: str = "") -> None:
        """The message is ``f"{field}{shown}: {detail}"``."""
        super().__init__(f"{field}{shown}: {detail}")
        self.field = field
        self.shown = shown
        self.detail = detail


def default_jobs() -> int:
    """Local processes used when `jobs` is not given: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def max_jobs() -> int:
    """Most local processes a study may start: `JOBS_PER_CPU` per CPU available."""
    return JOBS_PER_CPU * default_jobs()


@dataclass(frozen=True)
class StudyOptions:
    """How to run a study; every field is checked when the options are made.

    Attributes:
        n: replications per cell; with `until_ci`, the most it may use (default
            10,000, fewer for a sweep of more than 1,000 cells); with `resume`,
            defaults to the directory's.
        out_dir: study directory (None: keep everything in memory, no resume).
        resume: complete or extend the study in `out_dir`.
        jobs: local processes (default: the CPUs available); 1 runs in this process.
        scheduler: address of a Dask distributed scheduler, ``tcp://host:8786``.
        executor: any `concurrent.futures.Executor` whose workers can import
            skydome (the scenarios are then sent with each chunk).
        events: also keep every replication's events (`events.parquet`).
        until_ci: add replications until the `confidence` interval of `ci_metric`
            is at most this wide (full width, in the metric's unit) in every cell.
        ci_metric: the metric the stopping rule watches.
        confidence: nominal coverage of every interval in the summary.
        chunk_size: replications per task (default: adaptive: ~2 s of work, or
            one batch when the scenario's replications are stepped together).
        batch: replications stepped together as one array program
            (`skydome.engine.simulate_batch`); None: chosen from the scenario's
            size and the replications left; 1: one at a time.
        connect_timeout_s: how long to wait for a Dask scheduler and its workers.

    Raises:
        OptionError: an invalid option, or options that contradict each other.
    """

    n: int | None = None
    out_dir: Path | None = None
    resume: bool = False
    jobs: int | None = None
    scheduler: str | None = None
    executor: cf.Executor | None = None
    events: bool = False
    until_ci: float | None = None
    ci_metric: str = "p_no_leaker"
    confidence: float = 0.95
    chunk_size: int | None = None
    connect_timeout_s: float = 10.0
    batch: int | None = None

    def __post_init__(self) -> None:
        """Check every field on its own, and the fields that depend on each other."""
        if self.out_dir is not None and not isinstance(self.out_dir, Path):
            object.__setattr__(self, "out_dir", Path(self.out_dir))
        if sum(x is not None for x in (self.jobs, self.scheduler, self.executor)) > 1:
            raise OptionError("jobs", "give at most one of jobs, scheduler and executor")
        self.check_counts()
        if self.chunk_size is not None and self.chunk_size < 1:
            raise OptionError("chunk_size", f"expected at least 1, got {self.chunk_size}")
        if self.batch is not None and not 1 <= self.batch <= MAX_BATCH:
            raise OptionError("batch", f"expected 1 to {MAX_BATCH}, got {self.batch}")
        if not 0.5 <= self.confidence < 1.0:
            raise OptionError("confidence", f"expected a value in [0.5, 1), got {self.confidence}")
        if self.until_ci is not None and not self.until_ci > 0.0:
            raise OptionError(
                "until_ci", f"expected a positive interval width, got {self.until_ci}"
            )
        if self.connect_timeout_s <= 0.0:
            raise OptionError(
                "connect_timeout_s", f"expected a positive time, got {self.connect_timeout_s}"
            )
        if self.resume and self.out_dir is None:
            raise OptionError("resume", "needs the study directory (out_dir)")

    def check_counts(self, cells: int = 1) -> None:
        """Refuse counts that would start too many processes or plan too many replications.

        Args:
            cells: cells in the study.

        Raises:
            OptionError: `jobs` outside [1, `max_jobs()`], `n` below 1, or more than
                `MAX_REPLICATIONS` replications in all.
        """
        jobs, n = self.jobs, self.n
        if jobs is not None:
            if jobs < 1:
                raise OptionError("jobs", f"expected at least 1, got {jobs}")
            cap, cpus = max_jobs(), default_jobs()
            if jobs > cap:
                raise OptionError(
                    "jobs",
                    f"at most {cap} local processes ({JOBS_PER_CPU} per CPU, "
                    f"{cpus} CPU{'s' if cpus != 1 else ''} available); for more, run on a "
                    "Dask cluster (a scheduler)",
                    f" {jobs:,}",
                )
        if n is not None:
            if n < 1:
                raise OptionError("n", f"expected at least 1 replication, got {n}")
            if n * cells > MAX_REPLICATIONS:
                per = f" ({cells:,} cells x {n:,})" if cells > 1 else ""
                raise OptionError(
                    "n",
                    f"{n * cells:,} replications{per}; at most {MAX_REPLICATIONS:,} in one "
                    "study: use fewer replications (or a stopping rule), or split the study",
                    f" {n:,}",
                )

    def check_plan(self, plan: StudyPlan) -> None:
        """Check the options that depend on the plan: its size, the metric watched.

        Raises:
            OptionError: too many replications for the grid, or an unknown `ci_metric`.
        """
        self.check_counts(len(plan.cells))
        if self.until_ci is not None and self.ci_metric not in plan.metric_names:
            raise OptionError(
                "ci_metric",
                f"unknown metric {self.ci_metric!r} (one of: {', '.join(plan.metric_names)})",
            )

    @property
    def stopping_rule(self) -> dict[str, object] | None:
        """The stopping rule as recorded in the manifest; None without `until_ci`."""
        if self.until_ci is None:
            return None
        return {"width": self.until_ci, "metric": self.ci_metric, "confidence": self.confidence}
