"""Gating and global-nearest-neighbour association.

A cheap Euclidean pre-gate (a necessary condition of the Mahalanobis gate)
prunes the track x detection pairs before any matrix is inverted; the surviving
pairs are scored with d^2 + ln|S| (the GNN cost of Blackman & Popoli, *Design
and Analysis of Modern Tracking Systems*, sec. 6.2) and assigned with
`scipy.optimize.linear_sum_assignment`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.special import chdtri

__all__ = ["gate_threshold", "gnn_associate"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

_BIG = 1e12


@lru_cache(maxsize=64)
def gate_threshold(probability: float, dim: int = 3) -> float:
    """Chi-square gate on d^2 that keeps a true measurement with `probability`."""
    return float(chdtri(dim, 1.0 - probability))


def gnn_associate(pred_pos: F64, pred_cov: F64, z: F64, R: F64, gate: float) -> tuple[I64, I64]:
    """Assign detections to tracks one-to-one, within the gate.

    Args:
        pred_pos: (N, 3) predicted track positions.
        pred_cov: (N, 3, 3) their covariances.
        z: (M, 3) detection positions.
        R: (M, 3, 3) detection covariances.
        gate: threshold on the squared Mahalanobis distance.

    Returns:
        (track_idx, det_idx): matched pairs, each (K,).
    """
    n, m = pred_pos.shape[0], z.shape[0]
    empty = np.zeros(0, dtype=np.int64)
    if n == 0 or m == 0:
        return empty, empty
    # |nu|^2 / trace(S) <= nu^T S^-1 nu, so this prunes nothing the gate keeps.
    d2e = np.sum((pred_pos[:, None, :] - z[None, :, :]) ** 2, axis=2)
    tr = np.trace(pred_cov, axis1=1, axis2=2)[:, None] + np.trace(R, axis1=1, axis2=2)[None, :]
    ti, dj = np.nonzero(d2e <= gate * tr)
    if ti.size == 0:
        return empty, empty
    S = pred_cov[ti] + R[dj]
    nu = z[dj] - pred_pos[ti]
    d2 = np.einsum("ki,ki->k", nu, np.linalg.solve(S, nu[:, :, None])[:, :, 0])
    ok = d2 <= gate
    ti, dj, d2, S = ti[ok], dj[ok], d2[ok], S[ok]
    if ti.size == 0:
        return empty, empty
    rows, ri = np.unique(ti, return_inverse=True)
    cols, ci = np.unique(dj, return_inverse=True)
    cost = np.full((rows.size, cols.size), _BIG)
    cost[ri, ci] = d2 + np.log(np.linalg.det(S))
    r, c = linear_sum_assignment(cost)
    keep = cost[r, c] < _BIG
    return rows[r[keep]].astype(np.int64), cols[c[keep]].astype(np.int64)
