"""Study statistics: point estimates with confidence intervals over replications.

One replication is an anecdote; a study reports the distribution. Three kinds
of estimate cover what analysts ask of a Monte Carlo study:

- **proportions** (P(no leaker), P(raid annihilated)): the Wilson score
  interval, which keeps close to its nominal coverage for small samples and
  for proportions near 0 or 1, where the Wald interval fails (Wilson 1927;
  Brown, Cai & DasGupta 2001, "Interval Estimation for a Binomial
  Proportion", Statistical Science 16(2));
- **means** (expected leakers, damage): Student's t interval on the
  replication values, which the central limit theorem justifies for the
  sample sizes of a study;
- **ratios of means** (missiles per kill = sum fired / sum killed): the
  delta-method (linearisation) interval of the ratio estimator (Cochran 1977,
  "Sampling Techniques", 3rd ed., section 6.4).

Every function is deterministic: the same replications give the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st

from skydome.arrays import F64

__all__ = [
    "Estimate",
    "mean_estimate",
    "proportion_estimate",
    "ratio_estimate",
    "t_interval",
    "wilson_interval",
]


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its confidence interval.

    Attributes:
        estimate: the point estimate (nan when there are no observations).
        lo: lower end of the interval (nan when it cannot be computed).
        hi: upper end of the interval (nan when it cannot be computed).
        n: number of replications the estimate uses.
        method: ``"wilson"``, ``"t"`` or ``"delta"``.
        confidence: nominal coverage of the interval, e.g. 0.95.
    """

    estimate: float
    lo: float
    hi: float
    n: int
    method: str
    confidence: float

    @property
    def width(self) -> float:
        """Full width `hi - lo` of the interval (inf when it cannot be computed)."""
        w = self.hi - self.lo
        return w if math.isfinite(w) else math.inf

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; nan becomes None, floats are rounded to 9 significant digits."""

        def num(x: float) -> float | None:
            return float(f"{x:.9g}") if math.isfinite(x) else None

        return {
            "estimate": num(self.estimate),
            "lo": num(self.lo),
            "hi": num(self.hi),
            "n": self.n,
            "method": self.method,
        }


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return float(_st.norm.ppf(0.5 + confidence / 2.0))


def wilson_interval(
    successes: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[F64, F64]:
    r"""Wilson score interval for a binomial proportion, vectorised.

    .. math::
        \frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}}{1 + z^2/n}

    with :math:`\hat p = k/n` and :math:`z` the standard normal quantile at
    `(1 + confidence) / 2` (Wilson 1927).

    Args:
        successes: (...) number of successes k, 0 <= k <= n.
        n: (...) number of trials, broadcastable with `successes`.
        confidence: nominal coverage, in (0, 1).

    Returns:
        `(lo, hi)`, each of the broadcast shape, inside [0, 1]; nan where n == 0.
    """
    k = np.asarray(successes, dtype=np.float64)
    nn = np.asarray(n, dtype=np.float64)
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / nn
        denom = 1.0 + z * z / nn
        centre = (p + z * z / (2.0 * nn)) / denom
        half = z / denom * np.sqrt(p * (1.0 - p) / nn + z * z / (4.0 * nn * nn))
    lo = np.clip(centre - half, 0.0, 1.0)
    hi = np.clip(centre + half, 0.0, 1.0)
    # At k = 0 and k = n the bound on the observed side is exactly 0 or 1.
    lo = np.where((k == 0) & (nn > 0), 0.0, lo)
    hi = np.where((k == nn) & (nn > 0), 1.0, hi)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


def t_interval(x: ArrayLike, confidence: float = 0.95) -> tuple[float, float, float]:
    """Student's t interval for the mean of independent observations.

    `mean ± t_{n-1} s / sqrt(n)`, s the sample standard deviation.

    Args:
        x: (n,) observations; nan values are ignored.
        confidence: nominal coverage, in (0, 1).

    Returns:
        `(mean, lo, hi)`; the interval is nan with fewer than two observations
        and collapses to the mean when every observation is equal.
    """
    v = np.asarray(x, dtype=np.float64).ravel()
    v = v[~np.isnan(v)]
    _z(confidence)
    n = v.size
    if n == 0:
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if n < 2:
        return m, math.nan, math.nan
    s = float(v.std(ddof=1))
    half = float(_st.t.ppf(0.5 + confidence / 2.0, n - 1)) * s / math.sqrt(n)
    return m, m - half, m + half


def proportion_estimate(success: ArrayLike, confidence: float = 0.95) -> Estimate:
    """P(success) over replications, with the Wilson interval.

    Args:
        success: (n,) bool, one per replication.
        confidence: nominal coverage.

    Returns:
        The estimate (`method="wilson"`).
    """
    s = np.asarray(success, dtype=bool).ravel()
    n = int(s.size)
    k = int(s.sum())
    lo, hi = wilson_interval(k, n, confidence)
    est = k / n if n else math.nan
    return Estimate(est, float(lo), float(hi), n, "wilson", confidence)


def mean_estimate(x: ArrayLike, confidence: float = 0.95) -> Estimate:
    """Mean over replications, with the t interval; nan values (no data) are left out.

    Args:
        x: (n,) one value per replication (nan: not defined in that replication).
        confidence: nominal coverage.

    Returns:
        The estimate (`method="t"`); `n` counts the values used.
    """
    v = np.asarray(x, dtype=np.float64).ravel()
    m, lo, hi = t_interval(v, confidence)
    return Estimate(m, lo, hi, int((~np.isnan(v)).sum()), "t", confidence)


def ratio_estimate(num: ArrayLike, den: ArrayLike, confidence: float = 0.95) -> Estimate:
    r"""Ratio of means `R = sum(num) / sum(den)` with its delta-method interval.

    The linearised variance of the ratio estimator is
    :math:`\widehat{V}(R) = \frac{1}{n \bar d^2} \frac{\sum_i (x_i - R d_i)^2}{n - 1}`
    (Cochran 1977, eq. 6.9); the interval is `R ± t_{n-1} sqrt(V)`.

    Args:
        num: (n,) numerator per replication, e.g. missiles fired.
        den: (n,) denominator per replication, e.g. threats killed.
        confidence: nominal coverage.

    Returns:
        The estimate (`method="delta"`); nan when the denominators sum to 0.
    """
    x = np.asarray(num, dtype=np.float64).ravel()
    d = np.asarray(den, dtype=np.float64).ravel()
    if x.shape != d.shape:
        raise ValueError(f"num and den differ in shape: {x.shape} vs {d.shape}")
    n = int(x.size)
    _z(confidence)
    total = float(d.sum())
    if n == 0 or total == 0.0:
        return Estimate(math.nan, math.nan, math.nan, n, "delta", confidence)
    r = float(x.sum()) / total
    if n < 2:
        return Estimate(r, math.nan, math.nan, n, "delta", confidence)
    resid = x - r * d
    var = float(resid @ resid) / (n - 1) / (n * (total / n) ** 2)
    half = float(_st.t.ppf(0.5 + confidence / 2.0, n - 1)) * math.sqrt(var)
    return Estimate(r, r - half, r + half, n, "delta", confidence)
