"""Claim: skydome's tracker is >= 50x faster than Stone Soup at N = 1000, as accurate.

Accuracy: mean GOSPA no worse than Stone Soup's + 5 %.

One synthetic data set per N (`skydome.tracking.synthetic.cv_targets_in_square`:
constant-velocity targets in a 200 km square at 1-10 km altitude, 100-300 m/s,
scan interval 1 s, Pd 0.9, 50 m Gaussian noise per axis, Poisson clutter of mean
10 per scan), tracked by skydome's `GnnTracker` (CV Kalman filter) and by a
standard Stone Soup tracker built from the same settings: Kalman
predictor/updater with the same constant-velocity model, Mahalanobis
`DistanceHypothesiser` (missed distance = the square root of skydome's chi-square
gate), `GNNWith2DAssignment`, `MultiMeasurementInitiator` (min_points 2, the
same zero-velocity prior) and `UpdateTimeStepsDeleter` (skydome's 2-of-3
confirmation and 4-miss deletion). Both see the identical detections.
GOSPA (p = 2, c = 500 m) compares confirmed tracks with the truth at every scan.

    python benchmarks/bench_tracking_vs_stonesoup.py [--sizes 10 100 1000] [--scans 40 30 12]

Stone Soup is a test/benchmark dependency only (`pip install -e '.[test]'`).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from skydome.tracking import GnnTracker, TrackState  # noqa: E402
from skydome.tracking.gating import gate_threshold  # noqa: E402
from skydome.tracking.metrics import gospa  # noqa: E402
from skydome.tracking.params import TrackerParams  # noqa: E402
from skydome.tracking.synthetic import SyntheticData, cv_targets_in_square  # noqa: E402

F64 = NDArray[np.float64]

PARAMS = TrackerParams(
    q_mps2=1.0,
    gate_probability=0.9999,
    confirm_m=2,
    confirm_n=3,
    delete_misses=4,
    max_coast_s=1e9,
    init_velocity_sigma_mps=300.0,
)
"""The settings both trackers share."""

GOSPA_C_M = 500.0
GOSPA_P = 2.0


@dataclass(frozen=True)
class Estimates:
    """Confirmed track positions after every scan and the time spent per scan."""

    positions: list[F64]
    ids: list[NDArray[np.int64]]
    seconds_per_scan: F64


def make_data(n_targets: int, n_scans: int, seed: int = 1) -> SyntheticData:
    """The benchmark data set for N targets."""
    return cv_targets_in_square(n_targets, n_scans, clutter_per_scan=10.0, seed=seed)


def _everywhere(p: F64) -> NDArray[np.bool_]:
    return np.ones(p.shape[0], dtype=bool)


def run_skydome(data: SyntheticData, params: TrackerParams = PARAMS) -> Estimates:
    """Skydome's GNN tracker over every scan of `data`."""
    tracker = GnnTracker(params)
    state = TrackState.empty()
    pos, ids, secs = [], [], []
    for det in data.scans:
        t0 = time.perf_counter()
        state, _ = tracker.step(state, det, _everywhere)
        secs.append(time.perf_counter() - t0)
        c = state.confirmed
        pos.append(state.x[c, :3].copy())
        ids.append(state.track_id[c].copy())
    return Estimates(pos, ids, np.asarray(secs))


def run_stonesoup(data: SyntheticData, params: TrackerParams = PARAMS) -> Estimates:
    """A standard Stone Soup multi-target tracker with the same settings."""
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import KalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import KalmanUpdater

    q2 = params.q_mps2**2
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(q2)] * 3)
    measurement = LinearGaussian(
        ndim_state=6, mapping=(0, 2, 4), noise_covar=np.eye(3) * data.sigma_m**2
    )
    predictor = KalmanPredictor(transition)
    updater = KalmanUpdater(measurement)
    hypothesiser = DistanceHypothesiser(
        predictor,
        updater,
        measure=Mahalanobis(),
        missed_distance=float(np.sqrt(gate_threshold(params.gate_probability))),
    )
    vs2 = params.init_velocity_sigma_mps**2
    prior = GaussianState(np.zeros((6, 1)), np.diag([0.0, vs2, 0.0, vs2, 0.0, vs2]))
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        measurement_model=measurement,
        # UpdateTimeStepsDeleter(k) drops a track after k missed scans in a row; an
        # M-of-N tentative track (M = 2) fails after N - M + 1.
        deleter=UpdateTimeStepsDeleter(params.confirm_n - params.confirm_m + 1),
        data_associator=GNNWith2DAssignment(hypothesiser),
        updater=updater,
        min_points=params.confirm_m,
    )
    t_ref = datetime.datetime(2024, 1, 1)
    frames: list[tuple[datetime.datetime, set[Any]]] = []
    for det in data.scans:  # built before timing: input conversion is not tracking
        ts = t_ref + datetime.timedelta(seconds=det.time_s)
        frames.append(
            (
                ts,
                {
                    Detection(z.reshape(3, 1), timestamp=ts, measurement_model=measurement)
                    for z in det.pos_m
                },
            )
        )
    tracker = MultiTargetTracker(
        initiator=initiator,
        deleter=UpdateTimeStepsDeleter(params.delete_misses),
        detector=iter(frames),
        data_associator=GNNWith2DAssignment(hypothesiser),
        updater=updater,
    )
    pos, ids, secs = [], [], []
    it = iter(tracker)
    for _ in frames:
        t0 = time.perf_counter()
        _, tracks = next(it)
        secs.append(time.perf_counter() - t0)
        tl = sorted(tracks, key=lambda tr: tr.id)
        pos.append(
            np.array(
                [np.asarray(tr.state_vector, dtype=np.float64)[[0, 2, 4], 0] for tr in tl]
            ).reshape(-1, 3)
        )
        ids.append(np.array([int(tr.id.replace("-", "")[:12], 16) for tr in tl], dtype=np.int64))
    return Estimates(pos, ids, np.asarray(secs))


def mean_gospa(data: SyntheticData, est: Estimates) -> float:
    """Mean over scans of GOSPA(truth, confirmed tracks), p = 2, c = 500 m."""
    return float(
        np.mean(
            [
                gospa(data.truth_pos_m[k], est.positions[k], GOSPA_C_M, GOSPA_P).distance
                for k in range(len(data.scans))
            ]
        )
    )


def false_tracks(data: SyntheticData, est: Estimates) -> float:
    """Mean number of confirmed tracks per scan left unassigned by GOSPA."""
    return float(
        np.mean(
            [
                gospa(data.truth_pos_m[k], est.positions[k], GOSPA_C_M, GOSPA_P).n_false
                for k in range(len(data.scans))
            ]
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="*", default=[10, 100, 1000])
    ap.add_argument("--scans", type=int, nargs="*", default=[60, 40, 12])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if len(args.scans) != len(args.sizes):
        sys.exit("--scans needs one number per size")
    print(
        f"{'N':>5} {'scans':>5} {'skydome ms/scan':>16} {'Stone Soup ms/scan':>19} "
        f"{'speed-up':>9} {'GOSPA skydome':>14} {'GOSPA Stone Soup':>17} "
        f"{'false/scan sd':>14} {'false/scan ss':>14}"
    )
    for n, scans in zip(args.sizes, args.scans, strict=True):
        data = make_data(n, scans, args.seed)
        run_skydome(make_data(n, 3, args.seed + 1))  # warm-up: imports, caches
        sd = run_skydome(data)
        ss = run_stonesoup(data)
        t_sd = 1e3 * float(np.median(sd.seconds_per_scan))
        t_ss = 1e3 * float(np.median(ss.seconds_per_scan))
        print(
            f"{n:>5} {scans:>5} {t_sd:>16.2f} {t_ss:>19.1f} {t_ss / t_sd:>8.0f}x "
            f"{mean_gospa(data, sd):>14.1f} {mean_gospa(data, ss):>17.1f} "
            f"{false_tracks(data, sd):>14.2f} {false_tracks(data, ss):>14.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
