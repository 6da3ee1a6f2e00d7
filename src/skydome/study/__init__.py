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

from typing import TYPE_CHECKING

from skydome._lazy import lazy_exports

# Lazy: `import skydome.study` (e.g. for `label` or `MANIFEST_FORMAT` in a
# report) must not load the engine, the tracker and scipy; each name is
# imported from its module on first use.
if TYPE_CHECKING:
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

__getattr__ = lazy_exports(
    __name__,
    {
        "replication_seed": "skydome.seeding",
        "InlineExecutor": "skydome.study.executors",
        "ReplicationError": "skydome.study.executors",
        "COLUMN_METRICS": "skydome.study.metrics",
        "PROPORTIONS": "skydome.study.metrics",
        "SUMMARY_METRICS": "skydome.study.metrics",
        "Metric": "skydome.study.metrics",
        "cell_estimates": "skydome.study.metrics",
        "label": "skydome.study.metrics",
        "metric_columns": "skydome.study.metrics",
        "replication_row": "skydome.study.metrics",
        "MAX_REPLICATIONS": "skydome.study.options",
        "OptionError": "skydome.study.options",
        "StudyOptions": "skydome.study.options",
        "default_jobs": "skydome.study.options",
        "max_jobs": "skydome.study.options",
        "MAX_CELLS": "skydome.study.plan",
        "Cell": "skydome.study.plan",
        "Setting": "skydome.study.plan",
        "StudyPlan": "skydome.study.plan",
        "parse_setting": "skydome.study.plan",
        "plan_study": "skydome.study.plan",
        "StudyResult": "skydome.study.runner",
        "run_study": "skydome.study.runner",
        "MANIFEST_FORMAT": "skydome.study.store",
    },
)
