"""Monte Carlo studies: replications, seeds, sweeps, executors, crash-safe resume.

A *study* runs `n` replications of each *cell* of a scenario: one cell for
``skydome mc``, the full grid of ``--set`` values for ``skydome sweep``.

Seeds (common random numbers)
    Replication `i` of a study with seed `S` runs with the integer seed
    `replication_seed(S, i)`, drawn from `numpy.random.SeedSequence(S).spawn(...)[i]`.
    The engine spawns each subsystem's stream from it *by name*
    (`skydome.seeding`), so every cell of a sweep, and every design
    alternative run with the same `S`, sees the same radar noise and kill
    draws: differences between cells are due to the design, not to luck. The seed is
    stored in each row, and ``skydome run SCENARIO --seed SEED`` re-runs that
    one replication.

Executors
    Replications are grouped into chunks of consecutive indices and submitted
    to a `concurrent.futures.Executor`: in-process for one job, a pool of
    local processes (spawned, each given the compiled scenarios once by its
    initializer) for more, or a Dask distributed cluster (the scenarios
    scattered to every worker once). A row depends only on the scenario and
    its seed, never on the executor, the number of jobs or the chunking.

Crash safety
    A study directory holds `manifest.json` (written first), then one
    append-only part file per finished chunk, each written to a temporary
    name and atomically renamed (`parts/part-NNNNNN.parquet`, and
    `parts/events-NNNNNN.parquet` before it when events are kept). After a
    crash, even ``kill -9``, ``--resume`` reads the parts, runs only the
    missing replications, and assembles the same tables as an uninterrupted
    run: `replications.parquet` sorted by cell and replication,
    `summary.json`, `summary.parquet` and, on request, `events.parquet`.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from skydome import __version__
from skydome.engine import simulate
from skydome.errors import ScenarioError, UserError
from skydome.results import events_table, summarize
from skydome.scenario import Scenario, SimParams, compile_scenario, load_scenario, parse_scenario
from skydome.stats import Estimate, mean_estimate, proportion_estimate, ratio_estimate

__all__ = [
    "PROPORTIONS",
    "Cell",
    "InlineExecutor",
    "ReplicationError",
    "Setting",
    "StudyPlan",
    "StudyResult",
    "cell_estimates",
    "check_counts",
    "default_jobs",
    "max_jobs",
    "metric_columns",
    "parse_setting",
    "plan_study",
    "replication_row",
    "replication_seed",
    "run_study",
    "summary_metric_names",
]

MANIFEST_FORMAT = "skydome-study/1"
"""Version of the study directory layout, recorded in `manifest.json`."""

PROPORTIONS: dict[str, str] = {
    "p_no_leaker": "no threat leaked",
    "p_raid_annihilated": "every threat was killed",
}
"""Per-replication events whose probability the study summary estimates (Wilson)."""

FIRST_CHECKPOINT = 100
"""With a stopping rule, the interval is first looked at after this many replications."""

MAX_CELLS = 10_000
"""Largest sweep grid: every cell is validated and compiled before anything runs."""

MAX_REPLICATIONS = 10_000_000
"""Most replications one study may plan (`n` x cells): every row is held in memory."""

JOBS_PER_CPU = 4
"""`--jobs` may be at most this many local processes per CPU available."""

_CHUNK_TARGET_S = 2.0
"""Adaptive chunks aim at about this much work, so a crash loses little and tasks balance."""

Row = dict[str, Any]
ProgressFn = Callable[[int, int], None]
"""Called with (replications done, replications planned) as the study advances."""

# pyarrow.parquet carries no annotations; these typed aliases keep mypy strict elsewhere.
_read_table: Callable[..., pa.Table] = pq.read_table
_read_schema: Callable[..., pa.Schema] = pq.read_schema
_write_table: Callable[..., None] = pq.write_table
_ParquetWriter: Callable[..., Any] = pq.ParquetWriter


# --------------------------------------------------------------------------- seeds


def replication_seed(study_seed: int, index: int) -> int:
    """The integer seed of replication `index` of a study seeded with `study_seed`.

    The first 64-bit word of the state of `SeedSequence(study_seed).spawn(index + 1)[index]`
    (which is `SeedSequence(study_seed, spawn_key=(index,))`), shifted right by
    one bit: independent streams for every replication, the same for every
    cell of a sweep.

    Args:
        study_seed: the study seed (non-negative).
        index: replication index (non-negative).

    Returns:
        A non-negative int below 2**63, accepted by `simulate(params, seed=...)`
        and by ``skydome run --seed``.
    """
    if study_seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative, got {study_seed}, {index}")
    state = np.random.SeedSequence(study_seed, spawn_key=(index,)).generate_state(1, np.uint64)
    return int(state[0]) >> 1


# --------------------------------------------------------------------------- rows


def _names(params: SimParams) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    return params.missiles.names, params.threats.type_names, params.assets.names


def metric_columns(params: SimParams) -> tuple[tuple[str, pa.DataType], ...]:
    """The metric columns of a replication row for a scenario, in order, with their types.

    Counts per replication: `threats`, `killed`, `leaked`, `airborne_at_end`,
    `detected`, `engaged`, `fired`; `kill_fraction` (killed / threats);
    `fired.TYPE` and `kills.TYPE` per missile type; `killed.TYPE` and
    `leaked.TYPE` per threat type; `damage` (fraction of the total asset value
    destroyed) and `damage.ASSET` per asset; `first_detection_s` and
    `first_launch_s` (null: never). Names in the scenario cannot contain dots,
    so the dotted column names are unambiguous.
    """
    missiles, threat_types, assets = _names(params)
    i64, f64 = pa.int64(), pa.float64()
    cols: list[tuple[str, pa.DataType]] = [
        (c, i64) for c in ("threats", "killed", "leaked", "airborne_at_end", "detected", "engaged")
    ]
    cols += [("kill_fraction", f64), ("fired", i64)]
    cols += [(f"fired.{m}", i64) for m in missiles]
    cols += [(f"kills.{m}", i64) for m in missiles]
    cols += [(f"killed.{t}", i64) for t in threat_types]
    cols += [(f"leaked.{t}", i64) for t in threat_types]
    cols += [("damage", f64)] + [(f"damage.{a}", f64) for a in assets]
    cols += [("first_detection_s", f64), ("first_launch_s", f64)]
    return tuple(cols)


def replication_row(summary: dict[str, Any]) -> Row:
    """The metric columns of one replication, from `skydome.results.summarize(result)`.

    Args:
        summary: the run summary.

    Returns:
        Column name -> value, in the order of `metric_columns`.
    """
    th = summary["threats"]
    by_type = th["by_type"]
    mis = summary["missiles"]["by_type"]
    assets = summary["assets"]
    total_value = sum(a["value"] for a in assets)
    value_left = sum(a["value_left"] for a in assets)
    row: Row = {
        "threats": th["count"],
        "killed": th["killed"],
        "leaked": th["leaked"],
        "airborne_at_end": th["airborne_at_end"],
        "detected": sum(t["detected"] for t in by_type),
        "engaged": sum(t["engaged"] for t in by_type),
        "kill_fraction": th["killed"] / th["count"] if th["count"] else None,
        "fired": summary["missiles"]["fired"],
    }
    row.update({f"fired.{m['type']}": m["fired"] for m in mis})
    row.update({f"kills.{m['type']}": m["kills"] for m in mis})
    row.update({f"killed.{t['type']}": t["killed"] for t in by_type})
    row.update({f"leaked.{t['type']}": t["leaked"] for t in by_type})
    row["damage"] = round(1.0 - value_left / total_value, 9) if total_value else 0.0
    row.update({f"damage.{a['name']}": a["damage_fraction"] for a in assets})
    row["first_detection_s"] = summary["first_detection_s"]
    row["first_launch_s"] = summary["first_launch_s"]
    return row


# --------------------------------------------------------------------------- sweeps


@dataclass(frozen=True)
class Setting:
    """One ``--set PATH=V1,V2,...``: a scenario field and the values it sweeps.

    Attributes:
        arg: the argument as given, for messages.
        path: dotted path into the scenario data (list indices as numbers,
            list items also by their `name`, mapping keys by name).
        values: the values, parsed as YAML scalars (4 -> int, 0.7 -> float).
    """

    arg: str
    path: str
    values: tuple[Any, ...]


def _split_values(text: str) -> list[str]:
    """Split at commas outside brackets and quotes: ``1,[2,3],'a,b'`` -> 3 values."""
    parts: list[str] = []
    depth = 0
    quote = ""
    cur = ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    return [p.strip() for p in parts]


def parse_setting(arg: str) -> Setting:
    """Parse one ``--set PATH=V1,V2,...`` argument.

    Raises:
        UserError: malformed argument (no `=`, empty path segment, empty value).
    """
    where = f"--set {arg}"
    if "=" not in arg:
        raise UserError(f"{where}: expected PATH=VALUE[,VALUE...], e.g. batteries.0.launchers=4,8")
    path, _, text = arg.partition("=")
    path = path.strip()
    if not path or any(not seg.strip() for seg in path.split(".")):
        raise UserError(f"{where}: empty field name in the path {path!r}")
    values: list[Any] = []
    parts = _split_values(text)
    if len(parts) > MAX_CELLS:
        raise UserError(
            f"--set {path.strip()}=...: {len(parts):,} values; at most {MAX_CELLS:,} cells "
            "per sweep: give fewer values"
        )
    for v in parts:
        if not v:
            raise UserError(f"{where}: empty value (give values separated by commas)")
        try:
            values.append(yaml.safe_load(v))
        except yaml.YAMLError:
            raise UserError(f"{where}: cannot read the value {v!r}") from None
    if path in ("run.seed",):
        raise UserError(
            f"{where}: replications take their seeds from the study's --seed, not from "
            "run.seed; sweep designs, and compare them with common random numbers"
        )
    return Setting(arg, ".".join(seg.strip() for seg in path.split(".")), tuple(values))


def _is_index(seg: str) -> bool:
    return seg.isdigit() or (seg.startswith("-") and seg[1:].isdigit())


def _apply_setting(data: dict[str, Any], s: Setting, value: Any) -> tuple[int | str, ...]:
    """Set `s.path` to `value` in the raw scenario data; return the resolved location.

    Missing mapping keys are created (the loader then rejects unknown ones);
    list items are addressed by index or by their `name`.
    """
    segs = s.path.split(".")
    loc: list[int | str] = []
    node: Any = data

    def here() -> str:
        return ".".join(segs[: len(loc)]) or "(the scenario)"

    for depth, seg in enumerate(segs):
        last = depth == len(segs) - 1
        if isinstance(node, dict):
            if last:
                node[seg] = value
            else:
                node = node.setdefault(seg, {})
            loc.append(seg)
        elif isinstance(node, list):
            if _is_index(seg):
                i = int(seg)
                if not 0 <= i < len(node):
                    raise UserError(
                        f"--set {s.arg}: index {i} is out of range: {here()} has "
                        f"{len(node)} item{'s' if len(node) != 1 else ''}"
                    )
            else:
                named = [j for j, it in enumerate(node) if isinstance(it, dict)]
                hits = [j for j in named if node[j].get("name") == seg]
                if not hits:
                    names = ", ".join(str(node[j].get("name")) for j in named)
                    raise UserError(
                        f"--set {s.arg}: {here()} has no item named {seg!r} "
                        f"(give an index, or one of: {names})"
                    )
                i = hits[0]
            if last:
                node[i] = value
            else:
                node = node[i]
            loc.append(i)
        else:
            raise UserError(
                f"--set {s.arg}: {here()} is a value ({node!r}), not a section: "
                f"it has no field {seg!r}"
            )
    return tuple(loc)


def _loc_str(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


@dataclass(frozen=True)
class Cell:
    """One design alternative of a study.

    Attributes:
        index: position in the grid (0 for a plain study).
        values: the value of each setting in this cell (empty for a plain study).
        scenario: the validated scenario with those values applied.
        params: its compiled form.
    """

    index: int
    values: tuple[Any, ...]
    scenario: Scenario
    params: SimParams


@dataclass(frozen=True)
class StudyPlan:
    """A validated study: the scenario, the grid of settings, the study seed.

    Attributes:
        label: the scenario as the user named it (file or built-in name).
        name: the scenario's `name`.
        digest: SHA-256 of the validated base scenario (content, not formatting).
        seed: study seed; replication `i` runs with `replication_seed(seed, i)`.
        settings: the swept settings, slowest-varying first.
        cells: the full grid, `prod(len(s.values))` cells, in row-major order.
        columns: the union of the cells' metric columns, in order, with their types.
    """

    label: str
    name: str
    digest: str
    seed: int
    settings: tuple[Setting, ...]
    cells: tuple[Cell, ...]
    columns: tuple[tuple[str, pa.DataType], ...]

    @property
    def is_sweep(self) -> bool:
        """True when the study sweeps settings."""
        return bool(self.settings)


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plan_study(
    scenario: str | Path | Scenario,
    sets: Sequence[str] = (),
    seed: int | None = None,
    *,
    progress: ProgressFn | None = None,
) -> StudyPlan:
    """Validate a study before anything runs: the scenario and every cell of the grid.

    Each cell's values are applied to the scenario data and the result is
    validated by the normal loader, so a bad path or value ends here with one
    message naming the ``--set`` argument.

    Args:
        scenario: a scenario file, a built-in name, or a loaded `Scenario`.
        sets: ``PATH=V1,V2,...`` settings; the grid is their Cartesian product.
        seed: study seed (default: the scenario's `run.seed`).
        progress: called with (cells planned, cells in the grid) as each cell is
            validated and compiled.

    Returns:
        The plan.

    Raises:
        UserError: invalid scenario, malformed or invalid setting, a grid of more
            than `MAX_CELLS` cells, or negative seed.
    """
    if seed is not None and seed < 0:
        raise UserError(f"--seed: expected a non-negative integer, got {seed}")
    settings = tuple(parse_setting(s) for s in sets)
    n_cells = math.prod(len(s.values) for s in settings)
    if n_cells > MAX_CELLS:
        sizes = " x ".join(f"{len(s.values):,}" for s in settings)
        raise UserError(
            f"--set: the grid has {n_cells:,} cells ({sizes} values); at most {MAX_CELLS:,} "
            "per sweep: give fewer values, or split the sweep"
        )
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    label = base.name if isinstance(scenario, Scenario) else str(scenario)
    study_seed = base.run.seed if seed is None else seed
    raw = base.model_dump(mode="json")
    cells: list[Cell] = []
    if progress is not None:
        progress(0, n_cells)
    for index, values in enumerate(itertools.product(*(s.values for s in settings))):
        data = copy.deepcopy(raw)
        locs = [_apply_setting(data, s, v) for s, v in zip(settings, values, strict=True)]
        if index == 0:
            _check_distinct(settings, locs)
        sc = base if not settings else _validate_cell(data, label, settings, values, locs)
        cells.append(Cell(index, tuple(values), sc, compile_scenario(sc)))
        if progress is not None:
            progress(index + 1, n_cells)
    columns: dict[str, pa.DataType] = {}
    for c in cells:
        for name, typ in metric_columns(c.params):
            columns.setdefault(name, typ)
    return StudyPlan(
        label=label,
        name=base.name,
        digest=_digest(raw),
        seed=study_seed,
        settings=settings,
        cells=tuple(cells),
        columns=tuple(columns.items()),
    )


def _check_distinct(settings: tuple[Setting, ...], locs: list[tuple[int | str, ...]]) -> None:
    """Two settings of one field (by index and by name, say) would overwrite each other."""
    seen: dict[tuple[int | str, ...], Setting] = {}
    for s, loc in zip(settings, locs, strict=True):
        if loc in seen:
            raise UserError(
                f"--set {s.arg}: sets {_loc_str(loc)}, already swept by --set {seen[loc].arg}"
            )
        seen[loc] = s


def _validate_cell(
    data: dict[str, Any],
    label: str,
    settings: tuple[Setting, ...],
    values: tuple[Any, ...],
    locs: list[tuple[int | str, ...]],
) -> Scenario:
    try:
        return parse_scenario(yaml.safe_dump(data, sort_keys=False), label)
    except ScenarioError as e:
        paths = [_loc_str(loc) for loc in locs]

        def related(problem_path: str, p: str) -> bool:
            return (
                problem_path == p
                or problem_path.startswith((p + ".", p + "["))
                or p.startswith((problem_path + ".", problem_path + "["))
            )

        blamed = [
            i for i, p in enumerate(paths) if any(related(pr.path, p) for pr in e.problems)
        ] or list(range(len(settings)))
        which = "; ".join(f"--set {settings[i].arg} (value {values[i]!r})" for i in blamed)
        lines = [f"{which}: makes {label} invalid:"]
        lines += [f"  {pr.path or '(file)'}: {pr.message}" for pr in e.problems]
        raise UserError("\n".join(lines)) from None


# --------------------------------------------------------------------------- statistics


def _column(rows: Sequence[Row], name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.array(
        [np.nan if r.get(name) is None else float(r[name]) for r in rows], dtype=np.float64
    )


def cell_estimates(
    rows: Sequence[Row],
    columns: Sequence[str],
    confidence: float = 0.95,
) -> dict[str, Estimate]:
    """The study summary of one cell: every metric with its confidence interval.

    `p_no_leaker` and `p_raid_annihilated` are proportions (Wilson);
    `missiles_per_kill` is the ratio of total missiles fired to total kills
    (delta method); every metric column except `threats` is a mean (t), over
    the replications where it is defined (`first_launch_s` only where a
    missile was launched).

    Args:
        rows: the cell's replication rows.
        columns: the metric column names to summarise.
        confidence: nominal coverage of the intervals.

    Returns:
        Metric name -> estimate, proportions first.
    """
    killed = _column(rows, "killed")
    out: dict[str, Estimate] = {
        "p_no_leaker": proportion_estimate(_column(rows, "leaked") == 0, confidence),
        "p_raid_annihilated": proportion_estimate(killed == _column(rows, "threats"), confidence),
        "missiles_per_kill": ratio_estimate(_column(rows, "fired"), killed, confidence),
    }
    for c in columns:
        if c != "threats" and c not in out:
            out[c] = mean_estimate(_column(rows, c), confidence)
    return out


def summary_metric_names(plan: StudyPlan) -> tuple[str, ...]:
    """Every metric name the study summary reports (for `--ci-metric`)."""
    cols = [c for c, _ in plan.columns if c != "threats"]
    return (*PROPORTIONS, "missiles_per_kill", *cols)


# --------------------------------------------------------------------------- workers


@dataclass(frozen=True)
class _Work:
    """What every worker needs: the compiled scenario of every cell, shipped once."""

    cells: tuple[SimParams, ...]
    events: bool


@dataclass(frozen=True)
class _Chunk:
    """A task: consecutive replications `start, start + 1, ...` of one cell."""

    cell: int
    start: int
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class _ChunkResult:
    cell: int
    start: int
    rows: list[Row]
    events: pa.Table | None
    t_start: float
    """When the worker started the chunk (epoch seconds): measures start-up latency."""


class ReplicationError(RuntimeError):
    """A replication raised: a defect, reported with the seed that reproduces it."""


_installed: _Work | None = None


def _install(work: _Work, parent_pid: int) -> None:
    """Process-pool initializer: keep the work, leave Ctrl-C to the parent, die with it."""
    global _installed
    _installed = work
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)  # the study was killed: do not finish a chunk nobody will read

    threading.Thread(target=watch, name="skydome-parent-watch", daemon=True).start()


def _run_chunk(work: _Work | None, chunk: _Chunk) -> _ChunkResult:
    """Run one chunk of replications (in a worker); `work` None: the installed one."""
    t_start = time.time()
    w = work if work is not None else _installed
    if w is None:  # pragma: no cover - a pool without its initializer
        raise RuntimeError("skydome worker has no study installed")
    params = w.cells[chunk.cell]
    rows: list[Row] = []
    events: list[pa.Table] = []
    for k, seed in enumerate(chunk.seeds):
        i = chunk.start + k
        t0 = time.perf_counter()
        try:
            result = simulate(params, seed=seed)
            row = replication_row(summarize(result))
        except Exception as e:
            raise ReplicationError(
                f"replication {i} of cell {chunk.cell} (seed {seed}) failed: "
                f"{type(e).__name__}: {e}; reproduce it with `skydome run SCENARIO --seed {seed}`"
            ) from e
        wall = time.perf_counter() - t0
        rows.append({"cell": chunk.cell, "replication": i, "seed": seed, **row, "wall_s": wall})
        if w.events:
            ev = events_table(result)
            n = ev.num_rows
            ev = ev.add_column(0, "replication", pa.array(np.full(n, i, dtype=np.int64)))
            ev = ev.add_column(0, "cell", pa.array(np.full(n, chunk.cell, dtype=np.int64)))
            events.append(ev)
    ev = pa.concat_tables(events) if events else None
    return _ChunkResult(chunk.cell, chunk.start, rows, ev, t_start)


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
class _Backend:
    executor: cf.Executor
    work_ref: Any
    workers: int
    description: str
    close: Callable[[bool], None]


def default_jobs() -> int:
    """Processes used when `--jobs` is not given: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def max_jobs() -> int:
    """Most local processes `--jobs` may start: `JOBS_PER_CPU` per CPU available."""
    return JOBS_PER_CPU * default_jobs()


def check_counts(n: int | None = None, jobs: int | None = None, cells: int = 1) -> None:
    """Refuse counts that would start too many processes or plan too many replications.

    Cheap, so the command line calls it before planning; `run_study` calls it again.

    Args:
        n: replications per cell (None: not given).
        jobs: local worker processes (None: not given).
        cells: cells in the study.

    Raises:
        UserError: `jobs` outside [1, `max_jobs()`], `n` below 1, or more than
            `MAX_REPLICATIONS` replications in all.
    """
    if jobs is not None:
        if jobs < 1:
            raise UserError(f"--jobs: expected at least 1, got {jobs}")
        cap, cpus = max_jobs(), default_jobs()
        if jobs > cap:
            raise UserError(
                f"--jobs {jobs:,}: at most {cap} local processes ({JOBS_PER_CPU} per CPU, "
                f"{cpus} CPU{'s' if cpus != 1 else ''} available); for more, run on a Dask "
                "cluster with --scheduler"
            )
    if n is not None:
        if n < 1:
            raise UserError(f"-n: expected at least 1 replication, got {n}")
        if n * cells > MAX_REPLICATIONS:
            per = f" ({cells:,} cells x {n:,})" if cells > 1 else ""
            raise UserError(
                f"-n {n:,}: {n * cells:,} replications{per}; at most {MAX_REPLICATIONS:,} "
                "in one study: use a smaller -n (or --until-ci), or split the study"
            )


_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Worker processes run one replication at a time: one BLAS thread each (as Dask's nanny does)."""


def _ready() -> None:
    """A no-op task: submitting one per worker starts the workers now."""


def _local_backend(work: _Work, jobs: int) -> _Backend:
    if jobs == 1:
        return _Backend(InlineExecutor(), work, 1, "1 process", _no_close)
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

    return _Backend(pool, None, jobs, f"{jobs} local processes", close)


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


def _dask_backend(work: _Work, address: str, timeout_s: float) -> _Backend:
    try:
        import distributed
    except ImportError:  # pragma: no cover - a dependency
        raise UserError(
            "--scheduler needs the `distributed` package (pip install distributed)"
        ) from None
    where = f"--scheduler {address}"
    try:
        # distributed's methods carry no annotations: use the client untyped.
        connect: Callable[..., Any] = distributed.Client
        client = connect(address, timeout=timeout_s, set_as_default=False)
    except Exception as e:  # any failure to connect is the address's fault
        raise UserError(
            f"{where}: cannot reach a Dask scheduler within {timeout_s:g} s "
            f"({type(e).__name__}: {e}); start one with `dask scheduler` and give its "
            "tcp://HOST:PORT address"
        ) from None
    try:
        try:
            client.wait_for_workers(1, timeout=timeout_s)
        except (TimeoutError, OSError):
            raise UserError(
                f"{where}: the scheduler has no workers after {timeout_s:g} s; start some "
                f"with `dask worker {address}`"
            ) from None
        versions: dict[str, str | None] = client.run(_version_probe())
        bad = {w: v for w, v in versions.items() if v != __version__}
        if bad:
            w, v = sorted(bad.items())[0]
            got = "no skydome" if v is None else f"skydome {v}"
            raise UserError(
                f"{where}: worker {w} has {got}, this is skydome {__version__}: install the "
                f"same skydome version on every worker ({len(bad)} of {len(versions)} differ)"
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

    return _Backend(
        executor, ref, max(nthreads, 1), f"Dask cluster {address} ({nthreads} threads)", close
    )


# --------------------------------------------------------------------------- directory


def _manifest(
    plan: StudyPlan, n: int, events: bool, until: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "skydome_version": __version__,
        "study": "sweep" if plan.is_sweep else "mc",
        "scenario": plan.label,
        "scenario_name": plan.name,
        "scenario_sha256": plan.digest,
        "seed": plan.seed,
        "n": n,
        "settings": [{"path": s.path, "values": list(s.values)} for s in plan.settings],
        "events": events,
        "until_ci": until,
    }


_COMPARED = {
    "format": "study directory format",
    "skydome_version": "skydome version",
    "scenario_sha256": "scenario content",
    "seed": "seed",
    "settings": "--set settings",
    "events": "--events",
    "until_ci": "--until-ci / --ci-metric / --confidence",
}


def _precheck(root: Path, resume: bool) -> dict[str, Any] | None:
    """Read-only checks before anything starts; the existing manifest, if resuming one."""
    if root.exists() and not root.is_dir():
        raise UserError(f"{root}: exists and is not a directory")
    entries = sorted(root.iterdir()) if root.is_dir() else []
    if not entries:
        return None
    if not resume:
        raise UserError(
            f"{root}: already exists and is not empty; add --resume to complete or extend "
            "the study there, or choose another --out"
        )
    mf = root / "manifest.json"
    if not mf.is_file():
        raise UserError(f"{root}: not a skydome study directory (no manifest.json)")
    try:
        data = json.loads(mf.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        raise UserError(f"{mf}: cannot be read: {e}") from None
    return data


def _check_manifest(root: Path, old: dict[str, Any], new: dict[str, Any]) -> None:
    diffs = [
        f"{what}: {_short(old.get(k))} in the directory, {_short(new.get(k))} now"
        for k, what in _COMPARED.items()
        if json.dumps(old.get(k), sort_keys=True, default=str)
        != json.dumps(new.get(k), sort_keys=True, default=str)
    ]
    if diffs:
        raise UserError(
            f"{root}: holds a different study, refusing to resume it:\n  "
            + "\n  ".join(diffs)
            + "\nresume with the same scenario and options, or choose another --out"
        )


def _short(v: Any) -> str:
    s = json.dumps(v, default=str)
    return s if len(s) <= 20 else s[:8] + "..."


class _StudyDir:
    """The study directory: lock, manifest, append-only parts, final tables."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.parts = root / "parts"
        self._lock_fd: int | None = None
        self._seq = 0

    def open(self, manifest: dict[str, Any], old: dict[str, Any] | None) -> None:
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"{self.root}: cannot create the study directory: {e}") from None
        self._lock()
        if old is not None:
            _check_manifest(self.root, old, manifest)
        _write_text_atomic(self.root / "manifest.json", json.dumps(manifest, indent=2) + "\n")

    def write_cells(self, plan: StudyPlan) -> None:
        """Each cell's scenario as a file: ``skydome run CELL.yaml --seed SEED`` re-runs a row."""
        if not plan.is_sweep:
            return
        cells = self.root / "cells"
        cells.mkdir(exist_ok=True)
        for c in plan.cells:
            text = yaml.safe_dump(c.scenario.model_dump(mode="json"), sort_keys=False)
            _write_text_atomic(cells / f"cell-{c.index:04d}.yaml", text)

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            return
        fd = os.open(self.root / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise UserError(
                f"{self.root}: another skydome study is running in this directory"
            ) from None
        self._lock_fd = fd

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def load(self) -> list[Row]:
        """Rows of every complete part; drop leftovers of an interrupted write."""
        for tmp in self.parts.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        seqs = set()
        rows: list[Row] = []
        for p in sorted(self.parts.glob("part-*.parquet")):
            try:
                rows.extend(_read_table(p).to_pylist())
            except (OSError, pa.ArrowException):
                # Unreadable (a damaged disk, a hand-edited file): set it aside and
                # run its replications again.
                p.rename(p.with_name(p.name + ".damaged"))
                continue
            seqs.add(int(p.stem.split("-")[1]))
        for p in self.parts.glob("events-*.parquet"):
            if int(p.stem.split("-")[1]) not in seqs:
                p.unlink()  # its rows part never landed: the replications run again
        found = [int(p.name.split(".")[0].split("-")[1]) for p in self.parts.glob("*-*.parquet*")]
        self._seq = max(found, default=-1) + 1
        return rows

    def write_part(self, rows: pa.Table, events: pa.Table | None) -> None:
        """Events first, then the rows part that commits the chunk."""
        seq = self._seq
        self._seq += 1
        if events is not None:
            _write_parquet_atomic(events, self.parts / f"events-{seq:06d}.parquet")
        _write_parquet_atomic(rows, self.parts / f"part-{seq:06d}.parquet")

    def event_parts(self) -> list[Path]:
        return sorted(self.parts.glob("events-*.parquet"))


def _write_text_atomic(path: Path, text: str) -> None:
    """Write a text file through a temporary name and `os.replace` (usual file mode)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UserError(f"{path}: cannot write: {e}") from None


def _write_parquet_atomic(table: pa.Table, path: Path, fsync: bool = True) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        _write_table(table, tmp, compression="zstd")
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UserError(f"{path}: cannot write: {e}") from None


# --------------------------------------------------------------------------- the study


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
    directory: _StudyDir | None
    open_backend: Callable[[], _Backend]
    chunk_size: int | None
    progress: ProgressFn | None
    done: dict[tuple[int, int], Row] = field(default_factory=dict)
    backend: _Backend | None = None
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

    def ensure_backend(self) -> _Backend:
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
        inflight: set[cf.Future[_ChunkResult]] = set()
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
                    chunk = _Chunk(cell, start, seeds)
                    inflight.add(be.executor.submit(_run_chunk, be.work_ref, chunk))
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
        if warm > 0 and self._wall_n == 0:
            return 1
        # Guided self-scheduling: big chunks while much remains, small ones at the
        # end so that the workers finish together; capped at ~2 s of work.
        per_rep = self._wall_sum / self._wall_n if self._wall_n else 1.0
        cap = max(1, int(_CHUNK_TARGET_S / max(per_rep, 1e-6)))
        return max(1, min(cap, math.ceil(remaining / (2 * workers))))

    def _collect(self, res: _ChunkResult) -> None:
        if self._t_open is not None:
            wait = max(0.0, res.t_start - self._t_open)
            self.startup_s = wait if self.startup_s is None else min(self.startup_s, wait)
        if self.directory is not None:
            table = pa.Table.from_pylist(res.rows, schema=self.row_schema)
            self.directory.write_part(table, res.events)
        self.add_done(res.rows)
        self.ran += len(res.rows)


def _row_schema(plan: StudyPlan) -> pa.Schema:
    i64 = pa.int64()
    return pa.schema(
        [("cell", i64), ("replication", i64), ("seed", i64)]
        + list(plan.columns)
        + [("wall_s", pa.float64())]
    )


def _value_type(values: Sequence[Any]) -> pa.DataType:
    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


def _value_cell(v: Any, typ: pa.DataType) -> Any:
    if typ == pa.string():
        return v if isinstance(v, str) else json.dumps(v, default=str)
    if typ == pa.float64():
        return float(v)
    return v


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
    n: int | None = None,
    *,
    out_dir: Path | str | None = None,
    resume: bool = False,
    jobs: int | None = None,
    scheduler: str | None = None,
    executor: cf.Executor | None = None,
    events: bool = False,
    until_ci: float | None = None,
    ci_metric: str = "p_no_leaker",
    confidence: float = 0.95,
    chunk_size: int | None = None,
    connect_timeout_s: float = 10.0,
    progress: ProgressFn | None = None,
) -> StudyResult:
    """Run (or resume, or extend) a study and write its tables.

    Args:
        plan: from `plan_study`.
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
        chunk_size: replications per task (default: adaptive, ~2 s of work).
        connect_timeout_s: how long to wait for a Dask scheduler and its workers.
        progress: called with (done, planned) as replications finish.

    Returns:
        The study result.

    Raises:
        UserError: bad options, an unusable or mismatched directory, an unreachable
            scheduler.
    """
    t_start = time.perf_counter()
    n_cells = len(plan.cells)
    if sum(x is not None for x in (jobs, scheduler, executor)) > 1:
        raise UserError("give at most one of --jobs, --scheduler and an executor")
    check_counts(n, jobs, n_cells)
    if chunk_size is not None and chunk_size < 1:
        raise UserError(f"--chunk-size: expected at least 1, got {chunk_size}")
    if not 0.5 <= confidence < 1.0:
        raise UserError(f"--confidence: expected a value in [0.5, 1), got {confidence}")
    until: dict[str, Any] | None = None
    if until_ci is not None:
        if not until_ci > 0.0:
            raise UserError(f"--until-ci: expected a positive interval width, got {until_ci}")
        names = summary_metric_names(plan)
        if ci_metric not in names:
            raise UserError(
                f"--ci-metric: unknown metric {ci_metric!r} (one of: {', '.join(names)})"
            )
        until = {"width": until_ci, "metric": ci_metric, "confidence": confidence}
    if resume and out_dir is None:
        raise UserError("--resume needs the study directory (--out)")

    root = Path(out_dir) if out_dir is not None else None
    old = _precheck(root, resume) if root is not None else None
    if n is None:
        if old is not None and isinstance(old.get("n"), int):
            n = int(old["n"])
        elif until_ci is not None:
            n = min(10_000, MAX_REPLICATIONS // n_cells)
        else:
            raise UserError("-n: give the number of replications")
        check_counts(n, None, n_cells)
    work = _Work(tuple(c.params for c in plan.cells), events)

    def open_backend() -> _Backend:
        if scheduler is not None:
            return _dask_backend(work, scheduler, connect_timeout_s)
        if executor is not None:
            return _Backend(executor, work, default_jobs(), type(executor).__name__, _no_close)
        return _local_backend(work, jobs if jobs is not None else default_jobs())

    directory = _StudyDir(root) if root is not None else None
    runner = _Runner(
        plan=plan,
        row_schema=_row_schema(plan),
        directory=directory,
        open_backend=open_backend,
        chunk_size=chunk_size,
        progress=progress,
    )
    try:
        if scheduler is not None:
            runner.ensure_backend()  # fail fast, before anything is written
        reused = 0
        if directory is not None:
            directory.open(_manifest(plan, n, events, until), old)
            directory.write_cells(plan)
            runner.add_done(directory.load())
            reused = runner.count_below(n)
        target = n if until is None else min(n, FIRST_CHECKPOINT)
        stop_info: dict[str, Any] | None = None
        while True:
            if progress is not None:
                progress(runner.count_below(target), target * n_cells)
            runner.run_upto(target)
            if until is None:
                break
            worst = max(
                cell_estimates(
                    [runner.done[(c, i)] for i in range(target)], [ci_metric], confidence
                )[ci_metric].width
                for c in range(n_cells)
            )
            reached = worst <= float(until["width"])
            stop_info = {**until, "reached": reached, "worst_width": worst}
            if reached or target >= n:
                break
            target = _next_target(target, worst, float(until["width"]), n)
        runner.close_backend(False)
        return _finish(plan, runner, target, confidence, stop_info, events, t_start, reused)
    finally:
        runner.close_backend(True)
        if directory is not None:
            directory.close()


def _no_close(cancel: bool) -> None:
    """A caller's executor is the caller's to shut down."""


def _finish(
    plan: StudyPlan,
    runner: _Runner,
    n: int,
    confidence: float,
    stop_info: dict[str, Any] | None,
    events: bool,
    t_start: float,
    reused: int,
) -> StudyResult:
    """Assemble the final tables and the summary; write them atomically."""
    directory = runner.directory
    metric_names = [c for c, _ in plan.columns]
    keys = [(c, i) for c in range(len(plan.cells)) for i in range(n)]
    rows = [runner.done[k] for k in keys]
    table = pa.Table.from_pylist(rows, schema=runner.row_schema)
    # Swept settings: one column each, after `cell`, typed from their values.
    for j, s in enumerate(plan.settings):
        typ = _value_type(s.values)
        vals = [_value_cell(plan.cells[c].values[j], typ) for c, _ in keys]
        table = table.add_column(1 + j, s.path, pa.array(vals, type=typ))
    if not plan.is_sweep:
        table = table.drop_columns(["cell"])
    estimates = tuple(
        cell_estimates(rows[c * n : (c + 1) * n], metric_names, confidence)
        for c in range(len(plan.cells))
    )
    summary = _summary(plan, n, estimates, confidence, stop_info)
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
        _write_parquet_atomic(table, root / "replications.parquet", fsync=False)
        _write_parquet_atomic(_summary_table(plan, estimates), root / "summary.parquet", False)
        if events:
            _assemble_events(directory, set(keys), root / "events.parquet", plan.is_sweep)
        _write_text_atomic(root / "summary.json", json.dumps(summary, indent=2) + "\n")
    return result


def _summary(
    plan: StudyPlan,
    n: int,
    estimates: tuple[dict[str, Estimate], ...],
    confidence: float,
    stop_info: dict[str, Any] | None,
) -> dict[str, Any]:
    stopping = None
    if stop_info is not None:
        w = stop_info["worst_width"]
        stopping = {
            "until_ci": stop_info["width"],
            "metric": stop_info["metric"],
            "reached": stop_info["reached"],
            "widest_interval": round(w, 9) if math.isfinite(w) else None,
        }
    return {
        "study": "sweep" if plan.is_sweep else "mc",
        "scenario": plan.name,
        "scenario_sha256": plan.digest,
        "skydome_version": __version__,
        "seed": plan.seed,
        "replications": n,
        "confidence": confidence,
        "settings": [s.path for s in plan.settings],
        "stopping": stopping,
        "cells": [
            {
                "cell": c.index,
                "values": {s.path: v for s, v in zip(plan.settings, c.values, strict=True)},
                "replications": n,
                "metrics": {k: e.to_dict() for k, e in est.items()},
            }
            for c, est in zip(plan.cells, estimates, strict=True)
        ],
        "labels": "Synthetic scenario; parameters approximate public figures or are assumed.",
    }


def _summary_table(plan: StudyPlan, estimates: tuple[dict[str, Estimate], ...]) -> pa.Table:
    """Tidy summary: one row per (cell, metric), one column per swept setting."""
    recs: dict[str, list[Any]] = {"cell": []}
    recs.update({s.path: [] for s in plan.settings})
    for k in ("metric", "estimate", "lo", "hi", "n", "method"):
        recs[k] = []
    for c, est in zip(plan.cells, estimates, strict=True):
        for name, e in est.items():
            recs["cell"].append(c.index)
            for s, v in zip(plan.settings, c.values, strict=True):
                recs[s.path].append(v)
            d = e.to_dict()
            recs["metric"].append(name)
            for k in ("estimate", "lo", "hi", "n", "method"):
                recs[k].append(d[k])
    arrays: dict[str, pa.Array] = {"cell": pa.array(recs["cell"], type=pa.int64())}
    for s in plan.settings:
        typ = _value_type(s.values)
        arrays[s.path] = pa.array([_value_cell(v, typ) for v in recs[s.path]], type=typ)
    arrays["metric"] = pa.array(recs["metric"], type=pa.string())
    for k in ("estimate", "lo", "hi"):
        arrays[k] = pa.array(recs[k], type=pa.float64())
    arrays["n"] = pa.array(recs["n"], type=pa.int64())
    arrays["method"] = pa.array(recs["method"], type=pa.string())
    table = pa.table(arrays)
    return table if plan.is_sweep else table.drop_columns(["cell"])


def _assemble_events(
    directory: _StudyDir, keys: set[tuple[int, int]], path: Path, keep_cell: bool
) -> None:
    """Stream the events parts into one file, ordered by cell and replication.

    Parts hold consecutive replications of one cell, so writing them in order of
    their first replication gives a sorted file without loading it all. The
    `cell` column is dropped for a plain study, as in `replications.parquet`.
    """
    parts: list[tuple[tuple[int, int], Path]] = []
    schema: pa.Schema | None = None
    for p in directory.event_parts():
        schema = schema if schema is not None else _read_schema(p)
        first = _read_table(p, columns=["cell", "replication"]).slice(0, 1).to_pylist()
        if first:
            parts.append(((first[0]["cell"], first[0]["replication"]), p))
    parts.sort()
    tmp = path.with_name(f".{path.name}.tmp")
    emitted: set[tuple[int, int]] = set()
    last = (-1, -1)
    try:
        schema = schema or _EMPTY_EVENTS
        if not keep_cell:
            schema = schema.remove(schema.get_field_index("cell"))
        with _ParquetWriter(tmp, schema, compression="zstd") as writer:
            for _, p in parts:
                t = _read_table(p)
                pairs = list(
                    zip(
                        t.column("cell").to_pylist(),
                        t.column("replication").to_pylist(),
                        strict=True,
                    )
                )
                keep = [k in keys and k not in emitted for k in pairs]
                if not any(keep):
                    continue
                kept = sorted({k for k, ok in zip(pairs, keep, strict=True) if ok})
                if kept[0] < last:  # pragma: no cover - parts never overlap
                    raise RuntimeError(f"{p}: replications out of order")
                emitted.update(kept)
                last = kept[-1]
                t = t.filter(pa.array(keep, type=pa.bool_()))
                writer.write_table(t if keep_cell else t.drop_columns(["cell"]))
        os.replace(tmp, path)
    except OSError as e:
        raise UserError(f"{path}: cannot write: {e}") from None
    finally:
        tmp.unlink(missing_ok=True)


_EMPTY_EVENTS = pa.schema([("cell", pa.int64()), ("replication", pa.int64())])
