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
import numpy.typing as npt

from skydome.arrays import F64, I64
from skydome.tracking.kalman_kernel import adjugate3

__all__ = ["pair_mahalanobis", "sweep_coarse_kernel"]


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
        dt = adjugate3(f, adj)  # inv3's cofactors and determinant
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


@numba.njit(cache=True, error_model="numpy")
def sweep_coarse_kernel(
    pos: F64,
    trep: I64,
    z: F64,
    zrep: I64,
    order: I64,
    lo: I64,
    hi: I64,
    trp_g: F64,
    trr_g: F64,
    trp: F64,
    trr: F64,
    gamma: float,
    dense: npt.NDArray[np.bool_],
) -> tuple[I64, I64, npt.NDArray[np.bool_]]:
    """The candidate window of each track and the coarse gate, in one pass.

    Track t's candidates are the detections `order[lo[t]:hi[t]]` of its own
    replication; a pair passes the coarse test of the single run's gate with
    |nu|^2 formed as `(nu_0^2 + nu_1^2) + nu_2^2`: in a replication gated densely
    `|nu|^2 <= trp_g[t] + trr_g[d]` (gamma trP, gamma trR precomputed), else the
    k-d tree's `|nu|^2 <= gamma (trP + trR)`, where a pair within a relative 1e-9
    of that bound is returned flagged for the caller to decide with einsum's sum.

    Returns:
        (ti, dj, near): the passing pairs (and flagged ones), by track then
        window order.
    """
    n = pos.shape[0]
    count = 0
    for t in range(n):
        count += hi[t] - lo[t]
    ti = np.empty(count, dtype=np.int64)
    dj = np.empty(count, dtype=np.int64)
    near = np.zeros(count, dtype=np.bool_)
    k = 0
    for t in range(n):
        p0, p1, p2 = pos[t, 0], pos[t, 1], pos[t, 2]
        for q in range(lo[t], hi[t]):
            d = order[q]
            if zrep[d] != trep[t]:
                continue
            e0 = z[d, 0] - p0
            e1 = z[d, 1] - p1
            e2 = z[d, 2] - p2
            s = e0 * e0 + e1 * e1 + e2 * e2
            if dense[t]:
                if not s <= trp_g[t] + trr_g[d]:
                    continue
            else:
                b = gamma * (trp[t] + trr[d])
                if abs(s - b) <= 1e-9 * b:
                    near[k] = True
                elif not s <= b:
                    continue
            ti[k] = t
            dj[k] = d
            k += 1
    return ti[:k], dj[:k], near[:k]
