"""The tracker on its own: detections table in, tracks table out.

For researchers who bring their own data. A detections table (pandas
DataFrame, or a Parquet/CSV file) has one row per detection:

- required: ``time_s, x_m, y_m, z_m`` -- time and position (local Cartesian
  East-North-Up, metres);
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
of them) form one scan; scans are processed in time order, each sensor's
detections fused into the common track picture as they come (centralised
measurement fusion). A track counts a missed look on a sensor's scan when it
lies inside that sensor's coverage, taken as the horizontal bounding box of
all that sensor's detections in the table.

The tracks table has one row per track and scan time, after that time's updates:
``time_s, track_id, x_m, y_m, z_m, vx_mps, vy_mps, vz_mps, confirmed`` plus
``quality`` (the track score) and ``sigma_m`` (RMS position standard
deviation per axis).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from numpy.typing import NDArray
from pydantic import Field, ValidationError

from skydome.errors import Problem, ScenarioError, UserError
from skydome.scenario.load import problems_from_validation
from skydome.scenario.params import tracker_params
from skydome.scenario.schema import TrackerSettings
from skydome.sensors.base import Detections
from skydome.tracking.base import TrackState
from skydome.tracking.gnn import GnnTracker
from skydome.tracking.measurement import polar_to_enu, unbiased_polar_to_enu

__all__ = [
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

F64 = NDArray[np.float64]

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


def load_config(path: str | Path) -> TrackConfig:
    """Read a YAML or JSON configuration file; every problem becomes a `ScenarioError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(p), [Problem("", "no such file")], "tracker config") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(
            str(p), [Problem("", f"cannot be read: {e}")], "tracker config"
        ) from None
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(e, "problem", None) or str(e)
        raise ScenarioError(
            str(p), [Problem("", f"invalid YAML: {what}", line)], "tracker config"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(
            str(p),
            [Problem("", f"expected a mapping of tracker settings, got a {type(data).__name__}")],
            "tracker config",
        )
    try:
        return TrackConfig.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(str(p), problems_from_validation(e, root), "tracker config") from None


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


def validate_detections(df: pd.DataFrame, source: str = "<DataFrame>") -> pd.DataFrame:
    """Check a detections table; return it with float columns, or raise `ScenarioError`.

    Every problem is reported at once: missing or non-numeric columns, empty
    table, missing values (NaN) or infinities, times not in non-decreasing
    order, non-positive standard deviations, incomplete column groups. Row
    numbers are given as file lines (header = line 1).
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
    numeric = [c for c in (*REQUIRED, *POLAR, *SIGMA_POLAR, *SIGMA_XYZ) if c in df.columns]
    out = df.copy()
    for c in numeric:
        col = pd.to_numeric(out[c], errors="coerce")
        bad = col.isna() & out[c].notna()
        if bad.any():
            problems.append(Problem(c, f"not a number at {_rows(bad.to_numpy())}"))
        nan = out[c].isna().to_numpy()
        if nan.any():
            problems.append(Problem(c, f"missing value (NaN) at {_rows(nan)}"))
        out[c] = col.astype(np.float64)
        inf = np.isinf(out[c].to_numpy())
        if inf.any():
            problems.append(Problem(c, f"infinite value at {_rows(inf)}"))
    if "sensor" in df.columns and df["sensor"].isna().any():
        problems.append(
            Problem("sensor", f"missing value at {_rows(df['sensor'].isna().to_numpy())}")
        )
    for c in (*SIGMA_POLAR, *SIGMA_XYZ):
        if c in out.columns:
            nonpos = (out[c] <= 0.0).to_numpy()
            if nonpos.any():
                problems.append(Problem(c, f"must be > 0 at {_rows(nonpos)}"))
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


def _scans(times: F64, sensor: NDArray[np.int64], window_s: float) -> tuple[NDArray[np.int64], F64]:
    """Scan index of each detection and the time of each scan (time-ordered).

    A scan is one sensor's detections at one time, or within `window_s` of the
    first detection of the scan; the scan's time is its latest detection's.
    """
    n = times.size
    start = np.zeros(n, dtype=np.float64)
    for s in np.unique(sensor):  # sensors: a handful
        idx = np.flatnonzero(sensor == s)
        t = times[idx]
        if window_s <= 0.0:
            start[idx] = t
            continue
        ut, inv = np.unique(t, return_inverse=True)
        st = np.empty(ut.size)
        first = ut[0]
        for k, tk in enumerate(ut.tolist()):  # this sensor's distinct times
            if tk - first > window_s:
                first = tk
            st[k] = first
        start[idx] = st[inv.reshape(-1)]
    keys = np.stack([start, sensor.astype(np.float64)], axis=1)
    uniq, scan = np.unique(keys, axis=0, return_inverse=True)
    scan = scan.reshape(-1)
    t_scan = np.full(uniq.shape[0], -np.inf)
    np.maximum.at(t_scan, scan, times)
    order = np.lexsort((uniq[:, 1], t_scan))  # by scan time, then sensor
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[scan].astype(np.int64), t_scan[order]


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
    cfg = TrackConfig() if config is None else config
    df = validate_detections(detections, source)
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
    scan, t_scan = _scans(times, sensor, window)
    order = np.argsort(scan, kind="stable")
    bounds = np.searchsorted(scan[order], np.arange(t_scan.size + 1))
    box = np.full((len(sensors), 4), np.nan)  # xmin, xmax, ymin, ymax per sensor
    for s in range(len(sensors)):  # sensors: a handful
        zs = z[sensor == s]
        box[s] = zs[:, 0].min(), zs[:, 0].max(), zs[:, 1].min(), zs[:, 1].max()

    tracker = GnnTracker(tracker_params(cfg))
    state = TrackState.empty(float(t_scan[0]))
    parts: list[dict[str, NDArray[Any]]] = []
    no_truth = np.full(z.shape[0], -1, dtype=np.int64)
    t0 = time.perf_counter()
    for k in range(t_scan.size):  # scans: the time axis
        rows = order[bounds[k] : bounds[k + 1]]
        s = int(sensor[rows[0]])
        b = box[s]

        def covered(p: F64, b: F64 = b) -> NDArray[np.bool_]:
            out: NDArray[np.bool_] = (
                (p[:, 0] >= b[0]) & (p[:, 0] <= b[1]) & (p[:, 1] >= b[2]) & (p[:, 1] <= b[3])
            )
            return out

        det = Detections(
            time_s=float(t_scan[k]),
            radar=s,
            pos_m=z[rows],
            cov_m2=R[rows],
            polar=np.zeros((rows.size, 3)),
            truth=no_truth[rows],
        )
        state, _ = tracker.step(state, det, covered)
        if k + 1 < t_scan.size and t_scan[k + 1] == t_scan[k]:
            continue  # another sensor's scan at the same time: one picture per time
        sel = state.confirmed if confirmed_only else slice(None)
        x = state.x[sel]
        parts.append(
            {
                "time_s": np.full(x.shape[0], t_scan[k]),
                "track_id": state.track_id[sel],
                "x": x,
                "confirmed": state.confirmed[sel],
                "quality": state.quality[sel],
                "sigma_m": np.sqrt(np.trace(state.P[sel][:, :3, :3], axis1=1, axis2=2) / 3.0),
            }
        )
    seconds = time.perf_counter() - t0
    x_all = np.concatenate([p["x"] for p in parts]) if parts else np.zeros((0, 6))
    tracks = pd.DataFrame(
        {
            "time_s": np.concatenate([p["time_s"] for p in parts]),
            "track_id": np.concatenate([p["track_id"] for p in parts]).astype(np.int64),
            "x_m": x_all[:, 0],
            "y_m": x_all[:, 1],
            "z_m": x_all[:, 2],
            "vx_mps": x_all[:, 3],
            "vy_mps": x_all[:, 4],
            "vz_mps": x_all[:, 5],
            "confirmed": np.concatenate([p["confirmed"] for p in parts]).astype(bool),
            "quality": np.concatenate([p["quality"] for p in parts]),
            "sigma_m": np.concatenate([p["sigma_m"] for p in parts]),
        },
        columns=list(TRACK_COLUMNS),
    )
    return TrackRun(tracks, int(df.shape[0]), int(t_scan.size), sensors, seconds)


def write_tracks(tracks: pd.DataFrame, path: str | Path) -> None:
    """Write a tracks table as Parquet or CSV (by extension), atomically."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise UserError(f"{p}: unknown file type {suffix or '(none)'}; expected .parquet or .csv")
    if not p.parent.is_dir():
        raise UserError(f"{p}: directory {p.parent} does not exist")
    tmp = p.with_name(f".{p.name}.tmp")
    try:
        if suffix == ".csv":
            tracks.to_csv(tmp, index=False, float_format="%.6f")
        else:
            tracks.to_parquet(tmp, index=False)
        tmp.replace(p)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UserError(f"{p}: cannot write: {e}") from None


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
