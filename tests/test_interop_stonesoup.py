"""Stone Soup interoperability: adapters, the tracker contract, the default scenario, GOSPA."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("stonesoup")

from skydome.interop.stonesoup import (  # noqa: E402
    StoneSoupTracker,
    from_stonesoup_detections,
    from_stonesoup_tracks,
    to_stonesoup_detections,
    to_stonesoup_tracks,
)
from skydome.sensors.base import Detections  # noqa: E402
from skydome.tracking import GnnTracker, TrackState, check_tracker  # noqa: E402
from skydome.tracking.metrics import gospa  # noqa: E402
from skydome.tracking.params import TrackerParams  # noqa: E402
from skydome.tracking.synthetic import cv_targets_in_square  # noqa: E402

PARAMS = TrackerParams(
    q_mps2=1.0,
    gate_probability=0.9999,
    confirm_m=2,
    confirm_n=3,
    delete_misses=4,
    max_coast_s=1e9,
    init_velocity_sigma_mps=300.0,
)


def _everywhere(p: np.ndarray) -> np.ndarray:
    return np.ones(p.shape[0], dtype=bool)


def _scan(rng: np.random.Generator, m: int = 7) -> Detections:
    a = rng.normal(size=(m, 3, 3))
    cov = a @ a.transpose(0, 2, 1) * 1e4 + np.eye(3)
    return Detections(
        time_s=12.345678912345,
        radar=3,
        pos_m=rng.normal(scale=1e5, size=(m, 3)),
        cov_m2=cov,
        polar=rng.uniform(size=(m, 3)),
        truth=rng.integers(-1, 5, size=m),
    )


def test_detections_round_trip_exact() -> None:
    det = _scan(np.random.default_rng(1))
    ss = to_stonesoup_detections(det)
    assert len(ss) == det.n
    # Each detection's own covariance is its measurement model's noise.
    for i, d in enumerate(ss):
        assert np.array_equal(np.asarray(d.measurement_model.covar()), det.cov_m2[i])
    back = from_stonesoup_detections(ss)
    assert back.time_s == det.time_s
    assert back.radar == det.radar
    for name in ("pos_m", "cov_m2", "polar", "truth"):
        a, b = getattr(back, name), getattr(det, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name


def test_empty_scan_round_trip() -> None:
    det = Detections(5.0, 0, np.zeros((0, 3)), np.zeros((0, 3, 3)), np.zeros((0, 3)),
                     np.zeros(0, dtype=np.int64))  # fmt: skip
    back = from_stonesoup_detections(to_stonesoup_detections(det), time_s=5.0)
    assert back.n == 0 and back.time_s == 5.0


def test_tracks_round_trip_exact() -> None:
    data = cv_targets_in_square(5, 6, seed=2)
    state = TrackState.empty()
    tracker = GnnTracker(PARAMS)
    for det in data.scans:
        state, _ = tracker.step(state, det, _everywhere)
    back = from_stonesoup_tracks(to_stonesoup_tracks(state), state.time_s, next_id=state.next_id)
    for name in ("x", "track_id", "hits", "opportunities", "misses", "confirmed", "born_s",
                 "last_update_s", "truth", "quality"):  # fmt: skip
        assert np.array_equal(getattr(back, name), getattr(state, name)), name
    assert np.allclose(back.P, state.P, rtol=1e-12, atol=0.0)
    assert back.next_id == state.next_id and back.time_s == state.time_s


def test_check_tracker() -> None:
    check_tracker(StoneSoupTracker(PARAMS))


def _mean_gospa(tracker: GnnTracker | StoneSoupTracker, seed: int) -> float:
    data = cv_targets_in_square(10, 30, clutter_per_scan=10.0, seed=seed)
    state = TrackState.empty()
    out = []
    for k, det in enumerate(data.scans):
        state, _ = tracker.step(state, det, _everywhere)
        est = state.x[state.confirmed, :3]
        out.append(gospa(data.truth_pos_m[k], est, 500.0, 2.0).distance)
    return float(np.mean(out))


def test_gospa_close_to_skydome() -> None:
    """The same detections, the same settings: accuracy within 2 % of skydome's tracker."""
    sd = _mean_gospa(GnnTracker(PARAMS), seed=1)
    ss = _mean_gospa(StoneSoupTracker(PARAMS), seed=1)
    assert abs(ss - sd) <= 0.02 * sd, (ss, sd)


def test_default_scenario_end_to_end() -> None:
    """The default scenario's first 600 s (24 threats in the air) with Stone Soup tracking.

    The whole 1,800 s run costs about 80 s with Stone Soup (17x the built-in
    tracker): `benchmarks/bench_interop.py` runs it; the suite runs the first
    third and holds it against the built-in tracker on the same seed.
    """
    from skydome import compile_scenario, load_scenario, simulate

    s = load_scenario("default")
    s = s.model_copy(update={"run": s.run.model_copy(update={"duration_s": 600.0})})
    params = compile_scenario(s)
    ours = simulate(params, seed=1)
    r = simulate(params, seed=1, tracker=StoneSoupTracker(params.tracker))

    def count(a: np.ndarray) -> int:
        return int(np.isfinite(a).sum())

    assert count(ours.first_detect_s) >= 20  # the window holds a real raid
    assert count(r.first_detect_s) == count(ours.first_detect_s)  # same radars, same seed
    assert count(r.first_track_s) >= 0.9 * count(ours.first_track_s)
    assert count(r.kill_time_s) >= 0.75 * count(ours.kill_time_s) > 0


def test_predict_matches_skydome_constant_velocity() -> None:
    data = cv_targets_in_square(5, 6, seed=3)
    state = TrackState.empty()
    tracker = StoneSoupTracker(PARAMS)
    for det in data.scans:
        state, _ = tracker.step(state, det, _everywhere)
    rows = np.arange(state.n, dtype=np.int64)[::-1].copy()
    assert np.array_equal(tracker.predict(state, state.time_s, rows), state.x[rows])
    dt = 7.5
    got = tracker.predict(state, state.time_s + dt, rows)
    want = state.x[rows].copy()
    want[:, :3] += dt * want[:, 3:]
    assert np.allclose(got, want, rtol=1e-12, atol=1e-6)


def test_missing_stonesoup_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from skydome.errors import UserError

    monkeypatch.setitem(sys.modules, "stonesoup.types.detection", None)
    det = _scan(np.random.default_rng(0), 1)
    with pytest.raises(UserError, match=r"pip install 'skydome\[interop\]'"):
        to_stonesoup_detections(det)
