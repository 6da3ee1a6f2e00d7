"""Compiled fire-control quality arithmetic (numba) for many (track, horizon) cells at once.

`fire_control.position_sigma_m` builds a (K, 3, 3) extrapolated covariance per
cell (gathering each cell's (6, 6) track covariance first) and then takes its
largest eigenvalue: at the batched decision cycle's ~10^5 cells a scan, the
temporaries cost more than the arithmetic. `position_sigma_rows` reads each
cell's track covariance in place and carries the same elementwise operations,
in the same order, up to the eigenvalue's trigonometric step; `tq**3`, arccos and
cos stay in numpy (their numpy implementations may differ from libm in the last
bit), so the result is bit for bit `position_sigma_m(P[rows], horizon_s, ...)`
(`tests/test_fire_control.py` compares them). Importing this module imports numba.
"""

from __future__ import annotations

import numba
import numpy as np

from skydome.arrays import F64, I64

__all__ = ["position_sigma_rows"]


@numba.njit(cache=True, error_model="numpy")
def _eigen_terms_kernel(P: F64, rows: I64, horizon_s: F64, noise: F64) -> tuple[F64, F64, F64]:  # noqa: N803
    """q, p and the clipped r of `largest_eigenvalue_sym3` for each cell's `C(T)`.

    Args:
        P: (T, 6, 6) track covariances.
        rows: (K,) the track of each cell.
        horizon_s: (K,) its horizon T, s (finite).
        noise: (K,) its process-noise term (q^2 / 3) T_q^3, m^2.

    Returns:
        (q, p, r), each (K,).
    """
    k_n = rows.shape[0]
    q_out = np.empty(k_n)
    p_out = np.empty(k_n)
    r_out = np.empty(k_n)
    for c in range(k_n):
        k = rows[c]
        t = horizon_s[c]
        tt = t * t
        nz = noise[c] * 0.0  # the identity's off-diagonal term, as numpy adds it
        # C_ij = pp_ij + t pv_ij + (t t) vv_ij + noise I_ij, pv = P_pv + P_vp.
        a00 = P[k, 0, 0] + t * (P[k, 0, 3] + P[k, 3, 0]) + tt * P[k, 3, 3] + noise[c]
        a11 = P[k, 1, 1] + t * (P[k, 1, 4] + P[k, 4, 1]) + tt * P[k, 4, 4] + noise[c]
        a22 = P[k, 2, 2] + t * (P[k, 2, 5] + P[k, 5, 2]) + tt * P[k, 5, 5] + noise[c]
        a01 = P[k, 0, 1] + t * (P[k, 0, 4] + P[k, 3, 1]) + tt * P[k, 3, 4] + nz
        a02 = P[k, 0, 2] + t * (P[k, 0, 5] + P[k, 3, 2]) + tt * P[k, 3, 5] + nz
        a12 = P[k, 1, 2] + t * (P[k, 1, 5] + P[k, 4, 2]) + tt * P[k, 4, 5] + nz
        q = (a00 + a11 + a22) / 3.0
        b00, b11, b22 = a00 - q, a11 - q, a22 - q
        p1 = a01 * a01 + a02 * a02 + a12 * a12
        p = np.sqrt((b00 * b00 + b11 * b11 + b22 * b22 + 2.0 * p1) / 6.0)
        det = (
            b00 * (b11 * b22 - a12 * a12)
            - a01 * (a01 * b22 - a12 * a02)
            + a02 * (a01 * a12 - b11 * a02)
        )
        r = det / (2.0 * p * p * p)
        if r < -1.0:
            r = -1.0
        elif r > 1.0:
            r = 1.0
        q_out[c] = q
        p_out[c] = p
        r_out[c] = r
    return q_out, p_out, r_out


def position_sigma_rows(
    P: F64,  # noqa: N803
    rows: I64,
    horizon_s: F64,
    q_mps2: float,
    noise_horizon_s: float = np.inf,
) -> F64:
    """`fire_control.position_sigma_m(P[rows], horizon_s, ...)` without the gathers.

    Args:
        P: (T, 6, 6) track covariances [position, velocity], m and m/s.
        rows: (K,) the track row of each cell.
        horizon_s: (K,) extrapolation times, s (non-finite entries give nan).
        q_mps2: white-noise acceleration density sqrt(q), m/s^2.
        noise_horizon_s: the process noise acts over at most this long, s.

    Returns:
        (K,) `sqrt(lambda_max(C(T)))`, m.
    """
    finite = np.isfinite(horizon_s)
    t = np.where(finite, horizon_s, 0.0)
    tq = np.minimum(t, noise_horizon_s)
    noise = (q_mps2 * q_mps2 / 3.0) * tq**3
    q, p, r = _eigen_terms_kernel(
        np.ascontiguousarray(P), np.ascontiguousarray(rows, dtype=np.int64), t, noise
    )
    lam = np.where((p > 0.0) & (r == r), q + 2.0 * p * np.cos(np.arccos(r) / 3.0), q)
    sigma: F64 = np.where(finite, np.sqrt(np.maximum(lam, 0.0)), np.nan)
    return sigma
