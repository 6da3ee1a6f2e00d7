"""Tests of skydome.tracking: Kalman kernels, motion models, IMM, gating and clustered
association, track management, the GNN tracker."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm
from scipy.optimize import linear_sum_assignment
from scipy.stats import chi2

from skydome.sensors.base import Detections
from skydome.tracking import GnnTracker, TrackState, check_tracker
from skydome.tracking import gating as gating_mod
from skydome.tracking.association import gate_threshold, gnn_associate, min_weight_matching
from skydome.tracking.base import Kinematics
from skydome.tracking.gating import gate_pairs
from skydome.tracking.imm import ImmFilter, markov_transition
from skydome.tracking.kalman import (
    H_POS,
    CaModel,
    CtModel,
    CvModel,
    KalmanFilter,
    ca_model,
    ct_model,
    cv_model,
    det3,
    inv3,
    kf_predict,
    kf_update_joseph,
)
from skydome.tracking.management import score_increment
from skydome.tracking.params import TrackerParams

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


# --- CA and CT models, small linear algebra ------------------------------------------------


def _van_loan(a: np.ndarray, g: np.ndarray, q: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """F = e^{A dt}, Q = int_0^dt e^{A s} G q^2 G^T e^{A^T s} ds (Van Loan, IEEE TAC 1978)."""
    d = a.shape[0]
    m = np.zeros((2 * d, 2 * d))
    m[:d, :d] = -a
    m[:d, d:] = q * q * g @ g.T
    m[d:, d:] = a.T
    e = expm(m * dt)
    f = e[d:, d:].T
    return f, f @ e[:d, d:]


@pytest.mark.parametrize(("dt", "q"), [(1.0, 1.0), (0.5, 20.0), (4.0, 3.0)])
def test_ca_model_matches_van_loan_discretisation(dt, q):
    """White jerk into a [p, v, a] chain per axis (Bar-Shalom et al., sec. 6.2.3)."""
    a = np.zeros((9, 9))
    a[0:3, 3:6] = np.eye(3)
    a[3:6, 6:9] = np.eye(3)
    g = np.vstack([np.zeros((6, 3)), np.eye(3)])
    f_ref, q_ref = _van_loan(a, g, q, dt)
    f, qd = ca_model(dt, q)
    np.testing.assert_allclose(f, f_ref, atol=1e-12)
    np.testing.assert_allclose(qd, q_ref, rtol=1e-9, atol=1e-12 * q * q)


def test_ct_model_moves_exactly_along_the_circle():
    """A target on a horizontal circle of rate w: F(T) maps its state at t to its state at
    t + T exactly (Bar-Shalom et al., eq. 11.7.1-4); w -> 0 is the CV model."""
    w, v, rad = 0.2, 250.0, 250.0 / 0.2

    def state(t: float) -> np.ndarray:
        th = w * t
        return np.array(
            [rad * np.sin(th), rad * (1 - np.cos(th)), 3e3, v * np.cos(th), v * np.sin(th), 4.0]
        )

    f, q = ct_model(1.7, w, 5.0)
    for t in (0.0, 3.0, 11.0):
        expect = state(t + 1.7)
        expect[2] = 3e3 + 4.0 * 1.7
        start = state(t)
        np.testing.assert_allclose(f @ start, expect, rtol=1e-12, atol=1e-8)
    np.testing.assert_allclose(q, cv_model(1.7, 5.0)[1])
    np.testing.assert_allclose(ct_model(2.0, 1e-12, 1.0)[0], cv_model(2.0, 1.0)[0])
    np.testing.assert_allclose(ct_model(2.0, 1e-6, 1.0)[0], cv_model(2.0, 1.0)[0], atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(seed=seeds, n=st.integers(1, 40))
def test_inv3_det3_match_numpy(seed, n):
    rng = np.random.default_rng(seed)
    a = np.stack([random_spd(rng, 3, 10.0 ** rng.uniform(-3, 8), cond=1e5) for _ in range(n)])
    h = n // 2  # the first half made non-symmetric
    a[:h] += rng.standard_normal((h, 3, 3)) * np.abs(a[:h]).max(axis=(1, 2))[:, None, None] * 0.1
    inv, det = inv3(a)
    # Both are backward stable: they agree to about cond(a) * eps (cond up to ~1e5 here).
    np.testing.assert_allclose(det, np.linalg.det(a), rtol=1e-7)
    np.testing.assert_allclose(det3(a), det, rtol=1e-12)
    np.testing.assert_allclose(inv @ a, np.broadcast_to(np.eye(3), a.shape), atol=1e-7)


def test_joseph_update_nine_states_equals_information_form():
    rng = np.random.default_rng(5)
    p = np.stack([random_spd(rng, 9, 100.0, cond=1e3) for _ in range(4)])
    r = np.stack([random_spd(rng, 3, 50.0, cond=10.0) for _ in range(4)])
    h = np.hstack([np.eye(3), np.zeros((3, 6))])
    _, pn, _, _ = kf_update_joseph(rng.standard_normal((4, 9)), p, rng.standard_normal((4, 3)), r)
    for i in range(4):
        ref = np.linalg.inv(np.linalg.inv(p[i]) + h.T @ np.linalg.inv(r[i]) @ h)
        np.testing.assert_allclose(pn[i], ref, rtol=1e-7, atol=1e-9 * np.abs(ref).max())


def test_ca_filter_follows_an_accelerating_target_where_cv_lags():
    """Constant 3 g along x: the CA filter's steady-state error is zero-mean, the CV filter's
    (same noise level) lags by a bias of order a / q-dependent gain (Bar-Shalom sec. 6.5)."""
    rng = np.random.default_rng(2)
    n, steps, acc = 200, 40, 3 * 9.80665
    r = np.repeat(np.eye(3)[None] * 30.0**2, n, axis=0)
    t = np.arange(steps, dtype=float)
    truth = np.zeros((steps, 3))
    truth[:, 0] = 200.0 * t + 0.5 * acc * t**2
    z = truth[None] + rng.normal(0.0, 30.0, (n, steps, 3))
    errs = {}
    for name, f in (("ca", KalmanFilter(CaModel(2.0))), ("cv", KalmanFilter(CvModel(2.0)))):
        k = f.initiate(z[:, 0], r, 300.0)
        e = []
        for i in range(1, steps):
            k = f.update(f.predict(k, 1.0), z[:, i], r)
            e.append(k.x[:, 0] - truth[i, 0])
        errs[name] = np.array(e)[20:]
    assert abs(errs["ca"].mean()) < 3.0
    assert errs["cv"].mean() < -20.0  # behind the target
    assert np.sqrt(np.mean(errs["ca"] ** 2)) < 0.5 * np.sqrt(np.mean(errs["cv"] ** 2))


# --- IMM ----------------------------------------------------------------------------------


def test_markov_transition_is_a_continuous_time_chain():
    soj = (60.0, 15.0)
    np.testing.assert_allclose(markov_transition(soj, 0.0), np.eye(2), atol=1e-15)
    a, b = markov_transition(soj, 1.3), markov_transition(soj, 2.2)
    np.testing.assert_allclose(a @ b, markov_transition(soj, 3.5), rtol=1e-12)  # Chapman-Kolmogorov
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    # Two states: p_01(dt) = l01 / (l01 + l10) (1 - exp(-(l01 + l10) dt)).
    l01, l10 = 1 / 60.0, 1 / 15.0
    assert a[0, 1] == pytest.approx(l01 / (l01 + l10) * (1 - math.exp(-(l01 + l10) * 1.3)))
    # Long run: time shares proportional to the sojourn times.
    np.testing.assert_allclose(markov_transition(soj, 1e4)[0], [0.8, 0.2], atol=1e-9)
    three = markov_transition((10.0, 5.0, 5.0), 0.7)
    np.testing.assert_allclose(three.sum(axis=1), 1.0)
    assert three[0, 1] == pytest.approx(three[0, 2])


def test_imm_of_identical_models_is_the_kalman_filter():
    """Mixing identical Gaussians changes nothing: an IMM whose modes share one model
    reproduces the single-model Kalman filter exactly."""
    rng = np.random.default_rng(9)
    n = 30
    z0 = rng.normal(0.0, 1e4, (n, 3))
    r = np.repeat(np.eye(3)[None] * 40.0**2, n, axis=0)
    kf = KalmanFilter(CvModel(3.0))
    imm = ImmFilter((CvModel(3.0), CvModel(3.0), CvModel(3.0)), (20.0, 5.0, 9.0))
    a, b = kf.initiate(z0, r, 200.0), imm.initiate(z0, r, 200.0)
    for k in range(12):
        dt = 0.5 + 0.25 * (k % 3)
        a, b = kf.predict(a, dt), imm.predict(b, dt)
        np.testing.assert_allclose(b.x, a.x, rtol=1e-10, atol=1e-6)
        np.testing.assert_allclose(b.P, a.P, rtol=1e-9, atol=1e-6)
        z = z0 + rng.normal(0.0, 40.0, (n, 3))
        a, b = kf.update(a, z, r), imm.update(b, z, r)
        np.testing.assert_allclose(b.x, a.x, rtol=1e-10, atol=1e-6)
        np.testing.assert_allclose(b.P, a.P, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(b.mode_prob.sum(axis=1), 1.0)


def _turning_target(v=300.0, n_g=7.0, before=30.0, after=30.0):
    """Straight, a 180-degree level turn at n_g g, straight back: times, positions, turn mask."""
    w = n_g * 9.80665 / v
    t_turn = math.pi / w
    t = np.arange(0.0, before + t_turn + after, 1.0)
    pos = np.empty((t.size, 3))
    s = t - before
    straight1 = t <= before
    turning = (t > before) & (t <= before + t_turn)
    straight2 = t > before + t_turn
    pos[straight1] = np.column_stack([v * t[straight1], 0 * t[straight1], 5e3 + 0 * t[straight1]])
    st_ = s[turning]
    pos[turning] = np.column_stack(
        [v * before + v / w * np.sin(w * st_), v / w * (1 - np.cos(w * st_)), 5e3 + 0 * st_]
    )
    s2 = t[straight2] - before - t_turn
    pos[straight2] = np.column_stack([v * before - v * s2, 2 * v / w + 0 * s2, 5e3 + 0 * s2])
    return t, pos, turning


def _rmse(f, z, r, pos, mask):
    k = f.initiate(z[:, 0], r, 300.0)
    err, mu = [np.zeros(z.shape[0])], [np.zeros(z.shape[0])]
    for i in range(1, pos.shape[0]):
        k = f.update(f.predict(k, 1.0), z[:, i], r)
        err.append(np.sum((k.x[:, :3] - pos[i]) ** 2, axis=1))
        mu.append(k.mode_prob[:, -1] if k.mode_prob.shape[1] > 1 else np.zeros(z.shape[0]))
    e = np.array(err)
    settle = np.arange(pos.shape[0]) >= 5
    return (
        math.sqrt(e[settle].mean()),
        math.sqrt(e[mask].mean()),
        np.array(mu).mean(axis=1),
    )


def test_imm_beats_cv_on_a_7g_turn():
    """A 300 m/s target flies straight, turns 180 degrees at 7 g, flies straight; 50 m noise,
    1 s scans, 200 Monte Carlo runs. The IMM (quiet CV + manoeuvre mode) has a lower
    position RMSE than the CV filter tuned for straight flight (same quiet noise), and than
    a CV filter with the manoeuvre mode's noise, over the whole flight; in the turn it beats
    the quiet CV filter by far, and the manoeuvre mode takes over during the turn."""
    t, pos, turning = _turning_target()
    rng = np.random.default_rng(7)
    runs = 200
    z = pos[None] + rng.normal(0.0, 50.0, (runs, t.size, 3))
    r = np.repeat(np.eye(3)[None] * 50.0**2, runs, axis=0)
    imm = ImmFilter((CvModel(1.0), CvModel(70.0)), (60.0, 15.0))
    all_imm, turn_imm, mu = _rmse(imm, z, r, pos, turning)
    all_cv, turn_cv, _ = _rmse(KalmanFilter(CvModel(1.0)), z, r, pos, turning)
    all_cvh, _, _ = _rmse(KalmanFilter(CvModel(70.0)), z, r, pos, turning)
    assert all_imm < all_cv and all_imm < all_cvh, (all_imm, all_cv, all_cvh)
    assert all_imm < 0.85 * all_cvh
    assert turn_imm < 0.2 * turn_cv, (turn_imm, turn_cv)
    # The manoeuvre mode takes over within two scans of the turn's start, and not before.
    assert mu[turning][2:].min() > 0.75 and mu[10:30].max() < 0.3


def test_imm_keeps_covariances_symmetric_positive_definite():
    t, pos, _ = _turning_target()
    rng = np.random.default_rng(3)
    runs = 20
    z = pos[None] + rng.normal(0.0, 50.0, (runs, t.size, 3))
    r = np.repeat(np.eye(3)[None] * 50.0**2, runs, axis=0)
    w = 7 * 9.80665 / 300.0
    imm = ImmFilter((CvModel(1.0), CtModel(w, 5.0), CtModel(-w, 5.0)), (60.0, 15.0, 15.0))
    k = imm.initiate(z[:, 0], r, 300.0)
    for i in range(1, t.size):
        k = imm.update(imm.predict(k, 1.0), z[:, i], r)
        for P in (k.P, k.mode_P.reshape(-1, 6, 6)):
            np.testing.assert_array_equal(P, P.transpose(0, 2, 1))
            assert np.linalg.eigvalsh(P).min() > 0.0
        np.testing.assert_allclose(k.mode_prob.sum(axis=1), 1.0)


# --- clustered assignment, scalable gating -----------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    seed=seeds,
    n=st.integers(0, 13),
    m=st.integers(0, 13),
    density=st.floats(0.02, 0.6),
    max_enum=st.integers(1, 5),
)
def test_min_weight_matching_equals_dense_assignment(seed, n, m, density, max_enum):
    """Every path of the clustered solver (isolated pairs, stars, enumerated clusters of each
    size, large clusters through scipy) against one dense assignment on the whole matrix."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n, m)) < density
    w = np.where(mask, rng.uniform(-10.0, 3.0, (n, m)), 0.0)
    ri, cj = np.nonzero(mask)
    r, c = min_weight_matching(ri, cj, w[ri, cj], n, m, max_enum=max_enum)
    assert r.dtype == np.int64 and c.dtype == np.int64
    assert np.unique(r).size == r.size and np.unique(c).size == c.size
    assert mask[r, c].all() and (w[r, c] < 0).all()
    best = 0.0
    if n and m:
        a, b = linear_sum_assignment(np.minimum(w, 0.0))
        best = float(np.minimum(w, 0.0)[a, b].sum())
    assert float(w[r, c].sum()) == pytest.approx(best, abs=1e-9)


def test_gate_pairs_tree_path_equals_dense_path(monkeypatch):
    """The k-d tree coarse gate prunes nothing the chi-square gate keeps: same pairs as the
    dense test, including tracks with many detections in their gate (k grows)."""
    rng = np.random.default_rng(4)
    n, m = 400, 600
    pred = rng.uniform(-2e4, 2e4, (n, 3))
    cov = np.stack([random_spd(rng, 3, 10.0 ** rng.uniform(3, 6), cond=50) for _ in range(n)])
    z = rng.uniform(-2e4, 2e4, (m, 3))
    z[:40] = pred[0] + rng.normal(0.0, 300.0, (40, 3))  # a crowded gate
    r = np.stack([random_spd(rng, 3, 10.0 ** rng.uniform(3, 5), cond=20) for _ in range(m)])
    gamma = gate_threshold(0.999)
    tree = gate_pairs(pred, cov, z, r, gamma)
    monkeypatch.setattr(gating_mod, "DENSE_PAIRS", 10**9)
    dense = gate_pairs(pred, cov, z, r, gamma)
    assert tree.n == dense.n > 100
    np.testing.assert_array_equal(tree.track, dense.track)
    np.testing.assert_array_equal(tree.det, dense.det)
    np.testing.assert_allclose(tree.d2, dense.d2)
    assert np.sum(tree.track == 0) >= 30


# --- management, the tracker with other filters ---------------------------------------------


def test_track_score_increments_follow_blackman():
    """dL = ln(Pd / beta) - (d^2 + ln|S| + 3 ln 2 pi) / 2 on a hit, ln(1 - Pd) on a miss,
    0 out of coverage (Blackman & Popoli sec. 6.2.3)."""
    hit = np.array([True, False, False])
    expected = np.array([True, True, False])
    d2 = np.array([2.0, 9.0, 9.0])
    logdet = np.array([20.0, 0.0, 0.0])
    out = score_increment(hit, expected, d2, logdet, 0.9, 1e-12)
    ref0 = math.log(0.9 / 1e-12) - 0.5 * (2.0 + 20.0 + 3 * math.log(2 * math.pi))
    np.testing.assert_allclose(out, [ref0, math.log(0.1), 0.0])


def test_tracker_drops_tracks_whose_covariance_grows_too_large():
    tracker = GnnTracker(_params(delete_misses=100, max_coast_s=1e4, q_mps2=50.0))
    state = _track_one(tracker, 4)
    tracker = GnnTracker(
        _params(delete_misses=100, max_coast_s=1e4, q_mps2=50.0, max_position_sigma_m=2000.0)
    )
    gone_at = None
    for t in np.arange(8.0, 200.0, 2.0):
        state, rep = tracker.step(state, _dets(t, np.zeros((0, 3)), []), _everywhere)
        if state.n == 0:
            gone_at = t
            assert rep.deleted_ids.tolist() == [0]
            break
    assert gone_at is not None
    # q^2 t^3 / 3 per axis reaches 2000^2 m^2 after ~ (3 * 4e6 / 2500)^(1/3) = 17 s of coasting.
    assert 10.0 < gone_at - 6.0 < 25.0


def test_implausibly_fast_tentative_tracks_are_dropped():
    """Two detections 5 km apart in 1 s: no 5 km/s track exists when the fastest
    plausible target is 1 km/s (initiation is velocity-gated: the plots are never
    paired), one does otherwise."""
    for max_speed, survives in ((1000.0, False), (8000.0, True)):
        tracker = GnnTracker(
            _params(
                max_speed_mps=max_speed, init_velocity_sigma_mps=3000.0, confirm_m=3, confirm_n=4
            )  # fmt: skip
        )
        state, _ = tracker.step(TrackState.empty(), _dets(0.0, [0.0, 0.0, 5e3], [0]), _everywhere)
        state, _ = tracker.step(state, _dets(1.0, [5e3, 0.0, 5e3], [0]), _everywhere)
        fast = np.linalg.norm(state.x[:, 3:], axis=1) > 2_000.0
        assert bool(fast.any()) is survives


def test_confirmed_tracks_associate_before_tentative_ones():
    """A tentative track sitting exactly on a detection near the edge of a confirmed track's
    gate: by cost d^2 + ln|S| alone the tentative track would win (checked below), but
    confirmed tracks are associated first and keep their detection."""
    tracker = GnnTracker(_params())
    state = TrackState.empty()
    for t in (0.0, 2.0, 4.0, 6.0):
        state, _ = tracker.step(state, _dets(t, P0[0] + V0[0] * t, [0], sigma=40.0), _everywhere)
    assert state.confirmed.tolist() == [True]
    t = 8.0
    pred_x, pred_p = kf_predict(state.x, state.P, *cv_model(t - 6.0, 1.0))
    s_c = pred_p[0, :3, :3] + np.eye(3) * 1600.0
    # A detection at d^2 = 18 from the confirmed track's prediction (gate: 21.1).
    z = pred_x[0, :3] + np.array([math.sqrt(18.0 * s_c[0, 0]), 0.0, 0.0]) * 0.999
    d2_c = float((z - pred_x[0, :3]) @ np.linalg.solve(s_c, z - pred_x[0, :3]))
    # A tentative track born on that very spot one scan earlier (zero velocity).
    state, _ = tracker.step(state, _dets(7.0, [z], [-1], sigma=40.0), _nowhere)
    assert state.n == 2 and not state.confirmed[1]
    p_t = kf_predict(state.x[1:], state.P[1:], *cv_model(1.0, 1.0))[1][0, :3, :3]
    cost_c = d2_c + math.log(np.linalg.det(s_c))
    cost_t = math.log(np.linalg.det(p_t + np.eye(3) * 1600.0))
    assert cost_t < cost_c  # a single-stage GNN would hand the detection to the tentative
    state, _ = tracker.step(state, _dets(t, [z], [0], sigma=40.0), _everywhere)
    assert int(state.hits[0]) == 5 and int(state.misses[0]) == 0
    assert int(state.hits[1]) == 1


def test_trackstate_from_the_original_twelve_fields_gets_defaults():
    n = 3
    z = np.zeros(n, dtype=np.int64)
    s = TrackState(0.0, 3, np.zeros((n, 6)), np.zeros((n, 6, 6)), np.arange(n), z, z, z,
                   np.ones(n, bool), np.zeros(n), np.zeros(n), z)  # fmt: skip
    assert s.quality.shape == (n,) and s.mode_x.shape == (n, 0, 6)
    assert s.mode_P.shape == (n, 0, 6, 6) and s.mode_prob.shape == (n, 0)
    assert s.select(np.array([2])).quality.shape == (1,)


@pytest.mark.parametrize("motion", ["cv", "ca", "imm"], ids=["cv", "ca", "imm"])
def test_every_motion_model_holds_one_track_per_target(motion):
    tracker = GnnTracker(_params(motion_model=motion, q_mps2=1.0, jerk_q_mps3=1.0))
    rng = np.random.default_rng(11)
    state = TrackState.empty()
    for k in range(25):
        t = k * 2.0
        state, _ = tracker.step(state, _dets(t, P0 + V0 * t, np.arange(4), 20.0, rng), _everywhere)
        assert state.n == 4
    assert state.confirmed.all() and state.next_id == 4
    order = np.argsort(state.truth)
    np.testing.assert_allclose(state.x[order, :3], P0 + V0 * 48.0, atol=60.0)
    # The CA model also estimates acceleration: its velocity is noisier.
    np.testing.assert_allclose(state.x[order, 3:], V0, atol=25.0 if motion == "ca" else 10.0)
    k_modes = {"cv": 0, "ca": 1, "imm": 2}[motion]
    assert state.mode_prob.shape == (4, k_modes)
    assert np.linalg.eigvalsh(state.P).min() > 0.0


def test_two_radars_of_different_rates_and_accuracies_fuse_into_one_picture():
    """A precise slow radar (10 m, every 4 s) and a coarse fast one (150 m, every 1 s) on the
    same targets: one track per target, and the fused picture beats the coarse radar alone
    (centralised sequential measurement fusion)."""
    rng = np.random.default_rng(21)

    def run(use_precise: bool) -> float:
        tracker = GnnTracker(_params(q_mps2=1.0))
        state = TrackState.empty()
        errs = []
        for k in range(60):
            t = float(k)
            pos = P0 + V0 * t
            for radar, period, sigma in ((0, 1, 150.0), (1, 4, 10.0)):
                if k % period or (radar == 1 and not use_precise):
                    continue
                det = _dets(t, pos, np.arange(4), sigma, rng)
                det = Detections(det.time_s, radar, det.pos_m, det.cov_m2, det.polar, det.truth)
                state, _ = tracker.step(state, det, _everywhere)
                assert state.n == 4
            if k >= 30:
                order = np.argsort(state.truth)
                errs.append(np.linalg.norm(state.x[order, :3] - pos, axis=1))
        assert state.next_id == 4
        return float(np.sqrt(np.mean(np.square(errs))))

    fused, coarse = run(True), run(False)
    assert fused < 0.5 * coarse, (fused, coarse)


def test_kinematics_concat_adopts_layout_of_nonempty_side():
    imm = ImmFilter((CvModel(1.0), CvModel(30.0)), (60.0, 15.0))
    a = Kinematics.from_positions(np.zeros((0, 3)), np.zeros((0, 3, 3)), 100.0)
    b = imm.initiate(np.ones((2, 3)), np.repeat(np.eye(3)[None], 2, axis=0), 100.0)
    c = Kinematics.concat(a, b)
    assert c.mode_x.shape == (2, 2, 6) and c.mode_prob.shape == (2, 2)


# --- the tracker contract ------------------------------------------------------------------


@pytest.mark.parametrize("motion", ["cv", "ca", "imm"], ids=["cv", "ca", "imm"])
def test_gnn_tracker_passes_the_tracker_contract(motion):
    check_tracker(GnnTracker(_params(motion_model=motion, q_mps2=1.0, jerk_q_mps3=1.0)))


@dataclasses.dataclass(frozen=True)
class _ReusesIds:
    inner: GnnTracker

    def step(self, state, det, coverage):
        out, rep = self.inner.step(state, det, coverage)
        return dataclasses.replace(out, next_id=0, track_id=np.arange(out.n)), rep


@dataclasses.dataclass(frozen=True)
class _Asymmetric:
    inner: GnnTracker

    def step(self, state, det, coverage):
        out, rep = self.inner.step(state, det, coverage)
        P = out.P.copy()
        P[:, 0, 3] += 1.0
        return dataclasses.replace(out, P=P), rep


@pytest.mark.parametrize("broken", [_ReusesIds, _Asymmetric], ids=["reused-ids", "asymmetric-P"])
def test_tracker_contract_catches_broken_trackers(broken):
    with pytest.raises(AssertionError):
        check_tracker(broken(GnnTracker(_params(q_mps2=1.0))))


@pytest.mark.parametrize("dim", [6, 9])
def test_compiled_kalman_kernels_equal_the_numpy_forms(dim: int) -> None:
    """The compiled predict and Joseph update (one track at a time, fused multiply-add
    chains as BLAS accumulates) against the numpy forms (stacked matmuls): equal to
    1e-12 here, bit for bit on the project's machines (`tools/compare_runs.py`); new
    tracks' exact zeros, 6 and 9 states, empty input."""
    from skydome.tracking.kalman import kf_predict_reference, kf_update_joseph_reference

    rng = np.random.default_rng(dim)
    n = 3000
    a = rng.normal(size=(n, dim, dim)) * np.r_[[300.0] * 3, [40.0] * (dim - 3)][None, :, None]
    p = a @ a.transpose(0, 2, 1) + np.eye(dim)
    p[:50, :3, 3:] = 0.0  # a new track: no position-velocity correlation
    p[:50, 3:, :3] = 0.0
    x, z = rng.normal(size=(n, dim)) * 1e4, rng.normal(size=(n, 3)) * 1e4
    b = rng.normal(size=(n, 3, 3)) * 30.0
    rr = b @ b.transpose(0, 2, 1) + np.eye(3)
    f = np.eye(dim) + 2.0 * np.eye(dim, k=3)
    q = np.diag(rng.uniform(0.1, 10.0, dim))
    got = kf_predict(x, p, f, q) + kf_update_joseph(x, p, z, rr)
    want = kf_predict_reference(x, p, f, q) + kf_update_joseph_reference(x, p, z, rr)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        scale = np.abs(w).max()
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12 * scale)
    updated = got[3]
    assert np.array_equal(updated, updated.transpose(0, 2, 1))  # symmetric exactly
    none = kf_update_joseph(x[:0], p[:0], z[:0], rr[:0])
    assert [v.shape for v in none] == [(0, dim), (0, dim, dim), (0, 3), (0, 3, 3)]
