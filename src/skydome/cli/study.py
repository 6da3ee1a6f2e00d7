"""Monte Carlo studies: `mc` (replications of one scenario) and `sweep` (a grid of designs)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from skydome.cli._app import ScenarioArg, app, err, out
from skydome.cli.systems import Systems
from skydome.errors import UserError

if TYPE_CHECKING:
    from skydome.stats import Estimate
    from skydome.study import StudyOptions, StudyPlan, StudyResult

__all__ = ["mc", "sweep"]

Replications = Annotated[
    int | None,
    typer.Option(
        "-n",
        "--replications",
        help="Replications (per cell of a sweep). With --until-ci: the most to use "
        "(default 10000, less in sweeps of over 1000 cells). With --resume: default the "
        "study's; a larger value extends it.",
        show_default=False,
    ),
]
Seed = Annotated[
    int | None,
    typer.Option(help="Study seed (default: the scenario's run.seed).", show_default=False),
]
Jobs = Annotated[
    int | None,
    typer.Option(
        "--jobs", "-j", help="Local worker processes (default: the CPUs available).",
        show_default=False,
    ),
]  # fmt: skip
OutDir = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Study directory (default: studies/NAME-sSEED, or studies/NAME-sweep-sSEED).",
        show_default=False,
    ),
]
Resume = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Complete (or extend) the study in --out after an interruption or a crash.",
    ),
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Run on an existing Dask distributed cluster: its scheduler's tcp://HOST:PORT.",
        show_default=False,
    ),
]
Events = Annotated[
    bool, typer.Option("--events", help="Also keep every replication's events (events.parquet).")
]
UntilCi = Annotated[
    float | None,
    typer.Option(
        "--until-ci",
        help="Add replications until the interval of --ci-metric is at most this wide "
        "(full width hi - lo, in the metric's unit) in every cell.",
        show_default=False,
    ),
]
CiMetric = Annotated[
    str, typer.Option("--ci-metric", help="Metric watched by --until-ci (see summary.json).")
]
Confidence = Annotated[float, typer.Option(help="Coverage of the intervals.")]
ChunkSize = Annotated[
    int | None,
    typer.Option(
        "--chunk-size",
        help="Replications per task (default: adaptive, about 2 s of work).",
        show_default=False,
    ),
]
BatchSize = Annotated[
    int | None,
    typer.Option(
        "--batch",
        help="Replications each worker steps together as one array program (default: "
        "automatic, up to 256 as memory allows; 1: one at a time). Results do not depend on it.",
        show_default=False,
    ),
]
ConnectTimeout = Annotated[
    float, typer.Option("--connect-timeout", help="Seconds to wait for a Dask scheduler.")
]
Report = Annotated[
    bool, typer.Option("--report", help="Also write the study report: report.html and figures/.")
]


@app.command()
def mc(
    scenario: ScenarioArg = "default",
    n: Replications = None,
    seed: Seed = None,
    jobs: Jobs = None,
    out_dir: OutDir = None,
    resume: Resume = False,
    scheduler: Scheduler = None,
    events: Events = False,
    until_ci: UntilCi = None,
    ci_metric: CiMetric = "p_no_leaker",
    confidence: Confidence = 0.95,
    chunk_size: ChunkSize = None,
    batch: BatchSize = None,
    connect_timeout: ConnectTimeout = 10.0,
    report: Report = False,
    system: Systems = None,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="PATH=VALUE: one scenario field changed for this study, e.g. "
            "identification.rules_of_engagement=weapons_tight; repeat for more (one value "
            "each: `sweep` runs several).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run N replications of a scenario; print and write the study summary.

    Writes DIR/replications.parquet (one row per replication), DIR/summary.json and
    DIR/summary.parquet (estimates with intervals), and with --events DIR/events.parquet.
    """
    from skydome.study import parse_setting

    changes = settings or []
    for text in changes:
        if len(parse_setting(text).values) != 1:
            raise UserError(f"mc --set {text}: give one value (sweep runs several)")
    options = _options(
        n=n, jobs=jobs, scheduler=scheduler, events=events,
        until_ci=until_ci, ci_metric=ci_metric, confidence=confidence, chunk_size=chunk_size,
        connect_timeout_s=connect_timeout, batch=batch,
    )  # fmt: skip
    plan = _plan("mc", scenario, changes, seed, options, system)
    target = out_dir if out_dir is not None else Path("studies") / f"{plan.name}-s{plan.seed}"
    result = _run(plan, target, "mc", options, resume)
    _print_mc(result)
    _print_footer(result)
    _print_report(target, report)


@app.command()
def sweep(
    scenario: ScenarioArg = "default",
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="PATH=V1,V2,... a scenario field and its values, e.g. "
            "batteries.0.launchers=4,8,12 or missiles.40N6-class.pk=0.6,0.8; repeat for a grid.",
            show_default=False,
        ),
    ] = None,
    n: Replications = None,
    seed: Seed = None,
    jobs: Jobs = None,
    out_dir: OutDir = None,
    resume: Resume = False,
    scheduler: Scheduler = None,
    events: Events = False,
    until_ci: UntilCi = None,
    ci_metric: CiMetric = "p_no_leaker",
    confidence: Confidence = 0.95,
    chunk_size: ChunkSize = None,
    batch: BatchSize = None,
    connect_timeout: ConnectTimeout = 10.0,
    report: Report = False,
    system: Systems = None,
) -> None:
    """Run the full grid of --set values, N replications per cell, common random numbers.

    Every cell is validated before anything runs. Writes DIR/replications.parquet (a column
    per swept setting), DIR/summary.json, DIR/summary.parquet and DIR/cells/cell-NNNN.yaml.
    """
    if not settings:
        raise UserError("sweep: give at least one --set PATH=V1,V2,...")
    options = _options(
        n=n, jobs=jobs, scheduler=scheduler, events=events,
        until_ci=until_ci, ci_metric=ci_metric, confidence=confidence, chunk_size=chunk_size,
        connect_timeout_s=connect_timeout, batch=batch,
    )  # fmt: skip
    plan = _plan("sweep", scenario, settings, seed, options, system)
    target = out_dir if out_dir is not None else Path("studies") / f"{plan.name}-sweep-s{plan.seed}"
    result = _run(plan, target, "sweep", options, resume)
    _print_sweep(result)
    _print_footer(result)
    _print_report(target, report)


_FLAGS = {
    "n": "-n",
    "out_dir": "--out",
    "resume": "--resume",
    "jobs": "--jobs",
    "scheduler": "--scheduler",
    "events": "--events",
    "until_ci": "--until-ci",
    "ci_metric": "--ci-metric",
    "confidence": "--confidence",
    "chunk_size": "--chunk-size",
    "batch": "--batch",
    "connect_timeout_s": "--connect-timeout",
    "seed": "--seed",
}
"""`StudyOptions` field (and `plan_study` argument) -> the flag that sets it."""


@contextmanager
def _as_flags() -> Iterator[None]:
    """Name the command-line flag in a study option's error, instead of the field."""
    from skydome.study import OptionError

    try:
        yield
    except OptionError as e:
        raise UserError(f"{_FLAGS.get(e.field, e.field)}{e.shown}: {e.detail}") from None


def _options(**fields: Any) -> StudyOptions:
    """The study options of the command line, validated (errors name the flags)."""
    from skydome.study import StudyOptions

    with _as_flags():
        return StudyOptions(**fields)


def _plan(
    command: str,
    scenario: str,
    settings: list[str],
    seed: int | None,
    options: StudyOptions,
    systems: list[str] | None = None,
) -> StudyPlan:
    """Check the counts, then validate and compile every cell with a progress bar on stderr."""
    from skydome.study import MAX_CELLS, parse_setting, plan_study

    # Counts first: a bad one fails at once, not after minutes of planning.
    cells = math.prod(len(parse_setting(s).values) for s in settings)
    with _as_flags():
        options.check_counts(cells if cells <= MAX_CELLS else 1)  # a huge grid: plan_study says
    with (
        _as_flags(),
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("cells"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar,
    ):
        task = bar.add_task(escape(f"{command} {scenario}: planning"), total=None)

        def progress(done: int, cells: int) -> None:
            bar.update(task, completed=done, total=cells)

        if systems:  # system templates at the scenario's sites (docs/systems.md)
            from skydome.scenario import load_scenario
            from skydome.scenario.system_swap import with_systems

            base = with_systems(load_scenario(scenario), systems, scenario)[0]
            return plan_study(base, settings, seed=seed, progress=progress)
        return plan_study(scenario, settings, seed=seed, progress=progress)


class _RateColumn(ProgressColumn):
    """Replications per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.1f} rep/s", style="progress.data.speed")


def _run(
    plan: StudyPlan, target: Path, command: str, options: StudyOptions, resume: bool
) -> StudyResult:
    """Run the study into `target` with a progress bar on stderr; Ctrl-C exits 130."""
    from dataclasses import replace

    from skydome.study import run_study

    cells = len(plan.cells)
    what = f"{command} {plan.name}" + (f" ({cells} cells)" if cells > 1 else "")
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(what, total=None)

        def progress(done: int, planned: int) -> None:
            bar.update(task, completed=done, total=planned)

        try:
            with _as_flags():
                options = replace(options, out_dir=target, resume=resume)
                result = run_study(plan, options, progress=progress)
        except KeyboardInterrupt:
            bar.stop()
            err.print(
                f"interrupted: the finished replications are saved in {target}; "
                "run the same command with --resume to complete the study",
                markup=False,
                highlight=False,
            )
            raise typer.Exit(130) from None
    return result


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.{digits}g}"


def _interval(e: Estimate) -> str:
    if not (math.isfinite(e.lo) and math.isfinite(e.hi)):
        return "-"
    return f"[{_fmt(e.lo)}, {_fmt(e.hi)}]"


_HEADLINE = (
    "p_no_leaker",
    "p_raid_annihilated",
    "kill_fraction",
    "killed",
    "leaked",
    "airborne_at_end",
    "fired",
    "missiles_per_kill",
    "damage",
)
"""Metrics of the `mc` table, in print order, before those per type and asset."""
_METHODS = {"wilson": "Wilson", "t": "t", "delta": "delta"}


def _mc_rows(metrics: dict[str, Estimate]) -> list[tuple[str, str]]:
    """(metric key, label) in print order: headline metrics, then per type and asset."""
    from skydome.study import label

    rows = [(k, label(k)) for k in _HEADLINE if k in metrics]
    for family in ("damage.", "leaked.", "fired."):
        rows += [(k, f"  {label(k)}") for k in metrics if k.startswith(family)]
    if "first_launch_s" in metrics:
        rows.append(("first_launch_s", label("first_launch_s")))
    return rows


def _print_mc(r: StudyResult) -> None:
    est = r.estimates[0]
    threats = r.table.column("threats")[0].as_py() if r.table.num_rows else 0
    conf = f"{r.summary['confidence']:.0%}"
    t = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title=f"{r.plan.name}: {r.n:,} replications, seed {r.plan.seed}, "
        f"{threats} threat{'s' if threats != 1 else ''}",
    )
    t.add_column("metric", no_wrap=True)
    t.add_column("estimate", justify="right")
    t.add_column(f"{conf} interval", justify="right", no_wrap=True)
    t.add_column("method")
    for key, label in _mc_rows(est):
        e = est[key]
        t.add_row(label, _fmt(e.estimate), _interval(e), _METHODS.get(e.method, e.method))
    out.print(t)


def _pm(e: Estimate) -> str:
    """`estimate ±half-width` for a symmetric (t or delta) interval."""
    if not (math.isfinite(e.lo) and math.isfinite(e.hi)):
        return _fmt(e.estimate, 3)
    return f"{_fmt(e.estimate, 3)} ±{_fmt((e.hi - e.lo) / 2, 2)}"


def _print_sweep(r: StudyResult) -> None:
    conf = f"{r.summary['confidence']:.0%}"
    t = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title=f"{r.plan.name}: {len(r.plan.cells)} cells x {r.n:,} replications, "
        f"seed {r.plan.seed} (common random numbers)",
        caption=escape(
            f"{conf} intervals: [lo, hi] Wilson, ± t; damage: share of asset value lost; "
            "per kill: missiles fired per threat killed"
        ),
    )
    for s in r.plan.settings:
        head, _, leaf = s.path.rpartition(".")
        t.add_column(f"{head}.\n{leaf}" if head else leaf, justify="right")
    t.add_column("P(no leaker)", justify="right", no_wrap=True)
    t.add_column("leakers", justify="right", no_wrap=True)
    t.add_column("damage", justify="right", no_wrap=True)
    t.add_column("per kill", justify="right", no_wrap=True)
    for cell, est in zip(r.plan.cells, r.estimates, strict=True):
        p = est["p_no_leaker"]
        t.add_row(
            *(escape(str(v)) for v in cell.values),
            f"{_fmt(p.estimate, 3)} [{_fmt(p.lo, 2)}, {_fmt(p.hi, 2)}]",
            _pm(est["leaked"]),
            _pm(est["damage"]),
            _fmt(est["missiles_per_kill"].estimate, 3),
        )
    out.print(t)


def _print_footer(r: StudyResult) -> None:
    s: dict[str, Any] = r.summary
    stop = s.get("stopping")
    if stop is not None:
        w = stop["widest_interval"]
        verdict = "reached" if stop["reached"] else "NOT reached (raise -n)"
        out.print(
            f"stopping rule: {stop['metric']} interval at most {stop['until_ci']:g} wide: "
            f"{verdict} after {r.n:,} replications (widest {_fmt(w)})"
        )
    done = []
    if r.ran:
        rate = r.ran / r.elapsed_s if r.elapsed_s > 0 else math.inf
        done.append(
            f"ran {r.ran:,} replications in {r.elapsed_s:,.1f} s ({rate:,.1f}/s) on {r.executor}"
        )
    if r.reused:
        done.append(f"{r.reused:,} found on disk")
    if done:
        out.print("; ".join(done))
    scen = (
        f"{r.out_dir / 'cells' / 'cell-NNNN.yaml'}"
        if r.plan.is_sweep and r.out_dir is not None
        else r.plan.label
    )
    out.print(f"re-run any row alone: skydome run {scen} --seed SEED (its `seed` column)")
    if r.out_dir is not None:
        files = ["replications.parquet", "summary.json", "summary.parquet"]
        if (r.out_dir / "events.parquet").exists():
            files.append("events.parquet")
        out.print(f"wrote {', '.join(str(r.out_dir / f) for f in files)}")


def _print_report(target: Path, report: bool) -> None:
    """Write the study report (with --report) and say where it is, or how to make it."""
    if report:
        from skydome.report.study import write_study_report

        out.print(
            f"report: {write_study_report(target)}", markup=False, highlight=False, soft_wrap=True
        )
    else:
        out.print(
            f"study report: skydome report {target}", markup=False, highlight=False, soft_wrap=True
        )
