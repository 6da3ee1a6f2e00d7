"""A contract checker for trackers: what any `Tracker` plug-in must satisfy.

`check_tracker(tracker)` runs a small synthetic scenario (crossing
constant-velocity targets with clutter, two interleaved sensors of different
accuracy) twice and raises `AssertionError` naming the first broken rule:

- shapes and dtypes of every `TrackState` field, one row per track;
- time stamps: the state is valid at the scan's time;
- track ids unique, never reused, below `next_id`;
- covariances finite, symmetric, positive definite;
- the report names only tracks that existed (deleted) or exist (confirmed);
- determinism: the same input gives bit-identical states;
- `predict(state, t, rows)`: (K, 6) finite, and `x[rows]` at the state's own time.

Run it on your own tracker before plugging it into `skydome.simulate`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skydome.sensors.base import Detections
from skydome.tracking.base import Tracker, TrackState
from skydome.tracking.synthetic import cv_targets_in_square

__all__ = ["check_tracker"]

_FIELDS_1D = {
    "track_id": np.int64,
    "hits": np.int64,
    "opportunities": np.int64,
    "misses": np.int64,
    "confirmed": np.bool_,
    "born_s": np.float64,
    "last_update_s": np.float64,
    "truth": np.int64,
    "quality": np.float64,
}


def _everywhere(p: NDArray[np.float64]) -> NDArray[np.bool_]:
    return np.ones(p.shape[0], dtype=bool)


def _scans(seed: int) -> list[Detections]:
    data = cv_targets_in_square(
        12, 25, side_m=40_000.0, clutter_per_scan=3.0, sigma_m=60.0, seed=seed
    )
    out = []
    for k, det in enumerate(data.scans):
        # Every third scan comes from a second, more accurate sensor at the same time.
        if k % 3 == 2:
            det = Detections(det.time_s, 1, det.pos_m, det.cov_m2 * 0.25, det.polar, det.truth)
        out.append(det)
    return out


def _check_state(s: TrackState, t: float, seen_ids: set[int]) -> None:
    n = s.n
    assert s.time_s == t, f"state time {s.time_s} != scan time {t}"
    assert s.x.shape == (n, 6) and s.x.dtype == np.float64, f"x: {s.x.shape} {s.x.dtype}"
    assert s.P.shape == (n, 6, 6) and s.P.dtype == np.float64, f"P: {s.P.shape}"
    for name, dtype in _FIELDS_1D.items():
        a = getattr(s, name)
        assert a.shape == (n,), f"{name}: shape {a.shape}, expected ({n},)"
        assert a.dtype == dtype, f"{name}: dtype {a.dtype}, expected {np.dtype(dtype)}"
    assert s.mode_x.shape[0] == s.mode_P.shape[0] == s.mode_prob.shape[0] == n
    assert np.isfinite(s.x).all() and np.isfinite(s.P).all(), "non-finite state"
    assert np.allclose(s.P, s.P.transpose(0, 2, 1), rtol=1e-9, atol=1e-9), "P not symmetric"
    if n:
        assert np.linalg.eigvalsh(s.P).min() > 0.0, "P not positive definite"
    ids = s.track_id.tolist()
    assert len(set(ids)) == n, "duplicate track ids"
    assert all(0 <= i < s.next_id for i in ids), "track id outside [0, next_id)"
    new = set(ids) - seen_ids
    assert all(i >= max(seen_ids, default=-1) for i in new), "a track id was reused"
    seen_ids |= set(ids)


def _check_predict(tracker: Tracker, s: TrackState) -> None:
    rows = np.arange(0, s.n, 2, dtype=np.int64)
    now = tracker.predict(s, s.time_s, rows)
    later = tracker.predict(s, s.time_s + 5.0, rows)
    assert now.shape == later.shape == (rows.size, 6), f"predict: shape {later.shape}"
    assert later.dtype == np.float64 and np.isfinite(later).all(), "predict: non-finite or dtype"
    assert np.allclose(now, s.x[rows]), "predict at the state's own time must return x"


def check_tracker(tracker: Tracker, seed: int = 0) -> None:
    """Run the contract on `tracker`; raise `AssertionError` on the first violation."""
    scans = _scans(seed)
    states: list[list[NDArray[np.float64]]] = []
    for _ in range(2):
        state = TrackState.empty()
        seen: set[int] = set()
        xs = []
        for det in scans:
            before = set(state.track_id.tolist())
            state, rep = tracker.step(state, det, _everywhere)
            _check_state(state, det.time_s, seen)
            now = set(state.track_id.tolist())
            assert set(rep.deleted_ids.tolist()) <= before - now, "deleted id not dropped"
            assert set(rep.confirmed_ids.tolist()) <= now, "confirmed id not held"
            assert state.confirmed[np.isin(state.track_id, rep.confirmed_ids)].all()
            assert rep.confirmed_ids.size == rep.confirmed_truth.size
            assert rep.deleted_ids.size == rep.deleted_truth.size
            xs.append(state.x.copy())
            if hasattr(tracker, "predict"):
                _check_predict(tracker, state)
        states.append(xs)
        assert state.confirmed.sum() >= 10, "fewer than 10 of 12 targets confirmed"
    for a, b in zip(*states, strict=True):
        assert np.array_equal(a, b), "not deterministic"
