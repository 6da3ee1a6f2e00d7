"""Tests of skydome.tracking: Kalman kernels, GNN association, the GNN tracker."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm
from scipy.stats import chi2

from skydome.scenario.params import TrackerParams
from skydome.sensors.base import Detections
from skydome.tracking import GnnTracker, TrackState
from skydome.tracking.association import gate_threshold, gnn_associate
from skydome.tracking.kalman import H_POS, cv_model, kf_predict, kf_update_joseph

seeds = st.integers(0, 2**32 - 1)


def random_spd(rng: np.random.Generator, n: int, scale: float, cond: float = 1e3) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eig = scale * np.exp(rng.uniform(0.0, math.log(cond), n))
    out: np.ndarray = (q * eig) @ q.T
    return out


# --- CV model -----------------------------------------------------------------------------


@pytest.mark.parametrize(("dt", "q"), [(1.0, 1.0), (0.5, 20.0), (4.0, 3.0), (10.0, 0.1)])
def test_cv_model_matches_van_loan_discretisation(dt, q):
    """Continuous white-noise acceleration (Bar-Shalom, Li & Kirubarajan 2001, sec. 6.2.2):
    Q = int_0^dt e^{A s} G q^2 G^T e^{A^T s} ds, computed independently with Van Loan's
    matrix-exponential method (Van Loan, IEEE TAC 23(3), 1978)."""
    a = np.zeros((6, 6))
    a[0, 3] = a[1, 4] = a[2, 5] = 1.0
    g = np.vstack([np.zeros((3, 3)), np.eye(3)])
    qc = q * q * g @ g.T
    m = np.zeros((12, 12))
    m[:6, :6] = -a
    m[:6, 6:] = qc
    m[6:, 6:] = a.T
    e = expm(m * dt)
    f_ref = e[6:, 6:].T
    q_ref = f_ref @ e[:6, 6:]
    f, qd = cv_model(dt, q)
    np.testing.assert_allclose(f, f_ref, atol=1e-12)
    np.testing.assert_allclose(qd, q_ref, rtol=1e-9, atol=1e-12 * q * q)


def test_cv_model_block_structure():
    """Per axis Q = q^2 [[dt^3/3, dt^2/2], [dt^2/2, dt]] and no coupling between axes."""
    f, qd = cv_model(2.0, 3.0)
    for i in range(3):
        blk = qd[np.ix_([i, i + 3], [i, i + 3])]
        np.testing.assert_allclose(blk, 9.0 * np.array([[8.0 / 3.0, 2.0], [2.0, 2.0]]))
        np.testing.assert_allclose(f[np.ix_([i, i + 3], [i, i + 3])], [[1.0, 2.0], [0.0, 1.0]])
    mask = np.zeros((6, 6), dtype=bool)
    for i in range(3):
        mask[np.ix_([i, i + 3], [i, i + 3])] = True
    assert np.all(qd[~mask] == 0.0) and np.all(f[~mask] == 0.0)


def test_kf_predict_batched_equals_loop():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 6)) * 100
    p = np.stack([random_spd(rng, 6, 10.0) for _ in range(5)])
    f, q = cv_model(1.5, 2.0)
    xn, pn = kf_predict(x, p, f, q)
    for i in range(5):
        np.testing.assert_allclose(xn[i], f @ x[i])
        np.testing.assert_allclose(pn[i], f @ p[i] @ f.T + q)


# --- Kalman update ------------------------------------------------------------------------


def test_update_textbook_closed_form_per_axis():
    """Position measurement of a 1-D CV state [p, v] with P = [[p11, p12], [p12, p22]] and
    noise r: K = [p11, p12] / (p11 + r); p11' = p11 r / (p11 + r);
    p12' = p12 r / (p11 + r); p22' = p22 - p12^2 / (p11 + r) (Bar-Shalom sec. 5.2)."""
    p11, p12, p22, r = 400.0, 30.0, 25.0, 100.0
    x = np.array([[10.0, -5.0, 0.0, 2.0, 1.0, 0.0]])
    p = np.zeros((1, 6, 6))
    for i in range(3):
        p[0, i, i], p[0, i, i + 3], p[0, i + 3, i], p[0, i + 3, i + 3] = p11, p12, p12, p22
    z = np.array([[20.0, -5.0, -8.0]])
    rr = np.eye(3)[None] * r
    xn, pn, nu, s = kf_update_joseph(x, p, z, rr)
    innov = z[0] - x[0, :3]
    np.testing.assert_allclose(nu[0], innov)
    np.testing.assert_allclose(s[0], np.eye(3) * (p11 + r))
    np.testing.assert_allclose(xn[0, :3], x[0, :3] + p11 / (p11 + r) * innov)
    np.testing.assert_allclose(xn[0, 3:], x[0, 3:] + p12 / (p11 + r) * innov)
    for i in range(3):
        blk = pn[0][np.ix_([i, i + 3], [i, i + 3])]
        np.testing.assert_allclose(
            blk,
            [
                [p11 * r / (p11 + r), p12 * r / (p11 + r)],
                [p12 * r / (p11 + r), p22 - p12**2 / (p11 + r)],
            ],
        )


@settings(max_examples=100, deadline=None)
@given(seed=seeds, n=st.integers(1, 6))
def test_joseph_update_keeps_p_spd_and_equals_information_form(seed, n):
    rng = np.random.default_rng(seed)
    p = np.stack([random_spd(rng, 6, 10.0 ** rng.uniform(-2, 6), cond=1e4) for _ in range(n)])
    rr = np.stack([random_spd(rng, 3, 10.0 ** rng.uniform(-2, 6), cond=1e3) for _ in range(n)])
    x = rng.standard_normal((n, 6)) * 1e3
    z = rng.standard_normal((n, 3)) * 1e3
    xn, pn, nu, s = kf_update_joseph(x, p, z, rr)
    np.testing.assert_array_equal(pn, pn.transpose(0, 2, 1))
    for i in range(n):
        eig = np.linalg.eigvalsh(pn[i])
        assert eig.min() > 0.0
        # Information form: P'^-1 = P^-1 + H^T R^-1 H (Bar-Shalom eq. 5.2.3-19 family).
        info = np.linalg.inv(p[i]) + H_POS.T @ np.linalg.inv(rr[i]) @ H_POS
        ref = np.linalg.inv(info)
        np.testing.assert_allclose(pn[i], ref, rtol=1e-6, atol=1e-8 * np.abs(ref).max())
        # The update never increases uncertainty: P - P' is positive semidefinite.
        assert np.linalg.eigvalsh(p[i] - pn[i]).min() >= -1e-8 * np.abs(p[i]).max()
        # Gain form: x' = x + P H^T S^-1 nu.
        k = p[i][:, :3] @ np.linalg.inv(s[i])
        np.testing.assert_allclose(xn[i], x[i] + k @ nu[i], rtol=1e-8, atol=1e-6)


def test_update_with_near_singular_prior_stays_spd():
    """A tiny position variance against a large velocity one: the case where the simple
    (I - K H) P form loses symmetry and definiteness in floating point."""
    p = np.diag([1e-6, 1e-6, 1e-6, 1e8, 1e8, 1e8])[None].copy()
    p[0, 0, 3] = p[0, 3, 0] = 9.99e-2  # correlation 0.999
    rr = np.eye(3)[None] * 1e-4
    _, pn, _, _ = kf_update_joseph(np.zeros((1, 6)), p, np.ones((1, 3)), rr)
    assert np.linalg.eigvalsh(pn[0]).min() > 0.0


def _run_cv_filter(q_true, q_filter, r_diag, n_runs, n_steps, seed, dt=1.0):
    rng = np.random.default_rng(seed)
    f, qt = cv_model(dt, q_true)
    _, qf = cv_model(dt, q_filter)
    lq = np.linalg.cholesky(qt)
    r = np.diag(r_diag)
    lr = np.linalg.cholesky(r)
    p0 = np.diag([200.0**2] * 3 + [30.0**2] * 3)
    truth = np.tile([1e4, -2e4, 5e3, 200.0, 50.0, 0.0], (n_runs, 1))
    x = truth + rng.standard_normal((n_runs, 6)) @ np.linalg.cholesky(p0).T
    p = np.repeat(p0[None], n_runs, axis=0)
    rb = np.repeat(r[None], n_runs, axis=0)
    nees = np.empty(n_steps)
    for k in range(n_steps):
        truth = truth @ f.T + rng.standard_normal((n_runs, 6)) @ lq.T
        z = truth[:, :3] + rng.standard_normal((n_runs, 3)) @ lr.T
        x, p = kf_predict(x, p, f, qf)
        x, p, _, _ = kf_update_joseph(x, p, z, rb)
        e = truth - x
        nees[k] = np.mean(np.einsum("ni,ni->n", e, np.linalg.solve(p, e[:, :, None])[:, :, 0]))
    return nees


def test_nees_consistency_cv_target():
    """Average NEES over N Monte Carlo runs, times N, is chi-square with 6 N dof for a
    consistent filter; its per-step value must fall in the 95 % two-sided band at about
    95 % of the steps (Bar-Shalom, Li & Kirubarajan, sec. 5.4.2). The band is checked
    at >= 85 % of steps (allowing for the correlation between steps), and the grand mean
    must lie inside the band as well."""
    n_runs, n_steps = 200, 200
    nees = _run_cv_filter(3.0, 3.0, [150.0**2, 150.0**2, 60.0**2], n_runs, n_steps, seed=2024)
    lo = chi2.ppf(0.025, 6 * n_runs) / n_runs
    hi = chi2.ppf(0.975, 6 * n_runs) / n_runs
    inside = np.mean((nees >= lo) & (nees <= hi))
    assert inside >= 0.85, (inside, lo, hi)
    assert lo <= nees.mean() <= hi


def test_nees_detects_an_inconsistent_filter():
    """The same check fails for a filter whose process noise is 10x too small in q
    (100x in Q): it becomes overconfident."""
    n_runs, n_steps = 200, 200
    nees = _run_cv_filter(3.0, 0.3, [150.0**2, 150.0**2, 60.0**2], n_runs, n_steps, seed=2024)
    hi = chi2.ppf(0.975, 6 * n_runs) / n_runs
    assert nees[50:].mean() > hi


# --- gating and association ---------------------------------------------------------------


def test_gate_threshold_published_chi_square_quantiles():
    """Chi-square quantiles for 3 dof: 7.815 (0.95), 11.345 (0.99), 16.266 (0.999)
    (standard tables, e.g. Abramowitz & Stegun table 26.8)."""
    assert gate_threshold(0.95) == pytest.approx(7.815, abs=1e-3)
    assert gate_threshold(0.99) == pytest.approx(11.345, abs=1e-3)
    assert gate_threshold(0.999) == pytest.approx(16.266, abs=1e-3)
    assert gate_threshold(0.99, dim=2) == pytest.approx(9.210, abs=1e-3)


def _brute_force(pred, pcov, z, r, gate):
    """Best one-to-one assignment inside the gate: most pairs, then least total
    d^2 + ln|S| (what the assignment with forbidden pairs optimises)."""
    n, m = pred.shape[0], z.shape[0]
    cost = np.full((n, m), np.inf)
    for i in range(n):
        for j in range(m):
            s = pcov[i] + r[j]
            nu = z[j] - pred[i]
            d2 = float(nu @ np.linalg.solve(s, nu))
            if d2 <= gate:
                cost[i, j] = d2 + math.log(np.linalg.det(s))
    best = (0, 0.0)
    for k in range(1, min(n, m) + 1):
        for rows in itertools.combinations(range(n), k):
            for cols in itertools.permutations(range(m), k):
                c = sum(cost[i, j] for i, j in zip(rows, cols, strict=True))
                if np.isfinite(c) and (k > best[0] or (k == best[0] and c < best[1])):
                    best = (k, c)
    return best, cost


@settings(max_examples=120, deadline=None)
@given(seed=seeds, n=st.integers(0, 5), m=st.integers(0, 5))
def test_gnn_associate_is_optimal_against_brute_force(seed, n, m):
    rng = np.random.default_rng(seed)
    pred = rng.uniform(-800.0, 800.0, (n, 3))
    pcov = (
        np.stack([random_spd(rng, 3, 10.0 ** rng.uniform(3, 4.5), cond=30) for _ in range(n)])
        if n
        else np.zeros((0, 3, 3))
    )
    z = rng.uniform(-800.0, 800.0, (m, 3))
    # Put some detections near tracks so that the gate has work to do.
    for j in range(min(n, m)):
        if rng.random() < 0.7:
            z[j] = pred[rng.integers(n)] + rng.normal(0.0, 150.0, 3)
    r = (
        np.stack([random_spd(rng, 3, 10.0 ** rng.uniform(3, 4.5), cond=30) for _ in range(m)])
        if m
        else np.zeros((0, 3, 3))
    )
    gate = gate_threshold(0.99)
    ti, dj = gnn_associate(pred, pcov, z, r, gate)
    (k_best, c_best), cost = _brute_force(pred, pcov, z, r, gate)
    assert ti.dtype == np.int64 and dj.dtype == np.int64
    assert ti.size == dj.size == k_best
    assert np.unique(ti).size == ti.size and np.unique(dj).size == dj.size
    assert np.all(np.isfinite(cost[ti, dj])), "a pair outside the gate was returned"
    if k_best:
        assert float(cost[ti, dj].sum()) == pytest.approx(c_best, abs=1e-3)


def test_gnn_associate_prefers_global_over_greedy():
    """Track 0 is nearest to detection 0, but taking it would leave track 1 without
    a detection; the global optimum pairs (0, 1) and (1, 0)."""
    pred = np.array([[0.0, 0.0, 0.0], [300.0, 0.0, 0.0]])
    z = np.array([[100.0, 0.0, 0.0], [-250.0, 0.0, 0.0]])
    cov = np.repeat(np.eye(3)[None] * 50.0**2, 2, axis=0)
    ti, dj = gnn_associate(pred, cov, z, cov, gate=16.0)
    assert sorted(zip(ti.tolist(), dj.tolist(), strict=True)) == [(0, 1), (1, 0)]


def test_gnn_associate_respects_gate_boundary():
    cov = np.eye(3)[None] * 100.0
    pred = np.zeros((1, 3))
    # S = 200 I; d^2 = x^2 / 200. Gate 9 -> |x| <= sqrt(1800).
    inside = np.array([[math.sqrt(1800.0) * 0.999, 0.0, 0.0]])
    outside = np.array([[math.sqrt(1800.0) * 1.001, 0.0, 0.0]])
    assert gnn_associate(pred, cov, inside, cov, 9.0)[0].size == 1
    assert gnn_associate(pred, cov, outside, cov, 9.0)[0].size == 0


# --- GNN tracker --------------------------------------------------------------------------


def _params(**kw) -> TrackerParams:
    base = dict(
        q_mps2=1.0,
        gate_probability=0.9999,
        confirm_m=2,
        confirm_n=3,
        delete_misses=3,
        max_coast_s=20.0,
        init_velocity_sigma_mps=500.0,
    )
    base.update(kw)
    return TrackerParams(**base)  # type: ignore[arg-type]


def _dets(t, pos, truth, sigma=20.0, rng=None):
    pos = np.asarray(pos, dtype=np.float64).reshape(-1, 3)
    m = pos.shape[0]
    if rng is not None:
        pos = pos + rng.normal(0.0, sigma, pos.shape)
    return Detections(
        time_s=float(t),
        radar=0,
        pos_m=pos,
        cov_m2=np.repeat(np.eye(3)[None] * sigma**2, m, axis=0),
        polar=np.zeros((m, 3)),
        truth=np.asarray(truth, dtype=np.int64).reshape(m),
    )


def _everywhere(p):
    return np.ones(p.shape[0], dtype=bool)


def _nowhere(p):
    return np.zeros(p.shape[0], dtype=bool)


P0 = np.array(
    [
        [0.0, 0.0, 5_000.0],
        [50_000.0, 0.0, 3_000.0],
        [0.0, 60_000.0, 8_000.0],
        [-40_000.0, -40_000.0, 1_000.0],
    ]
)
V0 = np.array([[250.0, 0.0, 0.0], [0.0, -200.0, 10.0], [-150.0, -150.0, 0.0], [100.0, 240.0, -5.0]])


def test_tracker_one_confirmed_track_per_target_with_stable_ids():
    tracker = GnnTracker(_params())
    rng = np.random.default_rng(11)
    state = TrackState.empty()
    dt, sigma = 2.0, 20.0
    ids_by_truth: dict[int, int] = {}
    filt_err, meas_err = [], []
    confirmed_reported: list[int] = []
    for k in range(30):
        t = k * dt
        truth_pos = P0 + V0 * t
        det = _dets(t, truth_pos, np.arange(4), sigma, rng)
        state, rep = tracker.step(state, det, _everywhere)
        confirmed_reported += rep.confirmed_ids.tolist()
        assert state.n == 4  # every detection is associated: no spurious tracks
        if k >= 1:
            assert state.confirmed.all()
            for tid, tr in zip(state.track_id.tolist(), state.truth.tolist(), strict=True):
                assert ids_by_truth.setdefault(tr, tid) == tid
        if k >= 20:
            order = np.argsort(state.truth)
            filt_err.append(np.linalg.norm(state.x[order, :3] - truth_pos, axis=1))
            meas_err.append(np.linalg.norm(det.pos_m - truth_pos, axis=1))
    assert sorted(ids_by_truth) == [0, 1, 2, 3]
    assert len(set(ids_by_truth.values())) == 4
    assert sorted(confirmed_reported) == sorted(ids_by_truth.values())
    assert state.next_id == 4
    # Filtered positions beat the raw measurements, and velocities are learnt.
    assert np.mean(filt_err) < np.mean(meas_err)
    assert np.mean(filt_err) < 3.0 * sigma
    order = np.argsort(state.truth)
    assert np.max(np.abs(state.x[order, 3:] - V0)) < 10.0
    np.testing.assert_array_equal(state.hits, 30)
    np.testing.assert_array_equal(state.misses, 0)


def _track_one(tracker, n_scans, dt=2.0):
    state = TrackState.empty()
    for k in range(n_scans):
        t = k * dt
        state, _ = tracker.step(state, _dets(t, P0[0] + V0[0] * t, [0]), _everywhere)
    return state


def test_tracker_deletes_after_consecutive_misses_in_coverage():
    tracker = GnnTracker(_params(delete_misses=3, max_coast_s=100.0))
    state = _track_one(tracker, 5)
    assert state.n == 1 and state.confirmed[0]
    tid = int(state.track_id[0])
    for miss in range(1, 4):
        empty = _dets(8.0 + 2.0 * miss, np.zeros((0, 3)), [])
        state, rep = tracker.step(state, empty, _everywhere)
        if miss < 3:
            assert state.n == 1 and int(state.misses[0]) == miss
            assert rep.deleted_ids.size == 0
        else:
            assert state.n == 0
            assert rep.deleted_ids.tolist() == [tid] and rep.deleted_truth.tolist() == [0]


def test_tracker_out_of_coverage_coasts_until_max_coast():
    tracker = GnnTracker(_params(delete_misses=3, max_coast_s=20.0))
    state = _track_one(tracker, 5)  # last update at t = 8
    tid = int(state.track_id[0])
    for t in np.arange(10.0, 30.0, 2.0):  # up to t = 28: 20 s since the update
        state, rep = tracker.step(state, _dets(t, np.zeros((0, 3)), []), _nowhere)
        assert state.n == 1 and int(state.misses[0]) == 0 and rep.deleted_ids.size == 0
    state, rep = tracker.step(state, _dets(30.0, np.zeros((0, 3)), []), _nowhere)
    assert state.n == 0 and rep.deleted_ids.tolist() == [tid]


def test_m_of_n_single_detection_never_confirms():
    tracker = GnnTracker(_params(confirm_m=2, confirm_n=3))
    state, rep = tracker.step(TrackState.empty(), _dets(0.0, P0[0], [0]), _everywhere)
    assert state.n == 1 and not state.confirmed[0] and rep.confirmed_ids.size == 0
    for t in (2.0, 4.0, 6.0):
        state, rep = tracker.step(state, _dets(t, np.zeros((0, 3)), []), _everywhere)
        assert not state.confirmed.any()
        assert rep.confirmed_ids.size == 0 and rep.deleted_ids.size == 0  # tentative: silent
    assert state.n == 0


def test_m_of_n_two_hits_in_three_confirms():
    tracker = GnnTracker(_params(confirm_m=2, confirm_n=3))
    none = np.zeros((0, 3))
    state, _ = tracker.step(TrackState.empty(), _dets(0.0, P0[0], [0]), _everywhere)
    state, rep = tracker.step(state, _dets(2.0, none, []), _everywhere)
    assert rep.confirmed_ids.size == 0
    state, rep = tracker.step(state, _dets(4.0, P0[0] + 4.0 * V0[0], [0]), _everywhere)
    assert rep.confirmed_ids.tolist() == [0] and rep.confirmed_truth.tolist() == [0]
    assert state.confirmed.tolist() == [True]


def test_m_of_n_window_expires():
    """hit, miss, miss: the window of 3 closes without a second hit; the next detection
    starts a new track with a fresh id."""
    tracker = GnnTracker(_params(confirm_m=2, confirm_n=3))
    none = np.zeros((0, 3))
    state, _ = tracker.step(TrackState.empty(), _dets(0.0, P0[0], [0]), _everywhere)
    state, _ = tracker.step(state, _dets(2.0, none, []), _everywhere)
    state, _ = tracker.step(state, _dets(4.0, none, []), _everywhere)
    assert state.n == 0
    state, rep = tracker.step(state, _dets(6.0, P0[0] + 6.0 * V0[0], [0]), _everywhere)
    assert state.track_id.tolist() == [1] and not state.confirmed[0]
    assert rep.confirmed_ids.size == 0


def test_confirm_m_one_confirms_at_birth():
    tracker = GnnTracker(_params(confirm_m=1, confirm_n=1))
    state, rep = tracker.step(TrackState.empty(), _dets(0.0, P0[:2], [0, 1]), _everywhere)
    assert state.confirmed.tolist() == [True, True]
    assert sorted(rep.confirmed_ids.tolist()) == [0, 1]
    assert sorted(rep.confirmed_truth.tolist()) == [0, 1]


def test_new_track_starts_at_detection_with_declared_velocity_sigma():
    tracker = GnnTracker(_params(init_velocity_sigma_mps=300.0))
    det = _dets(5.0, P0[1], [7], sigma=40.0)
    state, _ = tracker.step(TrackState.empty(), det, _everywhere)
    np.testing.assert_array_equal(state.x[0, :3], P0[1])
    np.testing.assert_array_equal(state.x[0, 3:], 0.0)
    np.testing.assert_allclose(state.P[0, :3, :3], np.eye(3) * 1600.0)
    np.testing.assert_allclose(state.P[0, 3:, 3:], np.eye(3) * 300.0**2)
    assert state.born_s.tolist() == [5.0] and state.truth.tolist() == [7]
