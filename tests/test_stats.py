"""Study statistics against independent results: score-test inversion, exact binomial
coverage, scipy's t interval, and simulated coverage of the ratio interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from skydome.stats import (
    Estimate,
    mean_estimate,
    proportion_estimate,
    ratio_estimate,
    t_interval,
    wilson_interval,
)

Z95 = st.norm.ppf(0.975)


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        # Brown, Cai & DasGupta (2001) and Newcombe (1998), table I: Wilson 95 % intervals.
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (7, 10, 0.3968, 0.8922),
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_published_values(k: int, n: int, lo: float, hi: float) -> None:
    got_lo, got_hi = wilson_interval(k, n)
    assert float(got_lo) == pytest.approx(lo, abs=1e-4)
    assert float(got_hi) == pytest.approx(hi, abs=1e-4)


@pytest.mark.parametrize("conf", [0.8, 0.95, 0.99])
def test_wilson_ends_are_where_the_score_test_just_rejects(conf: float) -> None:
    # The Wilson interval is the inversion of the score test: at each end p0,
    # |p_hat - p0| / sqrt(p0 (1 - p0) / n) equals the normal quantile z.
    z = st.norm.ppf(0.5 + conf / 2)
    n = np.array([7, 30, 100, 1000])
    k = np.array([3, 11, 99, 1])
    lo, hi = wilson_interval(k, n, conf)
    for p0 in (lo, hi):
        score = np.abs(k / n - p0) / np.sqrt(p0 * (1 - p0) / n)
        np.testing.assert_allclose(score, z, rtol=1e-9)


def test_wilson_is_vectorised_bounded_and_nan_without_trials() -> None:
    k = np.arange(0, 21)
    lo, hi = wilson_interval(k, 20)
    assert lo.shape == hi.shape == (21,)
    assert np.all((lo >= 0) & (lo <= k / 20) & (k / 20 <= hi) & (hi <= 1))
    assert lo[0] == 0.0 and hi[-1] == 1.0
    assert np.all(np.diff(lo) > 0) and np.all(np.diff(hi) > 0)
    nan_lo, nan_hi = wilson_interval(0, 0)
    assert np.isnan(nan_lo) and np.isnan(nan_hi)


def _exact_coverage(interval, n: int, p: float) -> float:
    k = np.arange(n + 1)
    lo, hi = interval(k, n)
    return float(st.binom.pmf(k, n, p)[(lo <= p) & (p <= hi)].sum())


def test_wilson_exact_coverage_is_near_nominal_where_wald_fails() -> None:
    # Exact coverage, summed over the binomial distribution (no simulation).
    def wald(k, n):
        p = k / n
        h = Z95 * np.sqrt(p * (1 - p) / n)
        return p - h, p + h

    ps = np.linspace(0.05, 0.95, 91)
    for n in (20, 50, 200):
        wil = np.array([_exact_coverage(wilson_interval, n, p) for p in ps])
        wal = np.array([_exact_coverage(wald, n, p) for p in ps])
        assert abs(wil.mean() - 0.95) < 0.01, n
        assert wil.mean() > wal.mean() + 0.005, n
    # The coverage test of the Monte Carlo study relies on this value.
    assert _exact_coverage(wilson_interval, 20, 0.7) == pytest.approx(0.9752, abs=1e-4)


def test_t_interval_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    x = rng.gamma(2.0, 3.0, size=37)
    m, lo, hi = t_interval(x, 0.9)
    ref = st.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=st.sem(x))
    assert m == pytest.approx(x.mean())
    assert (lo, hi) == pytest.approx(ref, rel=1e-12)


def test_mean_estimate_ignores_missing_values_and_handles_degenerate_samples() -> None:
    e = mean_estimate([1.0, np.nan, 3.0])
    assert e.estimate == 2.0 and e.n == 2 and e.method == "t"
    assert math.isnan(mean_estimate([]).estimate)
    one = mean_estimate([4.0])
    assert one.estimate == 4.0 and math.isnan(one.lo) and one.width == math.inf
    flat = mean_estimate([2.0] * 10)
    assert flat.lo == flat.hi == 2.0 and flat.width == 0.0


def test_proportion_estimate_is_wilson() -> None:
    e = proportion_estimate([True] * 7 + [False] * 3)
    assert e.estimate == 0.7 and e.n == 10 and e.method == "wilson"
    assert (e.lo, e.hi) == pytest.approx((0.3968, 0.8922), abs=1e-4)


def test_ratio_with_constant_denominator_is_the_t_interval_of_the_scaled_mean() -> None:
    rng = np.random.default_rng(2)
    x = rng.poisson(5.0, size=50).astype(float)
    r = ratio_estimate(x, np.full(50, 2.0))
    m, lo, hi = t_interval(x / 2.0)
    assert (r.estimate, r.lo, r.hi) == pytest.approx((m, lo, hi), rel=1e-12)


def test_ratio_interval_covers_the_true_ratio_in_simulation() -> None:
    # Missiles fired and threats killed per replication, correlated; true ratio 2.5.
    rng = np.random.default_rng(3)
    hits = 0
    trials = 400
    for _ in range(trials):
        kills = rng.poisson(8.0, size=60)
        fired = 2 * kills + rng.poisson(4.0, size=60)
        e = ratio_estimate(fired, kills)
        hits += e.lo <= 2.5 <= e.hi
    assert 0.92 <= hits / trials <= 0.98


def test_ratio_without_denominator_is_undefined() -> None:
    e = ratio_estimate([1.0, 2.0], [0.0, 0.0])
    assert math.isnan(e.estimate) and e.method == "delta"
    with pytest.raises(ValueError, match="shape"):
        ratio_estimate([1.0], [1.0, 2.0])


def test_estimate_serialises_nan_as_null() -> None:
    d = Estimate(0.5, math.nan, 0.75, 3, "t", 0.95).to_dict()
    assert d == {"estimate": 0.5, "lo": None, "hi": 0.75, "n": 3, "method": "t"}
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 2, confidence=1.0)
