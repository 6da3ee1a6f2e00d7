"""Compiled chi-square distances of gated (track, detection) pairs (numba).

The fine test of `gating.gate_pairs` gathers each pair's innovation and
covariance (K, 3) and (K, 3, 3), inverts the 3 x 3 covariances by cofactors
(`kalman.inv3`) and contracts `einsum("ki,kij,kj->k")`: five (K, 3, 3)
temporaries per scan, which at the batched tracker's ~10^5 pairs cost more
than the arithmetic. `pair_mahalanobis` reads the rows in place and performs
the same floating-point operations in the same order (the cofactors and
determinant as `inv3` forms them, the contraction as einsum accumulates it:
one running sum over i, then j, of (nu_i Si_ij) nu_j), so its d^2 and ln|S|
are bit for bit those of `kalman.mahalanobis_sq` (`tests/test_gnn_batch.py`
compares them). The logarithm stays in numpy. Importing this module imports numba.
"""

from __future__ import annotations

import numba
import numpy as np

from skydome.arrays import F64, I64

__all__ = ["pair_mahalanobis"]


@numba.njit(cache=True, error_model="numpy")
def _pair_kernel(pos: F64, cov: F64, z: F64, R: F64, ti: I64, dj: I64) -> tuple[F64, F64]:  # noqa: N803
    """d^2 and |S| of pairs (ti, dj), S = cov[ti] + R[dj], nu = z[dj] - pos[ti]."""
    k_n = ti.shape[0]
    d2 = np.empty(k_n)
    det = np.empty(k_n)
    nu = np.empty(3)
    f = np.empty(9)
    adj = np.empty(9)
    for c in range(k_n):
        t, d = ti[c], dj[c]
        for i in range(3):
            nu[i] = z[d, i] - pos[t, i]
            for j in range(3):
                f[3 * i + j] = cov[t, i, j] + R[d, i, j]
        # inv3's adjugate, entry by entry (_P1 * _P2 - _Q1 * _Q2).
        adj[0] = f[4] * f[8] - f[5] * f[7]
        adj[1] = f[2] * f[7] - f[1] * f[8]
        adj[2] = f[1] * f[5] - f[2] * f[4]
        adj[3] = f[5] * f[6] - f[3] * f[8]
        adj[4] = f[0] * f[8] - f[2] * f[6]
        adj[5] = f[2] * f[3] - f[0] * f[5]
        adj[6] = f[3] * f[7] - f[4] * f[6]
        adj[7] = f[1] * f[6] - f[0] * f[7]
        adj[8] = f[0] * f[4] - f[1] * f[3]
        dt = f[0] * adj[0] + f[1] * adj[3] + f[2] * adj[6]
        r = 1.0 / dt
        s = 0.0
        for i in range(3):
            for j in range(3):
                s += nu[i] * (adj[3 * i + j] * r) * nu[j]
        d2[c] = s
        det[c] = dt
    return d2, det


def pair_mahalanobis(pos: F64, cov: F64, z: F64, R: F64, ti: I64, dj: I64) -> tuple[F64, F64]:  # noqa: N803
    """`kalman.mahalanobis_sq(z[dj] - pos[ti], cov[ti] + R[dj])` without the gathers.

    Args:
        pos: (N, 3) predicted track positions, m.
        cov: (N, 3, 3) their covariances, m^2.
        z: (M, 3) detection positions, m.
        R: (M, 3, 3) their covariances, m^2.
        ti: (K,) track row of each pair.
        dj: (K,) detection row of each pair.

    Returns:
        (d2 (K,), ln|S| (K,)).
    """
    d2, det = _pair_kernel(
        np.ascontiguousarray(pos),
        np.ascontiguousarray(cov),
        np.ascontiguousarray(z),
        np.ascontiguousarray(R),
        np.ascontiguousarray(ti, dtype=np.int64),
        np.ascontiguousarray(dj, dtype=np.int64),
    )
    logdet: F64 = np.log(det)
    return d2, logdet
