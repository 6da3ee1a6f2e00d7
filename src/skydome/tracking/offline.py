"""The tracker over a whole recorded detections set: arrays in, track arrays out.

The stage-level core of `skydome track` and `skydome.trackfile.track_detections`:
no files, no tables, no configuration models; positions, covariances, times and
sensor codes as numpy arrays and `TrackerParams`.

Detections of one sensor at one time (or within `window_s` of the first of
them) form one scan; scans are processed in time order, each sensor's
detections fused into the common track picture as they come (centralised
measurement fusion). A track counts a missed look on a sensor's scan when it
lies inside that sensor's coverage, taken as the horizontal bounding box of
all that sensor's detections.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.sensors.base import Detections
from skydome.tracking.base import TrackState
from skydome.tracking.gnn import GnnTracker
from skydome.tracking.params import TrackerParams

__all__ = ["TrackHistory", "scan_index", "track_measurements"]

B = NDArray[np.bool_]


@dataclass(frozen=True)
class TrackHistory:
    """Every track after every scan time, struct of arrays (K rows: one per track and time).

    Attributes:
        time_s: (K,) scan time, s.
        track_id: (K,) track id.
        x: (K, 6) state [x, y, z, vx, vy, vz] after that time's updates, m and m/s.
        confirmed: (K,) confirmed at that time.
        quality: (K,) track score.
        sigma_m: (K,) RMS position standard deviation per axis, m.
        n_scans: scans processed.
        seconds: wall time spent in the tracker, s.
    """

    time_s: F64
    track_id: I64
    x: F64
    confirmed: B
    quality: F64
    sigma_m: F64
    n_scans: int
    seconds: float


def scan_index(times: F64, sensor: I64, window_s: float) -> tuple[I64, F64]:
    """Scan index of each detection and the time of each scan (time-ordered).

    A scan is one sensor's detections at one time, or within `window_s` of the
    first detection of the scan; the scan's time is its latest detection's.

    Args:
        times: (M,) detection times, s.
        sensor: (M,) sensor codes 0..S-1.
        window_s: scan window, s (0: equal times only).

    Returns:
        (M,) scan index of each detection, and (n_scans,) scan times sorted by
        time, then sensor.
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


def track_measurements(
    times: F64,
    sensor: I64,
    z: F64,
    R: F64,
    params: TrackerParams,
    *,
    window_s: float = 0.0,
    confirmed_only: bool = False,
) -> TrackHistory:
    """Track M recorded detections with `GnnTracker(params)`; the tracks after every scan time.

    Args:
        times: (M,) detection times, s, non-decreasing.
        sensor: (M,) sensor codes 0..S-1.
        z: (M, 3) measured positions, ENU, m.
        R: (M, 3, 3) their covariances, m².
        params: tracker settings.
        window_s: scan window (see `scan_index`), s.
        confirmed_only: keep only confirmed tracks in the output.

    Returns:
        One row per track and scan time (several sensors' scans at one time:
        one row, after all of them).
    """
    n_sensors = int(sensor.max()) + 1 if sensor.size else 0
    scan, t_scan = scan_index(times, sensor, window_s)
    order = np.argsort(scan, kind="stable")
    bounds = np.searchsorted(scan[order], np.arange(t_scan.size + 1))
    box = np.full((n_sensors, 4), np.nan)  # xmin, xmax, ymin, ymax per sensor
    for s in range(n_sensors):  # sensors: a handful
        zs = z[sensor == s]
        if zs.shape[0]:
            box[s] = zs[:, 0].min(), zs[:, 0].max(), zs[:, 1].min(), zs[:, 1].max()

    tracker = GnnTracker(params)
    state = TrackState.empty(float(t_scan[0]) if t_scan.size else 0.0)
    parts: list[tuple[F64, I64, F64, B, F64, F64]] = []
    no_truth = np.full(z.shape[0], -1, dtype=np.int64)
    t0 = time.perf_counter()
    for k in range(t_scan.size):  # scans: the time axis
        rows = order[bounds[k] : bounds[k + 1]]
        s = int(sensor[rows[0]])
        b = box[s]

        def covered(p: F64, b: F64 = b) -> B:
            out: B = (p[:, 0] >= b[0]) & (p[:, 0] <= b[1]) & (p[:, 1] >= b[2]) & (p[:, 1] <= b[3])
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
            (
                np.full(x.shape[0], t_scan[k]),
                state.track_id[sel],
                x,
                state.confirmed[sel],
                state.quality[sel],
                np.sqrt(np.trace(state.P[sel][:, :3, :3], axis1=1, axis2=2) / 3.0),
            )
        )
    seconds = time.perf_counter() - t0
    if not parts:
        empty = np.zeros(0)
        return TrackHistory(
            empty, np.zeros(0, dtype=np.int64), np.zeros((0, 6)), np.zeros(0, dtype=bool),
            empty, empty, int(t_scan.size), seconds,
        )  # fmt: skip
    cols = list(zip(*parts, strict=True))
    return TrackHistory(
        time_s=np.concatenate(cols[0]),
        track_id=np.concatenate(cols[1]).astype(np.int64),
        x=np.concatenate(cols[2]),
        confirmed=np.concatenate(cols[3]).astype(bool),
        quality=np.concatenate(cols[4]),
        sigma_m=np.concatenate(cols[5]),
        n_scans=int(t_scan.size),
        seconds=seconds,
    )
