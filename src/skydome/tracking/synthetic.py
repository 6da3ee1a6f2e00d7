"""Synthetic tracking data: constant-velocity targets, Gaussian noise, Poisson clutter.

The data set of the tracking benchmarks and tests, and a quick way to try the
stand-alone tracker: N targets at constant velocity in a square, detected with
probability Pd per scan, measured with isotropic Gaussian noise, plus a Poisson
number of false alarms per scan spread uniformly over the surveillance volume.
Everything is drawn from one `numpy.random.Generator` seeded by `seed`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skydome.arrays import F64
from skydome.sensors.base import Detections

__all__ = ["SyntheticData", "cv_targets_in_square"]


@dataclass(frozen=True)
class SyntheticData:
    """Truth and detections of a synthetic scenario (T scans, N targets).

    Attributes:
        times_s: (T,) scan times, s.
        truth_pos_m: (T, N, 3) true positions, m.
        truth_vel_mps: (T, N, 3) true velocities, m/s.
        scans: T detection sets (false alarms have truth -1).
        sigma_m: measurement noise per axis, m.
    """

    times_s: F64
    truth_pos_m: F64
    truth_vel_mps: F64
    scans: list[Detections]
    sigma_m: float

    @property
    def n_targets(self) -> int:
        """Number of targets N."""
        return int(self.truth_pos_m.shape[1])


def cv_targets_in_square(
    n_targets: int,
    n_scans: int,
    *,
    side_m: float = 200_000.0,
    altitude_m: tuple[float, float] = (1_000.0, 10_000.0),
    speed_mps: tuple[float, float] = (100.0, 300.0),
    dt_s: float = 1.0,
    pd: float = 0.9,
    sigma_m: float = 50.0,
    clutter_per_scan: float = 10.0,
    q_mps2: float = 0.0,
    seed: int = 0,
) -> SyntheticData:
    """Targets flying straight and level across a square, seen by one sensor.

    Initial positions are uniform over the square (centred on the origin) and the
    altitude band, headings uniform, speeds uniform in `speed_mps`, vertical
    velocity zero. With `q_mps2 > 0` the truth follows the discretised
    white-noise-acceleration model of that density instead of straight lines
    (still non-manoeuvring: the model a CV Kalman filter assumes).

    Args:
        n_targets: N.
        n_scans: T, one every `dt_s` from t = 0.
        side_m: side of the square, m.
        altitude_m: (low, high) altitude band, m.
        speed_mps: (low, high) ground speed, m/s.
        dt_s: scan interval, s.
        pd: detection probability per target and scan.
        sigma_m: measurement noise standard deviation per axis, m.
        clutter_per_scan: mean number of false alarms per scan (Poisson), uniform
            over the square and the altitude band.
        q_mps2: process noise of the truth (0: exact constant velocity).
        seed: random seed.
    """
    rng = np.random.default_rng(seed)
    h = 0.5 * side_m
    pos = np.column_stack(
        [
            rng.uniform(-h, h, n_targets),
            rng.uniform(-h, h, n_targets),
            rng.uniform(altitude_m[0], altitude_m[1], n_targets),
        ]
    )
    heading = rng.uniform(0.0, 2.0 * np.pi, n_targets)
    speed = rng.uniform(speed_mps[0], speed_mps[1], n_targets)
    vel = np.column_stack([speed * np.sin(heading), speed * np.cos(heading), np.zeros(n_targets)])
    times = np.arange(n_scans, dtype=np.float64) * dt_s
    tp = np.empty((n_scans, n_targets, 3))
    tv = np.empty((n_scans, n_targets, 3))
    if q_mps2 > 0.0:
        q2 = q_mps2 * q_mps2
        cov = q2 * np.array([[dt_s**3 / 3.0, dt_s**2 / 2.0], [dt_s**2 / 2.0, dt_s]])
        L = np.linalg.cholesky(cov)
    scans: list[Detections] = []
    ids = np.arange(n_targets, dtype=np.int64)
    eye = np.eye(3) * sigma_m**2
    for k, t in enumerate(times):  # scans: the time axis, not targets
        if k > 0:
            if q_mps2 > 0.0:
                w = rng.standard_normal((n_targets, 3, 2)) @ L.T  # (N, axis, [p, v])
                pos = pos + vel * dt_s + w[:, :, 0]
                vel = vel + w[:, :, 1]
            else:
                pos = pos + vel * dt_s
        tp[k], tv[k] = pos, vel
        seen = rng.random(n_targets) < pd
        z = pos[seen] + rng.normal(0.0, sigma_m, (int(seen.sum()), 3))
        n_fa = int(rng.poisson(clutter_per_scan))
        fa = np.column_stack(
            [
                rng.uniform(-h, h, n_fa),
                rng.uniform(-h, h, n_fa),
                rng.uniform(altitude_m[0], altitude_m[1], n_fa),
            ]
        )
        allz = np.concatenate([z, fa])
        truth = np.concatenate([ids[seen], np.full(n_fa, -1, dtype=np.int64)])
        order = rng.permutation(allz.shape[0])
        m = allz.shape[0]
        scans.append(
            Detections(
                time_s=float(t),
                radar=0,
                pos_m=allz[order],
                cov_m2=np.broadcast_to(eye, (m, 3, 3)).copy(),
                polar=np.zeros((m, 3)),
                truth=truth[order],
            )
        )
    return SyntheticData(times, tp, tv, scans, sigma_m)
