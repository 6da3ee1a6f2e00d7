"""The tracker on its own: detections files and tables in, tracks tables out.

For researchers who bring their own data: what `skydome track` runs. Reading,
validating and writing files, the pydantic tracker configuration and the pandas
tables live here, outside the tracking stage; the tracking itself is the pure
array function `skydome.tracking.offline.track_measurements`. A detections table (pandas
DataFrame, or a Parquet/CSV file) has one row per detection:

- required: ``time_s, x_m, y_m, z_m`` -- time (seconds from any origin, as
  numbers: a timestamp or duration column is refused, with the conversion to
  use) and position (local Cartesian East-North-Up, metres, within
  ±`MAX_ABS_POSITION_M`);
- optional: ``sensor`` -- which sensor made it (any labels; default: one
  sensor); ``range_m, azimuth_rad, elevation_rad`` -- the same detection in the
  sensor's polar coordinates (azimuth clockwise from north); per-axis standard
  deviations ``sigma_range_m, sigma_azimuth_rad, sigma_elevation_rad`` (with
  the polar columns) or ``sigma_x_m, sigma_y_m, sigma_z_m``.

Measurement covariances come from, in order of preference: the polar
standard deviations (unbiased converted measurement, see
`skydome.tracking.measurement`; the sensor position is recovered from the
Cartesian and polar columns), the Cartesian standard deviations, or the
configuration's `measurement_sigma_m`.

Detections of one sensor at one time (or within `scan_window_s` of the first
of them) form one scan (`skydome.tracking.offline`); scans are processed in
time order, each sensor's detections fused into the common track picture as
they come (centralised measurement fusion). A track counts a missed look on a sensor's scan when it
lies inside that sensor's coverage, taken as the horizontal bounding box of
all that sensor's detections in the table.

The tracks table has one row per track and scan time, after that time's updates:
``time_s, track_id, x_m, y_m, z_m, vx_mps, vy_mps, vz_mps, confirmed`` plus
``quality`` (the track score) and ``sigma_m`` (RMS position standard
deviation per axis).
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from numpy.typing import NDArray
from pydantic import Field, ValidationError

from skydome.arrays import F64
from skydome.errors import Problem, ScenarioError, UserError
from skydome.io import atomic_output
from skydome.scenario.compile import tracker_params
from skydome.scenario.load import problems_from_validation, read_yaml
from skydome.scenario.schema import TrackerSettings
from skydome.tracking.measurement import polar_to_enu, unbiased_polar_to_enu
from skydome.tracking.offline import track_measurements

__all__ = [
    "MAX_ABS_POSITION_M",
    "MAX_ABS_TIME_S",
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_DEPTH",
    "TRACK_COLUMNS",
    "TrackConfig",
    "TrackRun",
    "load_config",
    "read_detections",
    "track_detections",
    "track_file",
    "validate_detections",
    "write_tracks",
]


REQUIRED = ("time_s", "x_m", "y_m", "z_m")
POLAR = ("range_m", "azimuth_rad", "elevation_rad")
SIGMA_POLAR = ("sigma_range_m", "sigma_azimuth_rad", "sigma_elevation_rad")
SIGMA_XYZ = ("sigma_x_m", "sigma_y_m", "sigma_z_m")
TRACK_COLUMNS = (
    "time_s",
    "track_id",
    "x_m",
    "y_m",
    "z_m",
    "vx_mps",
    "vy_mps",
    "vz_mps",
    "confirmed",
    "quality",
    "sigma_m",
)
"""Columns of the tracks table, in order."""


class TrackConfig(TrackerSettings):
    """Stand-alone tracker configuration: the scenario's `tracker:` settings plus input handling."""

    measurement_sigma_m: float = Field(
        50.0,
        gt=0.0,
        le=1e6,
        description="Measurement standard deviation per axis when the table gives none, m.",
    )
    scan_window_s: float = Field(
        0.0,
        ge=0.0,
        le=3600.0,
        description="Detections of one sensor within this time of the first of them form one "
        "scan (0: equal times only), s.",
    )


MAX_CONFIG_BYTES = 256 * 1024
"""Largest tracker configuration file read: a tracker config is a few lines."""
MAX_CONFIG_DEPTH = 32
"""Deepest nesting accepted in a tracker configuration (it is a flat mapping)."""


def _depth(data: Any) -> int:
    """Nesting depth of parsed YAML/JSON data (a scalar: 0); shared nodes are walked once."""
    seen: dict[int, int] = {}

    def walk(node: Any, level: int) -> int:
        if not isinstance(node, dict | list) or level > MAX_CONFIG_DEPTH:
            return level
        if seen.get(id(node), -1) >= level:
            return level
        seen[id(node)] = level
        children = node.values() if isinstance(node, dict) else node
        return max((walk(c, level + 1) for c in children), default=level + 1)

    return walk(data, 0)


def _config_problems(e: ValidationError, root: yaml.Node | None) -> list[Problem]:
    """The validation problems, with unknown fields named against the tracker config's own."""
    problems = problems_from_validation(e, root)
    errors = e.errors()
    if len(errors) != len(problems):  # pragma: no cover - the loader changed its mapping
        return problems
    fields = list(TrackConfig.model_fields)
    listed = False
    out: list[Problem] = []
    for err, p in zip(errors, problems, strict=True):
        if err["type"] == "extra_forbidden" and err["loc"]:
            name = str(err["loc"][-1])
            close = difflib.get_close_matches(name, fields, n=1)
            hint = [f"did you mean {close[0]!r}?"] if close else []
            hint.append(
                "tracker config fields as listed above"
                if listed
                else f"tracker config fields: {', '.join(fields)}"
            )
            listed = True
            p = Problem(p.path, f"unknown field {name!r} ({' '.join(hint)})", p.line)
        out.append(p)
    return out


def load_config(path: str | Path) -> TrackConfig:
    """Read a YAML or JSON (``.json``) configuration file; every problem becomes a `ScenarioError`.

    Files larger than `MAX_CONFIG_BYTES` or nested deeper than `MAX_CONFIG_DEPTH`
    are refused before validation.
    """
    p = Path(path)

    def fail(message: str, line: int | None = None) -> ScenarioError:
        return ScenarioError(str(p), [Problem("", message, line)], "tracker config")

    try:
        size = p.stat().st_size
        if not p.is_file():
            raise fail("is not a regular file")
        if size > MAX_CONFIG_BYTES:
            raise fail(
                f"is {size:,} bytes; a tracker config is a few lines "
                f"(at most {MAX_CONFIG_BYTES // 1024} KiB)"
            )
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise fail("no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise fail(f"cannot be read: {e}") from None
    too_deep = (
        f"nested more than {MAX_CONFIG_DEPTH} levels deep "
        "(a tracker config is a flat mapping of settings)"
    )
    root: yaml.Node | None = None
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text) if text.strip() else None
        except json.JSONDecodeError as e:
            raise fail(f"invalid JSON: {e.msg} (column {e.colno})", e.lineno) from None
        except RecursionError:
            raise fail(too_deep) from None
        try:
            root = yaml.compose(text)  # line numbers (JSON is YAML, nearly always)
        except (yaml.YAMLError, RecursionError):
            root = None
    else:
        # The scenario loader's YAML: duplicate keys, aliases and depth refused with lines.
        data, root = read_yaml(text, str(p), "tracker config")
    if _depth(data) > MAX_CONFIG_DEPTH:
        raise fail(too_deep)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise fail(f"expected a mapping of tracker settings, got a {type(data).__name__}")
    try:
        return TrackConfig.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(str(p), _config_problems(e, root), "tracker config") from None


def read_detections(path: str | Path) -> pd.DataFrame:
    """Read a Parquet (``.parquet``, ``.pq``) or CSV (``.csv``) detections file."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise UserError(f"{p}: unknown file type {suffix or '(none)'}; expected .parquet or .csv")
    if not p.is_file():
        raise UserError(f"{p}: no such file")
    try:
        if suffix == ".csv":
            return pd.read_csv(p)
        return pd.read_parquet(p)
    except pd.errors.EmptyDataError:
        raise ScenarioError(
            str(p), [Problem("", "the file is empty (no header, no rows)")], "detections table"
        ) from None
    except Exception as e:  # pyarrow and the CSV parser raise many types; all mean "unreadable"
        raise ScenarioError(
            str(p), [Problem("", f"cannot be read: {e}")], "detections table"
        ) from None


def _group_present(df: pd.DataFrame, cols: tuple[str, ...], problems: list[Problem]) -> bool:
    have = [c for c in cols if c in df.columns]
    if have and len(have) != len(cols):
        missing = ", ".join(c for c in cols if c not in df.columns)
        problems.append(
            Problem(", ".join(have), f"comes as a group: also give {missing} (or none of them)")
        )
        return False
    return bool(have)


def _rows(mask: NDArray[np.bool_], limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(int(i) + 2) for i in idx[:limit])  # +2: header line, 1-based
    more = f" and {idx.size - limit} more" if idx.size > limit else ""
    return f"line{'s' if idx.size > 1 else ''} {shown}{more}"


MAX_ABS_POSITION_M = 1e8
"""Largest |x|, |y|, |z|, range or position standard deviation accepted, m (100,000 km)."""
MAX_ABS_TIME_S = 1e11
"""Largest |time_s| accepted, s (about 3,000 years: seconds since any epoch fit)."""

_M = f"{MAX_ABS_POSITION_M:.0e} m"
_BOUNDS: dict[str, tuple[float, float, str]] = {
    "time_s": (
        -MAX_ABS_TIME_S,
        MAX_ABS_TIME_S,
        f"beyond ±{MAX_ABS_TIME_S:.0e} s (expected seconds: milliseconds or nanoseconds "
        "since an epoch?)",
    ),
    **{
        c: (-MAX_ABS_POSITION_M, MAX_ABS_POSITION_M, f"beyond ±{_M} (expected metres)")
        for c in ("x_m", "y_m", "z_m")
    },
    "range_m": (0.0, MAX_ABS_POSITION_M, f"must be in [0, {_M}]"),
    "azimuth_rad": (-2 * math.pi, 2 * math.pi, "beyond ±2π rad (given in degrees?)"),
    "elevation_rad": (-math.pi / 2, math.pi / 2, "beyond ±π/2 rad (given in degrees?)"),
    **{
        c: (1e-6, MAX_ABS_POSITION_M, f"must be in [1e-06, {_M}]")
        for c in ("sigma_range_m", *SIGMA_XYZ)
    },
    **{
        c: (1e-9, math.pi, "must be in [1e-09, π] rad")
        for c in ("sigma_azimuth_rad", "sigma_elevation_rad")
    },
}
"""Accepted range of each numeric column: (lowest, highest, what to say outside it)."""


def _as_float(name: str, s: pd.Series, problems: list[Problem]) -> pd.Series | None:
    """Column `name` as float64, or None after adding a problem when its type is not numbers.

    Rows that are missing (NaN) or not numbers are reported, and become NaN.
    """
    what = "seconds as a number" if name == "time_s" else "numbers"
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_bool_dtype(s.dtype):
        problems.append(Problem(name, f"is a true/false (boolean) column; expected {what}"))
        return None
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        hint = " (convert with (t - t0).dt.total_seconds())" if name == "time_s" else ""
        problems.append(Problem(name, f"is a timestamp column; expected {what}{hint}"))
        return None
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        hint = " (convert with t.dt.total_seconds())" if name == "time_s" else ""
        problems.append(Problem(name, f"is a duration (timedelta) column; expected {what}{hint}"))
        return None
    if pd.api.types.is_complex_dtype(s.dtype):
        problems.append(Problem(name, f"is a complex-number column; expected {what}"))
        return None
    if pd.api.types.is_numeric_dtype(s.dtype):
        col = s.astype("float64")  # nullable integers/floats: NA -> NaN
        nan = col.isna().to_numpy()
        if nan.any():
            problems.append(Problem(name, f"missing value (NaN) at {_rows(nan)}"))
        return col
    # Text or mixed objects: judge value by value.
    values = s.astype(object)
    missing = values.isna().to_numpy()
    is_bool = values.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy()
    is_text = values.map(lambda v: isinstance(v, str)).to_numpy()
    is_num = values.map(
        lambda v: isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
    ).to_numpy()
    col = pd.to_numeric(values.where(is_num | is_text), errors="coerce").astype("float64")
    parsed = col.notna().to_numpy()
    if is_text.any() and (is_text | missing).all() and parsed[is_text].all():
        example = values[is_text].iloc[0]
        problems.append(
            Problem(
                name, f"is a text column (e.g. {example!r}); expected {what}: store it as numbers"
            )
        )
        return None
    if is_bool.any():
        problems.append(Problem(name, f"true/false value at {_rows(is_bool)}; expected {what}"))
    bad = ~missing & ~is_bool & ~parsed
    if bad.any():
        problems.append(Problem(name, f"not a number at {_rows(bad)}"))
    if missing.any():
        problems.append(Problem(name, f"missing value (NaN) at {_rows(missing)}"))
    return col


def validate_detections(df: pd.DataFrame, source: str = "<DataFrame>") -> pd.DataFrame:
    """Check a detections table; return it with float columns, or raise `ScenarioError`.

    Every problem is reported at once: missing or repeated columns, columns
    that are not numbers (timestamps, durations, true/false, text), empty
    table, missing values (NaN) or infinities, values out of range (positions
    and ranges beyond `MAX_ABS_POSITION_M`, times beyond `MAX_ABS_TIME_S`,
    angles beyond a turn, non-positive or absurd standard deviations), times
    not in non-decreasing order, incomplete column groups. Row numbers are
    given as file lines (header = line 1); the first few offending lines are named.
    """
    problems: list[Problem] = []
    if not isinstance(df, pd.DataFrame):
        raise ScenarioError(
            source, [Problem("", "expected a table (pandas DataFrame)")], "detections table"
        )
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        problems.append(
            Problem(
                ", ".join(missing),
                f"required column missing (have: {', '.join(map(str, df.columns)) or 'none'})",
            )
        )
    if df.shape[0] == 0:
        problems.append(Problem("", "no detections (the table has no rows)"))
    polar = _group_present(df, POLAR, problems)
    sig_polar = _group_present(df, SIGMA_POLAR, problems)
    _group_present(df, SIGMA_XYZ, problems)
    if sig_polar and not polar and all(c in df.columns for c in SIGMA_POLAR):
        problems.append(
            Problem(
                ", ".join(SIGMA_POLAR),
                "polar standard deviations need range_m, azimuth_rad and elevation_rad too",
            )  # fmt: skip
        )
    dup = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if dup:
        problems.append(Problem(", ".join(dup), "column appears more than once"))
        raise ScenarioError(source, problems, "detections table")
    numeric = [c for c in (*REQUIRED, *POLAR, *SIGMA_POLAR, *SIGMA_XYZ) if c in df.columns]
    out = df.copy()
    for c in numeric:
        col = _as_float(c, df[c], problems)
        if col is None:
            out = out.drop(columns=c)
            continue
        out[c] = col
        values = col.to_numpy()
        inf = np.isinf(values)
        if inf.any():
            problems.append(Problem(c, f"infinite value at {_rows(inf)}"))
        lo, hi, why = _BOUNDS[c]
        finite = np.isfinite(values)
        if c in (*SIGMA_POLAR, *SIGMA_XYZ):
            nonpos = finite & (values <= 0.0)
            if nonpos.any():
                problems.append(Problem(c, f"must be > 0 at {_rows(nonpos)}"))
            finite &= values > 0.0
        out_of = finite & ((values < lo) | (values > hi))
        if out_of.any():
            problems.append(Problem(c, f"{why} at {_rows(out_of)}"))
    if "sensor" in df.columns:
        if df["sensor"].isna().any():
            problems.append(
                Problem("sensor", f"missing value at {_rows(df['sensor'].isna().to_numpy())}")
            )
        else:
            try:
                pd.factorize(df["sensor"], sort=True)
            except TypeError:
                problems.append(
                    Problem("sensor", "labels must be text or numbers (found unhashable values)")
                )
    if "time_s" in out.columns and df.shape[0] > 1:
        t = out["time_s"].to_numpy()
        back = np.r_[False, t[1:] < t[:-1]]
        if back.any():
            problems.append(
                Problem(
                    "time_s",
                    f"not sorted: time goes backwards at {_rows(back)} (sort the table by time_s)",
                )  # fmt: skip
            )
    if problems:
        raise ScenarioError(source, problems, "detections table")
    return out


@dataclass(frozen=True)
class TrackRun:
    """A stand-alone tracking run.

    Attributes:
        tracks: the tracks table (`TRACK_COLUMNS`).
        n_detections: detections read.
        n_scans: scans processed.
        sensors: sensor labels, in index order.
        seconds: wall time spent in the tracker, s.
    """

    tracks: pd.DataFrame
    n_detections: int
    n_scans: int
    sensors: tuple[Any, ...]
    seconds: float


def _measurements(df: pd.DataFrame, sigma_m: float) -> tuple[F64, F64]:
    """Positions (M, 3) and covariances (M, 3, 3) from a validated table."""
    z = df[list(REQUIRED[1:])].to_numpy(dtype=np.float64)
    m = z.shape[0]
    if all(c in df.columns for c in (*POLAR, *SIGMA_POLAR)):
        r, a, e = (df[c].to_numpy(dtype=np.float64) for c in POLAR)
        sr, sa, se = (df[c].to_numpy(dtype=np.float64) for c in SIGMA_POLAR)
        sensor_pos = z - polar_to_enu(r, a, e)
        zu, R = unbiased_polar_to_enu(r, a, e, sr, sa, se)
        return sensor_pos + zu, R
    R = np.zeros((m, 3, 3))
    if all(c in df.columns for c in SIGMA_XYZ):
        for i, c in enumerate(SIGMA_XYZ):
            R[:, i, i] = df[c].to_numpy(dtype=np.float64) ** 2
    else:
        R[:, 0, 0] = R[:, 1, 1] = R[:, 2, 2] = sigma_m * sigma_m
    return z, R


def track_detections(
    detections: pd.DataFrame,
    config: TrackerSettings | None = None,
    *,
    confirmed_only: bool = False,
) -> pd.DataFrame:
    """Track a detections table; return the tracks table.

    Args:
        detections: see the module docstring for the columns.
        config: tracker settings (a `TrackConfig` for the input-handling
            options too); defaults if None.
        confirmed_only: keep only confirmed tracks in the output.

    Returns:
        One row per track and scan time, columns `TRACK_COLUMNS`.

    Raises:
        ScenarioError: the table is malformed (see `validate_detections`).
    """
    return _run(detections, config, confirmed_only, "<DataFrame>").tracks


def _run(
    detections: pd.DataFrame,
    config: TrackerSettings | None,
    confirmed_only: bool,
    source: str,
) -> TrackRun:
    df = validate_detections(detections, source)
    # Validated input keeps every number far from overflow; should one still occur,
    # it is an error naming the input, never a numpy warning or a table of inf.
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            return _track(df, config, confirmed_only)
    except (FloatingPointError, np.linalg.LinAlgError) as e:
        raise UserError(
            f"{source}: the tracker's arithmetic failed ({e}); check the units of the "
            "coordinates, times and standard deviations"
        ) from None


def _track(df: pd.DataFrame, config: TrackerSettings | None, confirmed_only: bool) -> TrackRun:
    cfg = TrackConfig() if config is None else config
    sigma_m = cfg.measurement_sigma_m if isinstance(cfg, TrackConfig) else 50.0
    window = cfg.scan_window_s if isinstance(cfg, TrackConfig) else 0.0
    if "sensor" in df.columns:
        codes, uniques = pd.factorize(df["sensor"], sort=True)
        sensors = tuple(uniques.tolist())
        sensor = np.asarray(codes, dtype=np.int64)
    else:
        sensors = (0,)
        sensor = np.zeros(df.shape[0], dtype=np.int64)
    times = df["time_s"].to_numpy(dtype=np.float64)
    z, R = _measurements(df, sigma_m)
    h = track_measurements(
        times, sensor, z, R, tracker_params(cfg), window_s=window, confirmed_only=confirmed_only
    )
    tracks = pd.DataFrame(
        {
            "time_s": h.time_s,
            "track_id": h.track_id,
            "x_m": h.x[:, 0],
            "y_m": h.x[:, 1],
            "z_m": h.x[:, 2],
            "vx_mps": h.x[:, 3],
            "vy_mps": h.x[:, 4],
            "vz_mps": h.x[:, 5],
            "confirmed": h.confirmed,
            "quality": h.quality,
            "sigma_m": h.sigma_m,
        },
        columns=list(TRACK_COLUMNS),
    )
    return TrackRun(tracks, int(df.shape[0]), h.n_scans, sensors, h.seconds)


def write_tracks(tracks: pd.DataFrame, path: str | Path) -> None:
    """Write a tracks table as Parquet or CSV (by extension), atomically."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise UserError(f"{p}: unknown file type {suffix or '(none)'}; expected .parquet or .csv")
    if not p.parent.is_dir():
        raise UserError(f"{p}: directory {p.parent} does not exist")
    with atomic_output(p) as tmp:
        if suffix == ".csv":
            tracks.to_csv(tmp, index=False, float_format="%.6f")
        else:
            tracks.to_parquet(tmp, index=False)


def track_file(
    detections: str | Path,
    out: str | Path,
    config: str | Path | None = None,
    *,
    confirmed_only: bool = False,
) -> TrackRun:
    """Read detections, track, write tracks: what `skydome track` does.

    Every input problem is raised (as a `UserError`) before anything is written.
    """
    cfg = load_config(config) if config is not None else TrackConfig()
    out_p = Path(out)
    if out_p.suffix.lower() not in (".parquet", ".pq", ".csv"):
        raise UserError(
            f"{out_p}: unknown file type {out_p.suffix or '(none)'}; expected .parquet or .csv"
        )
    if not out_p.parent.is_dir():
        raise UserError(f"{out_p}: directory {out_p.parent} does not exist")
    df = read_detections(detections)
    run = _run(df, cfg, confirmed_only, str(detections))
    write_tracks(run.tracks, out_p)
    return run
