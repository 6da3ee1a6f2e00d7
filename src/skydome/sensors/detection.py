"""Single-look detection probability of Swerling 0, I and III targets.

One look, square-law detector, noise of unit power: the detector output is
exponential with mean 1 under noise alone, so the threshold for a false-alarm
probability Pfa is V_T = -ln(Pfa) (Richards, *Fundamentals of Radar Signal
Processing*, ch. 6). SNR is the mean signal-to-noise ratio (linear). Fluctuation
is scan to scan (the look is one pulse or one coherent dwell).

* **Swerling 0** (steady target): Pd = Q1(sqrt(2 SNR), sqrt(2 V_T)), the Marcum Q
  function, evaluated as P[noncentral chi-square(2 dof, nc = 2 SNR) > 2 V_T]
  (Richards, ch. 6; Marcum 1960).
* **Swerling I** (Rayleigh amplitude, exponential power, chi-square 2 dof):
  Pd = exp(-V_T / (1 + SNR)) = Pfa^(1 / (1 + SNR)) (Skolnik, *Introduction to Radar
  Systems*, 3rd ed., sec. 2.8; Richards, ch. 6).
* **Swerling III** (power chi-square with 4 dof, "one dominant plus Rayleigh"):
  Pd = exp(-V_T / (1 + SNR/2)) (1 + 2 SNR V_T / (2 + SNR)^2). Derivation: the
  detector output given the echo power s has density exp(-(z + s)) I0(2 sqrt(z s));
  averaging over s ~ Gamma(2, SNR/2) sums the Bessel series to
  f(z) = exp(-z/b) (1 + z (b - 1)/b) / b^2 with b = 1 + SNR/2, whose tail above V_T is
  the expression above. It equals Mahafza's Swerling III formula with n_p = 1
  (Mahafza, *Radar Systems Analysis and Design Using MATLAB*, ch. 2:
  exp(-V_T/(1 + SNR/2)) (1 + 2/SNR)^(n_p - 2) [1 + V_T/(1 + SNR/2) - 2 (n_p - 2)/SNR]),
  which is exact for n_p = 1 and 2 (DiFranco & Rubin, *Radar Detection*, ch. 11).

The inverse (SNR needed for a Pd) is closed form for Swerling I and found by Brent's
method on log SNR otherwise; it is meant for a handful of radars, not per target.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from skydome.arrays import F64

__all__ = [
    "SWERLING_MODELS",
    "detection_probability",
    "required_snr",
    "swerling0_pd",
    "swerling1_pd",
    "swerling1_snr_for_pd",
    "swerling3_pd",
]


SWERLING_MODELS = (0, 1, 3)
"""Target fluctuation models implemented (Swerling case numbers)."""


def _threshold(pfa: F64) -> F64:
    out: F64 = -np.log(pfa)
    return out


def swerling0_pd(snr: ArrayLike, pfa: ArrayLike) -> F64:
    """Single-look Pd of a steady (Swerling 0) target, square-law detector.

    Pd = Q1(sqrt(2 SNR), sqrt(2 V_T)) = P[chi'^2_2(2 SNR) > 2 V_T], V_T = -ln Pfa
    (Marcum Q function; Richards, *Fundamentals of Radar Signal Processing*, ch. 6).

    Args:
        snr: mean SNR, linear; negative values are treated as 0. Broadcasts with pfa.
        pfa: probability of false alarm.

    Returns:
        Pd, broadcast shape of the inputs.
    """
    # scipy.stats costs a third of a second to import: only Swerling 0 needs it.
    from scipy.stats import ncx2

    s = np.maximum(np.asarray(snr, dtype=np.float64), 0.0)
    v = _threshold(np.asarray(pfa, dtype=np.float64))
    out: F64 = np.asarray(ncx2.sf(2.0 * v, 2.0, 2.0 * s), dtype=np.float64)
    return out


def swerling1_pd(snr: ArrayLike, pfa: ArrayLike) -> F64:
    """Single-look Pd of a Swerling I target: Pd = Pfa^(1/(1+SNR)).

    (Skolnik, 3rd ed., eq. 2.48; Richards, ch. 6.)

    Args:
        snr: mean SNR, linear (not dB); negative values are treated as 0.
        pfa: probability of false alarm.

    Returns:
        Pd, broadcast shape of the inputs.
    """
    s = np.maximum(np.asarray(snr, dtype=np.float64), 0.0)
    out: F64 = np.power(np.asarray(pfa, dtype=np.float64), 1.0 / (1.0 + s))
    return out


def swerling3_pd(snr: ArrayLike, pfa: ArrayLike) -> F64:
    """Single-look Pd of a Swerling III target (chi-square 4 dof power), square law.

    Pd = exp(-V_T / (1 + SNR/2)) (1 + 2 SNR V_T / (2 + SNR)^2), V_T = -ln Pfa
    (derived in the module docstring; Mahafza, ch. 2, with n_p = 1).

    Args:
        snr: mean SNR, linear; negative values are treated as 0.
        pfa: probability of false alarm.

    Returns:
        Pd, broadcast shape of the inputs.
    """
    s = np.maximum(np.asarray(snr, dtype=np.float64), 0.0)
    v = _threshold(np.asarray(pfa, dtype=np.float64))
    out: F64 = np.exp(-v / (1.0 + 0.5 * s)) * (1.0 + 2.0 * s * v / (2.0 + s) ** 2)
    return out


_PD = {0: swerling0_pd, 1: swerling1_pd, 3: swerling3_pd}


def detection_probability(snr: ArrayLike, pfa: ArrayLike, swerling: ArrayLike) -> F64:
    """Single-look Pd for a mix of target models, vectorised.

    Args:
        snr: (N,) mean SNR, linear.
        pfa: scalar or (N,) probability of false alarm.
        swerling: scalar or (N,) Swerling case of each target, one of 0, 1, 3.

    Returns:
        (N,) Pd.

    Raises:
        ValueError: for a Swerling case that is not implemented.
    """
    model = np.asarray(swerling, dtype=np.int64)
    snr_a = np.asarray(snr, dtype=np.float64)
    one = _PD.get(int(model.flat[0])) if model.size else None
    if (
        one is not None
        and snr_a.ndim == 1
        and model.shape in ((), snr_a.shape)
        and np.shape(pfa) in ((), snr_a.shape)
        and (model.ndim == 0 or bool((model == model[0]).all()))
    ):
        # One model for every target (the common case): one call on contiguous
        # arrays, as the masked path below would make them, without the masks.
        return one(np.ascontiguousarray(snr_a), np.full(snr_a.shape, pfa, dtype=np.float64))
    s, p, m = np.broadcast_arrays(snr_a, np.asarray(pfa, dtype=np.float64), model)
    out = np.empty(s.shape)
    done = np.zeros(s.shape, dtype=bool)
    for case, fn in _PD.items():  # three models, not a loop over targets
        k = m == case
        if k.any():
            out[k] = fn(s[k], p[k])
            done |= k
    if not done.all():
        raise ValueError(
            f"Swerling case must be one of {SWERLING_MODELS}, got {np.unique(m[~done])}"
        )
    return out


def swerling1_snr_for_pd(pd: ArrayLike, pfa: ArrayLike) -> F64:
    """Mean SNR (linear) that gives `pd` at `pfa` for a Swerling I target: ln Pfa / ln Pd - 1."""
    out: F64 = np.log(np.asarray(pfa, dtype=np.float64)) / np.log(pd) - 1.0
    return out


def required_snr(pd: ArrayLike, pfa: ArrayLike, swerling: ArrayLike) -> F64:
    """Mean SNR (linear) at which a target of the given model is detected with `pd`.

    Swerling I in closed form; Swerling 0 and III by Brent's method on ln SNR
    (Pd is increasing in SNR for every model), to ~1e-14 in ln SNR.

    Args:
        pd: scalar or (R,) wanted single-look Pd, pfa < pd < 1.
        pfa: scalar or (R,) probability of false alarm.
        swerling: scalar or (R,) Swerling case (0, 1 or 3).

    Returns:
        (R,) SNR, linear (0-d input gives a 0-d array).

    Raises:
        ValueError: if pd <= pfa (reached at SNR 0) or the case is not implemented.
    """
    d, p, m = np.broadcast_arrays(
        np.asarray(pd, dtype=np.float64),
        np.asarray(pfa, dtype=np.float64),
        np.asarray(swerling, dtype=np.int64),
    )
    if np.any(d <= p) or np.any(d >= 1.0):
        raise ValueError("required_snr needs pfa < pd < 1")
    out = np.empty(d.shape)
    for i in np.ndindex(d.shape):  # radars: a handful
        di, pi, mi = float(d[i]), float(p[i]), int(m[i])
        if mi == 1:
            out[i] = math.log(pi) / math.log(di) - 1.0
            continue
        if mi not in _PD:
            raise ValueError(f"Swerling case must be one of {SWERLING_MODELS}, got {mi}")
        # scipy on demand: compiling a scenario of Swerling I radars (validate) needs none.
        from scipy.optimize import brentq

        out[i] = math.exp(brentq(_pd_gap, -30.0, 30.0, args=(mi, pi, di), xtol=1e-14))
    return out


def _pd_gap(log_snr: float, case: int, pfa: float, pd: float) -> float:
    return float(_PD[case](math.exp(log_snr), pfa)) - pd
