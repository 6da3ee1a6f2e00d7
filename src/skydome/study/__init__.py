"""Monte Carlo studies: replications, seeds, sweeps, executors, crash-safe resume.

A *study* runs `n` replications of each *cell* of a scenario: one cell for
``skydome mc`` (a sweep with no settings), the full grid of settings for
``skydome sweep``. One code path for both:

- `plan` validates and compiles every cell before anything runs (`plan_study`);
- `options` holds how to run it, frozen and validated once (`StudyOptions`);
- `metrics` is the registry every table, summary and label derives from;
- `executors` runs chunks of replications in this process, local processes or
  a Dask cluster;
- `store` is the study directory: lock, manifest, append-only parts;
- `tables` assembles `replications.parquet`, `summary.json`, `summary.parquet`;
- `runner` drives it all (`run_study`).

Seeds (common random numbers)
    Replication `i` of a study with seed `S` runs with the integer seed
    `skydome.seeding.replication_seed(S, i)`. The engine spawns each
    subsystem's stream from it *by name*, so every cell of a sweep, and every
    design alternative run with the same `S`, sees the same radar noise and
    kill draws: differences between cells are due to the design, not to luck.
    The seed is stored in each row, and ``skydome run SCENARIO --seed SEED``
    re-runs that one replication.

Example:
    >>> from skydome.study import StudyOptions, plan_study, run_study
    >>> plan = plan_study("default", ["batteries.0.launchers=4,8"], seed=3)
    >>> result = run_study(plan, StudyOptions(n=20, jobs=1))  # doctest: +SKIP
"""

from __future__ import annotations

from skydome.seeding import replication_seed
from skydome.study.executors import InlineExecutor, ReplicationError
from skydome.study.metrics import (
    COLUMN_METRICS,
    PROPORTIONS,
    SUMMARY_METRICS,
    Metric,
    cell_estimates,
    label,
    metric_columns,
    replication_row,
)
from skydome.study.options import (
    MAX_REPLICATIONS,
    OptionError,
    StudyOptions,
    default_jobs,
    max_jobs,
)
from skydome.study.plan import MAX_CELLS, Cell, Setting, StudyPlan, parse_setting, plan_study
from skydome.study.runner import StudyResult, run_study
from skydome.study.store import MANIFEST_FORMAT

__all__ = [
    "COLUMN_METRICS",
    "MANIFEST_FORMAT",
    "MAX_CELLS",
    "MAX_REPLICATIONS",
    "PROPORTIONS",
    "SUMMARY_METRICS",
    "Cell",
    "InlineExecutor",
    "Metric",
    "OptionError",
    "ReplicationError",
    "Setting",
    "StudyOptions",
    "StudyPlan",
    "StudyResult",
    "cell_estimates",
    "default_jobs",
    "label",
    "max_jobs",
    "metric_columns",
    "parse_setting",
    "plan_study",
    "replication_row",
    "replication_seed",
    "run_study",
]
