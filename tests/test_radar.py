"""Tests of skydome.sensors.radar: Swerling I detection, coverage, measurement noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from scipy.stats import ncx2

from skydome.geo import horizon_range_m, polar_to_map, radar_geometry
from skydome.sensors.params import RadarParams
from skydome.sensors.radar import (
    coverage_mask,
    detect,
    polar_covariance,
    swerling1_pd,
    swerling1_snr_for_pd,
)


def make_radar(
    *,
    pos=(0.0, 0.0, 20.0),
    ref_range_m=100_000.0,
    ref_rcs_m2=1.0,
    ref_snr=1e6,
    pfa=1e-6,
    max_range_m=400_000.0,
    min_el_deg=-2.0,
    max_el_deg=85.0,
    az_center_deg=0.0,
    az_half_width_deg=180.0,
    sigma_range_m=50.0,
    sigma_az_rad=2e-3,
    sigma_el_rad=3e-3,
) -> RadarParams:
    def a(x: float) -> np.ndarray:
        return np.array([x], dtype=np.float64)

    return RadarParams(
        names=("r0",),
        pos_m=np.array([pos], dtype=np.float64),
        ref_range_m=a(ref_range_m),
        ref_rcs_m2=a(ref_rcs_m2),
        ref_snr=a(ref_snr),
        pfa=a(pfa),
        max_range_m=a(max_range_m),
        min_el_rad=a(math.radians(min_el_deg)),
        max_el_rad=a(math.radians(max_el_deg)),
        az_center_rad=a(math.radians(az_center_deg)),
        az_half_width_rad=a(math.radians(az_half_width_deg)),
        scan_period_s=a(5.0),
        sigma_range_m=a(sigma_range_m),
        sigma_az_rad=a(sigma_az_rad),
        sigma_el_rad=a(sigma_el_rad),
    )


def _binomial_ok(hits: int, n: int, p: float, k_sigma: float = 5.0) -> bool:
    return abs(hits - n * p) <= k_sigma * math.sqrt(n * p * (1.0 - p)) + 1.0


def _at(bearing_deg: float, ground_m: float, alt_m: float, origin=(0.0, 0.0)) -> list[float]:
    b = math.radians(bearing_deg)
    return [origin[0] + ground_m * math.sin(b), origin[1] + ground_m * math.cos(b), alt_m]


# --- Swerling I ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snr", "pfa"), [(0.0, 1e-6), (1.0, 1e-6), (10.0, 1e-4), (100.0, 1e-6), (1e3, 1e-8)]
)
def test_swerling1_pd_published_form(snr, pfa):
    """Swerling I, one pulse, square-law detector: Pd = exp(-V_T / (1 + SNR)) with the
    threshold V_T = -ln(Pfa) (Mahafza & Elsherbeni, *MATLAB Simulations for Radar Systems
    Design*, eq. 2.75; Richards, *Fundamentals of Radar Signal Processing*, eq. 6.99 with
    N = 1; Skolnik, *Introduction to Radar Systems*, 3rd ed., sec. 2.8)."""
    v_t = -math.log(pfa)
    assert float(swerling1_pd(snr, pfa)) == pytest.approx(math.exp(-v_t / (1.0 + snr)), rel=1e-12)
    assert float(swerling1_pd(snr, pfa)) == pytest.approx(pfa ** (1.0 / (1.0 + snr)), rel=1e-12)


def test_swerling1_pd_zero_snr_is_pfa_and_monotone():
    assert float(swerling1_pd(0.0, 1e-6)) == pytest.approx(1e-6)
    snr = np.logspace(-2, 5, 50)
    pd = swerling1_pd(snr, 1e-6)
    assert np.all(np.diff(pd) > 0) and pd[-1] < 1.0
    # Negative SNR is clipped to zero, never above Pfa's floor.
    assert float(swerling1_pd(-5.0, 1e-6)) == pytest.approx(1e-6)


def test_swerling1_required_snr_pd09_pfa1e6():
    """Pd = 0.9 at Pfa = 1e-6 needs ~21.1 dB mean SNR for a Swerling I target: about 8 dB
    of fluctuation loss over the ~13.2 dB of a steady target (Skolnik, 3rd ed., sec. 2.8).
    The steady-target figure is computed here independently from the Marcum Q function:
    Pd = Q1(sqrt(2 SNR), sqrt(2 V_T)) = P[noncentral chi2(2, 2 SNR) > 2 V_T]."""
    pfa, pd = 1e-6, 0.9
    snr_db = 10.0 * math.log10(float(swerling1_snr_for_pd(pd, pfa)))
    assert snr_db == pytest.approx(21.1, abs=0.1)
    v_t = -math.log(pfa)
    steady = brentq(lambda s: ncx2.sf(2.0 * v_t, 2, 2.0 * s) - pd, 1.0, 1e3)
    assert 10.0 * math.log10(steady) == pytest.approx(13.2, abs=0.1)
    assert snr_db - 10.0 * math.log10(steady) == pytest.approx(8.0, abs=0.3)


@settings(max_examples=200, deadline=None)
@given(pd=st.floats(1e-3, 0.999), log_pfa=st.floats(-12.0, -1.5))
def test_swerling1_snr_for_pd_inverts_pd(pd, log_pfa):
    pfa = 10.0**log_pfa
    if pd <= pfa:  # not reachable with SNR >= 0
        return
    snr = float(swerling1_snr_for_pd(pd, pfa))
    assert snr >= 0.0
    assert float(swerling1_pd(snr, pfa)) == pytest.approx(pd, rel=1e-9)


def test_swerling1_matches_square_law_detector_monte_carlo():
    """Independent model: complex Gaussian noise of unit power plus a Rayleigh (Swerling I)
    echo of mean power SNR, square-law detected against the threshold -ln(Pfa)."""
    rng = np.random.default_rng(20240601)
    n = 200_000
    pfa = 1e-2
    thr = -math.log(pfa)
    for snr in (0.0, 1.0, 5.0, 20.0):
        noise = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) / math.sqrt(2.0)
        echo = math.sqrt(snr) * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
        echo /= math.sqrt(2.0)
        hits = int(np.sum(np.abs(noise + echo) ** 2 > thr))
        assert _binomial_ok(hits, n, float(swerling1_pd(snr, pfa)))


# --- detect(): detection rate -------------------------------------------------------------


def _ref_snr(pd: float, pfa: float) -> float:
    # Independent of the code under test: Pd = Pfa^(1/(1+SNR)) solved for SNR.
    return math.log(pfa) / math.log(pd) - 1.0


@pytest.mark.parametrize(("ref_pd", "rcs_factor", "range_factor"), [
    (0.5, 1.0, 1.0),
    (0.5, 16.0, 2.0),  # 16x the RCS at twice the range: same SNR (R^4 law)
    (0.8, 0.5, 0.5 ** 0.25),  # half the RCS, range shrunk by 2^(-1/4): same SNR
])  # fmt: skip
def test_detect_rate_matches_swerling1_pd(ref_pd, rcs_factor, range_factor):
    """Empirical detection rate over many identical targets within 5-sigma binomial bounds
    of the analytic Pd; the radar equation SNR ~ sigma / R^4 (Skolnik eq. 2.61)."""
    pfa = 1e-6
    n = 20_000
    target = _at(30.0, 80_000.0, 3_000.0)
    slant = float(radar_geometry(np.array([[0.0, 0.0, 20.0]]), np.array([target])).slant_m[0, 0])
    radars = make_radar(
        ref_range_m=slant / range_factor, ref_rcs_m2=1.0, ref_snr=_ref_snr(ref_pd, pfa), pfa=pfa
    )
    pos = np.repeat(np.array([target]), n, axis=0)
    rcs = np.full(n, rcs_factor)
    det = detect(radars, 0, 5.0, pos, rcs, np.arange(n), np.random.default_rng(7))
    assert _binomial_ok(det.n, n, ref_pd)
    assert np.unique(det.truth).size == det.n  # each target at most once per scan


def test_detect_rate_tracks_range_fourth_power():
    """At 1.5x the reference range, SNR drops by 1.5^4; the rate must follow."""
    pfa, ref_pd, n = 1e-6, 0.9, 20_000
    radar_pos = np.array([[0.0, 0.0, 20.0]])
    target = _at(200.0, 60_000.0, 5_000.0)
    slant = float(radar_geometry(radar_pos, np.array([target])).slant_m[0, 0])
    snr0 = _ref_snr(ref_pd, pfa)
    radars = make_radar(ref_range_m=slant / 1.5, ref_snr=snr0, pfa=pfa)
    det = detect(
        radars, 0, 0.0, np.repeat([target], n, axis=0), np.ones(n), np.arange(n),
        np.random.default_rng(99),
    )  # fmt: skip
    expected = pfa ** (1.0 / (1.0 + snr0 / 1.5**4))
    assert _binomial_ok(det.n, n, expected)
    assert not _binomial_ok(det.n, n, ref_pd)  # and clearly not the reference Pd


# --- detect(): coverage -------------------------------------------------------------------


def _scan_many(radars, targets, scans=50, seed=1):
    targets = np.asarray(targets, dtype=np.float64)
    rng = np.random.default_rng(seed)
    seen = np.zeros(targets.shape[0], dtype=int)
    for k in range(scans):
        det = detect(
            radars, 0, float(k), targets, np.ones(targets.shape[0]),
            np.arange(targets.shape[0]), rng,
        )  # fmt: skip
        np.add.at(seen, det.truth, 1)
    return seen


def test_beyond_horizon_never_detected():
    h1, h2 = 20.0, 100.0
    d_h = float(horizon_range_m(h1, h2))
    radars = make_radar(pos=(0.0, 0.0, h1), max_range_m=1e6)
    seen = _scan_many(radars, [_at(45.0, 0.99 * d_h, h2), _at(45.0, 1.01 * d_h, h2)])
    assert seen[0] > 45 and seen[1] == 0


def test_beyond_max_range_never_detected():
    radars = make_radar(max_range_m=150_000.0)
    g_in = _at(10.0, 140_000.0, 10_000.0)
    g_out = _at(10.0, 152_000.0, 10_000.0)
    slants = radar_geometry(radars.pos_m, np.array([g_in, g_out])).slant_m[0]
    assert slants[0] < 150_000.0 < slants[1]
    seen = _scan_many(radars, [g_in, g_out])
    assert seen[0] > 45 and seen[1] == 0


def test_outside_azimuth_sector_never_detected():
    radars = make_radar(az_center_deg=90.0, az_half_width_deg=30.0)
    bearings = [50.0, 70.0, 110.0, 130.0, 270.0]
    seen = _scan_many(radars, [_at(b, 50_000.0, 2_000.0) for b in bearings])
    assert (seen > 45).tolist() == [False, True, True, False, False]
    assert seen[[0, 3, 4]].sum() == 0


def test_azimuth_sector_wraps_through_north():
    radars = make_radar(az_center_deg=350.0, az_half_width_deg=20.0)
    bearings = [5.0, -15.0, 335.0, 15.0, 180.0]
    seen = _scan_many(radars, [_at(b, 50_000.0, 2_000.0) for b in bearings])
    assert (seen > 45).tolist() == [True, True, True, False, False]
    assert seen[[3, 4]].sum() == 0


def test_outside_elevation_limits_never_detected():
    radars = make_radar(pos=(0.0, 0.0, 100.0), min_el_deg=0.0, max_el_deg=60.0)
    targets = [
        _at(0.0, 10_000.0, 30.0),  # below the radar: ~ -0.4 deg, under min elevation
        _at(0.0, 10_000.0, 10_100.0),  # ~45 deg
        [0.0, 100.0, 20_000.0],  # nearly overhead: above max elevation
        _at(0.0, 30_000.0, 5_000.0),  # ~9 deg
    ]
    el = np.degrees(radar_geometry(radars.pos_m, np.array(targets)).elevation_rad[0])
    assert el[0] < 0.0 and 0.0 < el[1] < 60.0 and el[2] > 60.0 and 0.0 < el[3] < 60.0
    seen = _scan_many(radars, targets)
    assert seen[0] == 0 and seen[2] == 0 and seen[1] > 45 and seen[3] > 45


def test_coverage_mask_direct():
    radars = make_radar(max_range_m=100_000.0, az_center_deg=0.0, az_half_width_deg=45.0)
    targets = np.array(
        [_at(0.0, 50_000.0, 1_000.0), _at(90.0, 50_000.0, 1_000.0), _at(0.0, 120_000.0, 1_000.0)]
    )
    geom = radar_geometry(radars.pos_m, targets)
    assert coverage_mask(radars, 0, geom).tolist() == [True, False, False]


# --- detect(): measurement noise ----------------------------------------------------------


def _noise_run(n=20_000, ground=60_000.0, seed=5):
    radars = make_radar(sigma_range_m=40.0, sigma_az_rad=2e-3, sigma_el_rad=3e-3)
    target = _at(120.0, ground, 4_000.0)
    pos = np.repeat([target], n, axis=0)
    det = detect(radars, 0, 1.0, pos, np.ones(n), np.arange(n), np.random.default_rng(seed))
    geom = radar_geometry(radars.pos_m, np.array([target]))
    truth_polar = np.array([geom.slant_m[0, 0], geom.azimuth_rad[0, 0], geom.elevation_rad[0, 0]])
    return radars, det, np.array(target), truth_polar


def test_polar_noise_has_declared_sigmas():
    """Sample std of n normal draws has relative sd 1/sqrt(2n); 5 sigma bounds."""
    _, det, _, truth = _noise_run()
    n = det.n
    assert n > 19_000
    err = det.polar - truth
    sig = np.array([40.0, 2e-3, 3e-3])
    np.testing.assert_array_less(np.abs(err.mean(axis=0)), 5.0 * sig / math.sqrt(n))
    rel = err.std(axis=0, ddof=1) / sig
    np.testing.assert_array_less(np.abs(rel - 1.0), 5.0 / math.sqrt(2.0 * n))
    corr = np.corrcoef(err.T)
    assert np.max(np.abs(corr - np.eye(3))) < 5.0 / math.sqrt(n)


def test_converted_positions_match_polar_covariance():
    """At moderate range the first-order converted covariance (Bar-Shalom et al. sec. 10.4)
    describes the scatter of the converted positions: the whitened sample covariance is
    the identity within 5-sigma sampling error (~0.05)."""
    _, det, target, _ = _noise_run(ground=20_000.0)
    err = det.pos_m - target
    c = det.cov_m2.mean(axis=0)
    w = np.linalg.cholesky(c)
    white = np.linalg.solve(w, err.T)
    s = np.cov(white)
    assert np.max(np.abs(s - np.eye(3))) < 0.06
    assert np.max(np.abs(white.mean(axis=1))) < 5.0 / math.sqrt(det.n)


def test_detections_are_consistent_with_polar_measurements():
    radars, det, _, _ = _noise_run(n=200)
    back = polar_to_map(
        np.repeat(radars.pos_m, det.n, axis=0), det.polar[:, 0], det.polar[:, 1], det.polar[:, 2]
    )
    np.testing.assert_allclose(det.pos_m, back, rtol=0, atol=1e-6)
    assert det.cov_m2.shape == (det.n, 3, 3)
    np.testing.assert_allclose(det.cov_m2, det.cov_m2.transpose(0, 2, 1))
    assert np.all(np.linalg.eigvalsh(det.cov_m2) > 0)


@settings(max_examples=100, deadline=None)
@given(
    slant=st.floats(100.0, 500_000.0),
    az=st.floats(-math.pi, math.pi),
    el=st.floats(-0.1, 1.4),
)
def test_polar_covariance_is_jacobian_sandwich(slant, az, el):
    """P = J diag(sigma^2) J^T with J the numerical Jacobian of the flat polar map
    x = R cos(el) sin(az), y = R cos(el) cos(az), z = R sin(el)."""

    def f(p):
        r, a, e = p
        return np.array(
            [r * math.cos(e) * math.sin(a), r * math.cos(e) * math.cos(a), r * math.sin(e)]
        )

    p0 = np.array([slant, az, el])
    steps = np.array([1e-3 * slant, 1e-6, 1e-6])
    jac = np.empty((3, 3))
    for k in range(3):
        dp = np.zeros(3)
        dp[k] = steps[k]
        jac[:, k] = (f(p0 + dp) - f(p0 - dp)) / (2 * steps[k])
    sig = np.array([30.0, 1e-3, 2e-3])
    expected = jac @ np.diag(sig**2) @ jac.T
    got = polar_covariance(np.array([slant]), np.array([az]), np.array([el]), sig)[0]
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    np.testing.assert_allclose(got, expected, atol=1e-6 * scale.max() + 1e-9)


# --- detect(): determinism and bookkeeping ------------------------------------------------


def test_same_seed_same_detections_different_seed_different():
    radars = make_radar(ref_range_m=80_000.0, ref_snr=_ref_snr(0.5, 1e-6))
    rng0 = np.random.default_rng(0)
    targets = np.column_stack(
        [rng0.uniform(-1e5, 1e5, 200), rng0.uniform(-1e5, 1e5, 200), rng0.uniform(0, 1e4, 200)]
    )
    ids = np.arange(1000, 1200)

    def run(seed):
        return detect(radars, 0, 12.5, targets, np.ones(200), ids, np.random.default_rng(seed))

    a, b, c = run(42), run(42), run(43)
    np.testing.assert_array_equal(a.truth, b.truth)
    np.testing.assert_array_equal(a.pos_m, b.pos_m)
    np.testing.assert_array_equal(a.polar, b.polar)
    np.testing.assert_array_equal(a.cov_m2, b.cov_m2)
    assert a.time_s == 12.5 and a.radar == 0
    assert set(a.truth.tolist()) <= set(ids.tolist())
    assert not (a.truth.shape == c.truth.shape and np.array_equal(a.truth, c.truth))


def test_detect_with_no_targets():
    radars = make_radar()
    det = detect(
        radars, 0, 0.0, np.zeros((0, 3)), np.zeros(0), np.zeros(0, dtype=np.int64),
        np.random.default_rng(0),
    )  # fmt: skip
    assert det.n == 0 and det.pos_m.shape == (0, 3) and det.cov_m2.shape == (0, 3, 3)


def test_compiled_polar_covariance_equals_the_numpy_form() -> None:
    """The compiled J diag(sigma^2) J^T (a fused multiply-add chain per entry, as BLAS
    forms it) against the numpy form's stacked matmul, with shared and per-row sigmas:
    equal to 1e-12 here, bit for bit on the project's machines (`tools/compare_runs.py`)."""
    from skydome.sensors.radar import polar_covariance_reference

    rng = np.random.default_rng(3)
    n = 3000
    slant, az, el = rng.uniform(1e3, 4e5, n), rng.uniform(-np.pi, np.pi, n), rng.uniform(0, 1.2, n)
    per_row = rng.uniform(1.0, 50.0, (n, 3)) * np.array([1.0, 1e-3, 1e-3])
    for sig in (np.array([20.0, 1e-3, 2e-3]), per_row):
        got = polar_covariance(slant, az, el, sig)
        want = polar_covariance_reference(slant, az, el, sig)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    assert polar_covariance(slant[:0], az[:0], el[:0], per_row[:0]).shape == (0, 3, 3)
