"""Compiled Kalman predict and Joseph update, one track at a time (numba).

numpy's stacked matmul calls BLAS once per (D, D) matrix: ~1.3 us of overhead
per track and update, which at a batch of replications (10^4-10^5 tracks a
scan) is a fifth of the run. These kernels do each track's arithmetic in
registers, with the floating-point operations the numpy forms of
`kalman.kf_predict` and `kalman.kf_update_joseph` perform through BLAS:

* every matrix product entry is a fused multiply-add chain over the inner index
  in order, `acc = a_0 b_0; acc = fma(a_l, b_l, acc)` (`skydome.fused`: how
  BLAS micro-kernels accumulate an entry);
* the gain times the innovation (a matrix-vector product, BLAS dgemv with three
  columns) is `fma(k_2 nu_2, fma(k_0, nu_0, k_1 nu_1))`;
* the 3 x 3 inverse, sums, differences and the symmetrising half are the
  numpy form's elementwise operations, unfused.

On the x86-64 machines of this project the results are the numpy forms' bit for
bit (checked by `tools/compare_runs.py` on whole runs against the numpy forms);
`tests/test_tracking.py` holds them equal to 1e-12. `llvm.fma` is a correctly
rounded fused operation on every machine (in software where the hardware has
none), so unlike BLAS, whose kernels vary with the CPU, these results do not.
Importing this module imports numba.
"""

from __future__ import annotations

import numba
import numpy as np

from skydome.arrays import F64
from skydome.fused import fma as _fma

__all__ = ["adjugate3", "predict_kernel", "update_joseph_kernel"]


@numba.njit(cache=True, error_model="numpy", inline="always")
def adjugate3(f: F64, adj: F64) -> float:
    """`kalman.inv3`'s adjugate of a row-major 3 x 3 `f` (9,) into `adj` (9,); returns det.

    Entry k is `f[_P1[k]] f[_P2[k]] - f[_Q1[k]] f[_Q2[k]]` and the determinant
    `f0 adj0 + f1 adj3 + f2 adj6`, the numpy form's operations in its order.
    """
    adj[0] = f[4] * f[8] - f[5] * f[7]
    adj[1] = f[2] * f[7] - f[1] * f[8]
    adj[2] = f[1] * f[5] - f[2] * f[4]
    adj[3] = f[5] * f[6] - f[3] * f[8]
    adj[4] = f[0] * f[8] - f[2] * f[6]
    adj[5] = f[2] * f[3] - f[0] * f[5]
    adj[6] = f[3] * f[7] - f[4] * f[6]
    adj[7] = f[1] * f[6] - f[0] * f[7]
    adj[8] = f[0] * f[4] - f[1] * f[3]
    det: float = f[0] * adj[0] + f[1] * adj[3] + f[2] * adj[6]
    return det


@numba.njit(cache=True, error_model="numpy")
def predict_kernel(x: F64, P: F64, F: F64, Q: F64, x_out: F64, P_out: F64) -> None:  # noqa: N803
    """Predict every track: x' = F x, P' = (F P) F^T + Q, into `x_out`, `P_out`.

    Args:
        x: (N, D) states.
        P: (N, D, D) covariances.
        F: (D, D) transition.
        Q: (D, D) process noise.
        x_out: (N, D) written.
        P_out: (N, D, D) written.
    """
    d = x.shape[1]
    if d == 6:  # a constant dimension: the loops unroll (~2x)
        _predict_rows(x, P, F, Q, x_out, P_out, 6)
    else:
        _predict_rows(x, P, F, Q, x_out, P_out, d)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _predict_rows(x: F64, P: F64, F: F64, Q: F64, x_out: F64, P_out: F64, d: int) -> None:  # noqa: N803
    """`predict_kernel` with the state dimension `d` (inlined: a literal 6 unrolls)."""
    fp = np.empty((d, d))
    for s in range(x.shape[0]):
        for i in range(d):
            acc = x[s, 0] * F[i, 0]
            for k in range(1, d):
                acc = _fma(x[s, k], F[i, k], acc)
            x_out[s, i] = acc
        for i in range(d):
            for j in range(d):
                acc = F[i, 0] * P[s, 0, j]
                for k in range(1, d):
                    acc = _fma(F[i, k], P[s, k, j], acc)
                fp[i, j] = acc
        for i in range(d):
            for j in range(d):
                acc = fp[i, 0] * F[j, 0]
                for k in range(1, d):
                    acc = _fma(fp[i, k], F[j, k], acc)
                P_out[s, i, j] = acc + Q[i, j]


@numba.njit(cache=True, error_model="numpy")
def update_joseph_kernel(
    x: F64,
    P: F64,  # noqa: N803
    z: F64,
    R: F64,  # noqa: N803
    x_out: F64,
    P_out: F64,  # noqa: N803
    nu_out: F64,
    S_out: F64,  # noqa: N803
) -> None:
    """Joseph-form position update of every track (`kalman.kf_update_joseph`).

    K = P H^T S^-1, x' = x + K nu, A P = P - K (H P), P' = sym((A P) - (A P H^T) K^T
    + (K R) K^T), H = [I3 0].

    Args:
        x: (N, D) predicted states, positions first.
        P: (N, D, D) predicted covariances.
        z: (N, 3) position measurements.
        R: (N, 3, 3) measurement covariances.
        x_out: (N, D) updated states, written.
        P_out: (N, D, D) updated covariances, written.
        nu_out: (N, 3) innovations, written.
        S_out: (N, 3, 3) their covariances, written.
    """
    d = x.shape[1]
    if d == 6:
        _update_rows(x, P, z, R, x_out, P_out, nu_out, S_out, 6)
    else:
        _update_rows(x, P, z, R, x_out, P_out, nu_out, S_out, d)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _update_rows(
    x: F64,
    P: F64,  # noqa: N803
    z: F64,
    R: F64,  # noqa: N803
    x_out: F64,
    P_out: F64,  # noqa: N803
    nu_out: F64,
    S_out: F64,  # noqa: N803
    d: int,
) -> None:
    """`update_joseph_kernel` with the state dimension `d` (inlined: a literal 6 unrolls)."""
    n = x.shape[0]
    f = np.empty(9)
    adj = np.empty(9)
    si = np.empty((3, 3))
    kg = np.empty((d, 3))
    kr = np.empty((d, 3))
    ap = np.empty((d, d))
    for s in range(n):
        for i in range(3):
            nu_out[s, i] = z[s, i] - x[s, i]
            for j in range(3):
                f[3 * i + j] = P[s, i, j] + R[s, i, j]
                S_out[s, i, j] = f[3 * i + j]
        r = 1.0 / adjugate3(f, adj)  # kalman.inv3's cofactors, det and 1 / det
        for i in range(3):
            for j in range(3):
                si[i, j] = adj[3 * i + j] * r
        # K = P[:, :3] Si
        for i in range(d):
            for j in range(3):
                acc = P[s, i, 0] * si[0, j]
                acc = _fma(P[s, i, 1], si[1, j], acc)
                kg[i, j] = _fma(P[s, i, 2], si[2, j], acc)
        # x' = x + K nu (dgemv's order)
        n0, n1, n2 = nu_out[s, 0], nu_out[s, 1], nu_out[s, 2]
        for i in range(d):
            x_out[s, i] = x[s, i] + _fma(kg[i, 2], n2, _fma(kg[i, 0], n0, kg[i, 1] * n1))
        # A P = P - K P[:3, :]
        for i in range(d):
            for j in range(d):
                acc = kg[i, 0] * P[s, 0, j]
                acc = _fma(kg[i, 1], P[s, 1, j], acc)
                acc = _fma(kg[i, 2], P[s, 2, j], acc)
                ap[i, j] = P[s, i, j] - acc
        # A P A^T = A P - (A P)[:, :3] K^T; then + (K R) K^T, from the same A P
        for i in range(d):
            for j in range(3):
                acc = kg[i, 0] * R[s, 0, j]
                acc = _fma(kg[i, 1], R[s, 1, j], acc)
                kr[i, j] = _fma(kg[i, 2], R[s, 2, j], acc)
        for i in range(d):
            for j in range(d):
                acc = ap[i, 0] * kg[j, 0]
                acc = _fma(ap[i, 1], kg[j, 1], acc)
                acc = _fma(ap[i, 2], kg[j, 2], acc)
                P_out[s, i, j] = ap[i, j] - acc
        for i in range(d):
            for j in range(d):
                acc = kr[i, 0] * kg[j, 0]
                acc = _fma(kr[i, 1], kg[j, 1], acc)
                acc = _fma(kr[i, 2], kg[j, 2], acc)
                P_out[s, i, j] += acc
        for i in range(d):
            for j in range(i, d):
                h = (P_out[s, i, j] + P_out[s, j, i]) * 0.5
                P_out[s, i, j] = h
                P_out[s, j, i] = h
