"""Claim: 10,000 targets and 1,000 false alarms per scan at under 100 ms per scan.

On one core; and memory grows linearly with the number of targets.

Data: `skydome.tracking.synthetic.cv_targets_in_square` with N targets and N / 10
false alarms per scan, at the density of the 10,000-target case (10,000 targets in a
200 km square; the square's side grows with sqrt(N)), 1-10 km altitude,
100-300 m/s, scan interval 1 s, Pd 0.9, 50 m noise per axis. Tracker: CV Kalman
filter, 3-of-4 confirmation (dense clutter), 4-miss deletion.

Per N the script prints the median and the 90th percentile of the wall time per
scan once the picture has formed (scans after the first three), the tracks held,
the targets followed by a confirmed track and the false confirmed tracks at the
last scan (GOSPA assignment, c = 500 m), the size of the track state, and the peak
memory allocated while tracking (tracemalloc, which sees numpy's buffers; the data
set itself is allocated before and not counted).

    python benchmarks/bench_tracking_scale.py [--sizes 1000 10000 100000] [--scans 12]
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from skydome.tracking import GnnTracker, TrackState  # noqa: E402
from skydome.tracking.metrics import gospa  # noqa: E402
from skydome.tracking.params import TrackerParams  # noqa: E402
from skydome.tracking.synthetic import SyntheticData, cv_targets_in_square  # noqa: E402

PARAMS = TrackerParams(
    q_mps2=1.0,
    gate_probability=0.9999,
    confirm_m=3,
    confirm_n=4,
    delete_misses=4,
    max_coast_s=1e9,
    init_velocity_sigma_mps=300.0,
)


def make_data(n: int, scans: int, seed: int = 0) -> SyntheticData:
    """N targets and N / 10 false alarms per scan at the density of the 10k case."""
    side = 200_000.0 * np.sqrt(n / 10_000.0)
    return cv_targets_in_square(n, scans, side_m=side, clutter_per_scan=n / 10.0, seed=seed)


def _everywhere(p: NDArray[np.float64]) -> NDArray[np.bool_]:
    return np.ones(p.shape[0], dtype=bool)


def track(data: SyntheticData) -> tuple[TrackState, list[float]]:
    """Run the tracker over every scan; the final state and seconds per scan."""
    tracker = GnnTracker(PARAMS)
    state = TrackState.empty()
    secs = []
    for det in data.scans:
        t0 = time.perf_counter()
        state, _ = tracker.step(state, det, _everywhere)
        secs.append(time.perf_counter() - t0)
    return state, secs


def state_mb(s: TrackState) -> float:
    """Bytes held by the track state's arrays, MB."""
    arrays = [getattr(s, f) for f in s.__dataclass_fields__]
    return sum(a.nbytes for a in arrays if isinstance(a, np.ndarray)) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 10_000, 100_000])
    ap.add_argument("--scans", type=int, default=12)
    args = ap.parse_args()
    print(
        f"{'targets':>8} {'clutter/scan':>12} {'ms/scan median':>15} {'p90':>7} "
        f"{'tracks':>7} {'followed':>9} {'false':>6} {'state MB':>9} {'peak MB':>8}"
    )
    track(make_data(1000, 4, seed=1))  # warm-up: imports, caches
    for n in args.sizes:
        data = make_data(n, args.scans)
        state, secs = track(data)
        steady = np.asarray(secs[3:]) * 1e3
        conf = state.confirmed
        g = gospa(data.truth_pos_m[-1], state.x[conf, :3], 500.0, 2.0)
        tracemalloc.start()
        tracemalloc.reset_peak()
        track(data)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"{n:>8,} {n // 10:>12,} {np.median(steady):>15.1f} "
            f"{np.percentile(steady, 90):>7.1f} {state.n:>7,} "
            f"{n - g.n_missed:>9,} {g.n_false:>6,} {state_mb(state):>9.1f} {peak / 1e6:>8.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
