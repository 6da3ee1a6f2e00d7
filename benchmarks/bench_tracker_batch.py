"""The batched tracker scan (`gnn_batch.step_batch`) against one `step` per replication.

Records the scans of a few seeds of a built-in scenario (`simulate(...,
record_detections=True)`), builds every replication's picture up to a window of
scans, tiles the seeds to R replications, and times the window both ways: the
per-replication loop of `GnnTracker.step` and one `step_batch` per scan. Prints
CPU ms per scan (one radar scan of all R replications; process time, which a
shared machine distorts less than wall time) and checks the two agree.

    python benchmarks/bench_tracker_batch.py [--scenario default] [--reps 16 64 256]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from skydome.engine.simulate import simulate
from skydome.engine.stages import default_pipeline
from skydome.scenario import compile_scenario, load_scenario
from skydome.tracking.base import TrackState
from skydome.tracking.gnn import GnnTracker
from skydome.tracking.gnn_batch import BatchTracks, join_detections, step_batch


def main() -> None:
    """Print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--seeds", type=int, default=8, help="distinct seeds, tiled to R")
    ap.add_argument("--reps", type=int, nargs="+", default=[16, 64, 256])
    ap.add_argument("--start", type=int, default=300, help="first scan of the timed window")
    ap.add_argument("--scans", type=int, default=60, help="scans in the timed window")
    a = ap.parse_args()
    params = compile_scenario(load_scenario(a.scenario))
    pipe = default_pipeline(params)
    tr = pipe.tracker
    assert isinstance(tr, GnnTracker)
    runs = [simulate(params, seed=s, record_detections=True).detections for s in range(a.seeds)]
    n_scans = min(len(r) for r in runs)
    start = min(a.start, n_scans - 1)
    window = range(start, min(start + a.scans, n_scans))
    pics = [TrackState.empty() for _ in runs]
    for j in range(start):
        cov = pipe.sensor.coverage(runs[0][j].radar)
        pics = [tr.step(s, r[j], cov)[0] for s, r in zip(pics, runs, strict=True)]
    print(f"{a.scenario}: scans {window.start}..{window.stop - 1}, {a.seeds} seeds tiled")
    print(f"{'R':>5} {'tracks':>7} {'loop ms/scan':>13} {'batch ms/scan':>14} {'batch/loop':>11}")
    for n_reps in a.reps:
        tile = [k % a.seeds for k in range(n_reps)]
        single = [pics[i] for i in tile]
        bt = BatchTracks.join(single)
        dets = [join_detections([runs[i][j] for i in tile]) for j in window]
        covs = [pipe.sensor.coverage(runs[0][j].radar) for j in window]
        t0 = time.process_time()
        for j, cov in zip(window, covs, strict=True):
            single = [tr.step(s, runs[i][j], cov)[0] for s, i in zip(single, tile, strict=True)]
        t_loop = time.process_time() - t0
        n_tracks = bt.tracks.n
        t0 = time.process_time()
        for (det, rep), cov in zip(dets, covs, strict=True):
            bt, _ = step_batch(tr, bt, det, rep, cov)
        t_batch = time.process_time() - t0
        ref = BatchTracks.join(single)
        assert np.array_equal(ref.tracks.x, bt.tracks.x), "batch differs from the loop"
        assert np.array_equal(ref.tracks.track_id, bt.tracks.track_id)
        ms_loop = 1e3 * t_loop / len(window)
        ms_batch = 1e3 * t_batch / len(window)
        print(
            f"{n_reps:>5} {n_tracks:>7} {ms_loop:>13.2f} {ms_batch:>14.2f} "
            f"{ms_batch / ms_loop:>10.1%}"
        )


if __name__ == "__main__":
    main()
