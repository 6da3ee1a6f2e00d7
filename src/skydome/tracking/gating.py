"""Gating: which (track, detection) pairs may belong together, at N log N cost.

Two stages, so that no N x M matrix is ever formed:

1. **coarse, spatial**: a k-d tree over the detections
   (`scipy.spatial.cKDTree`) returns, for every predicted track position, the
   detections within the Euclidean radius sqrt(gamma (tr P_i + max_j tr R_j)).
   Because nu^T S^-1 nu >= |nu|^2 / lambda_max(S) >= |nu|^2 / tr(S), this is a
   necessary condition of the chi-square gate: it prunes nothing the gate keeps.
   Queries ask for the k nearest neighbours; tracks whose k-th neighbour is
   still inside their radius are asked again with 4k, so the result is exact
   while the common case (a few detections per gate) stays one vectorised call.
2. **fine, statistical**: the chi-square gate nu^T S^-1 nu <= gamma on the
   surviving pairs, S = P_i + R_j (Bar-Shalom, Li & Kirubarajan, *Estimation
   with Applications to Tracking and Navigation*, sec. 5.5.2), with the 3 x 3
   inverses written out.

Small problems (n x m below `DENSE_PAIRS`) skip the tree: a dense Euclidean
test is cheaper than building it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import chdtri

from skydome.arrays import F64, I64
from skydome.tracking.kalman import mahalanobis_sq

__all__ = ["DENSE_PAIRS", "Gated", "gate_pairs", "gate_threshold"]


DENSE_PAIRS = 20_000
"""Below this many (track, detection) pairs the coarse gate is a dense test."""


@lru_cache(maxsize=64)
def gate_threshold(probability: float, dim: int = 3) -> float:
    """Chi-square gate on d^2 that keeps a true measurement with `probability`."""
    return float(chdtri(dim, 1.0 - probability))


@dataclass(frozen=True)
class Gated:
    """The (track, detection) pairs inside the gate (K pairs).

    Attributes:
        track: (K,) track row.
        det: (K,) detection row.
        d2: (K,) squared Mahalanobis distance nu^T S^-1 nu.
        logdet: (K,) ln|S|, S = P_track + R_det (m^6).
    """

    track: I64
    det: I64
    d2: F64
    logdet: F64

    @staticmethod
    def none() -> Gated:
        """No pairs."""
        e = np.zeros(0, dtype=np.int64)
        return Gated(e, e, np.zeros(0), np.zeros(0))

    @property
    def n(self) -> int:
        """Number of pairs."""
        return int(self.track.shape[0])


def _coarse_dense(pred_pos: F64, z: F64, bound2: F64, trR: F64) -> tuple[I64, I64]:
    d2e = np.sum((pred_pos[:, None, :] - z[None, :, :]) ** 2, axis=2)
    ti, dj = np.nonzero(d2e <= bound2[:, None] + trR[None, :])
    return ti.astype(np.int64), dj.astype(np.int64)


def _coarse_tree(pred_pos: F64, z: F64, radius: F64, k0: int) -> tuple[I64, I64]:
    m = z.shape[0]
    tree = cKDTree(z, balanced_tree=False, compact_nodes=False)
    rows = np.arange(pred_pos.shape[0])
    k = min(k0, m)
    ti: list[I64] = []
    dj: list[I64] = []
    while rows.size:  # at most log4(m) rounds
        r = radius[rows]
        dist, idx = tree.query(pred_pos[rows], k=k, distance_upper_bound=float(r.max()) * 1.000001)
        dist = np.asarray(dist, dtype=np.float64).reshape(rows.size, k)
        idx = np.asarray(idx, dtype=np.int64).reshape(rows.size, k)
        ok = dist <= r[:, None]
        more = ok[:, -1] if k < m else np.zeros(rows.size, dtype=bool)
        a, b = np.nonzero(ok & ~more[:, None])
        ti.append(rows[a])
        dj.append(idx[a, b])
        rows = rows[more]
        k = min(4 * k, m)
    return np.concatenate(ti).astype(np.int64), np.concatenate(dj)


def gate_pairs(pred_pos: F64, pred_cov: F64, z: F64, R: F64, gamma: float, k0: int = 4) -> Gated:
    """Every (track, detection) pair inside the chi-square gate.

    Args:
        pred_pos: (N, 3) predicted track positions, m.
        pred_cov: (N, 3, 3) their covariances, m^2.
        z: (M, 3) detection positions, m.
        R: (M, 3, 3) detection covariances, m^2.
        gamma: threshold on the squared Mahalanobis distance.
        k0: neighbours asked for first in the k-d tree.

    Returns:
        The gated pairs, sorted by track then detection.
    """
    n, m = pred_pos.shape[0], z.shape[0]
    if n == 0 or m == 0:
        return Gated.none()
    # Traces written out: np.trace's wrapper costs more than the sum at these sizes
    # (same order of additions, so the same bits).
    trP = pred_cov[:, 0, 0] + pred_cov[:, 1, 1] + pred_cov[:, 2, 2]
    trR = R[:, 0, 0] + R[:, 1, 1] + R[:, 2, 2]
    dense = n * m <= DENSE_PAIRS
    if dense:
        ti, dj = _coarse_dense(pred_pos, z, gamma * trP, gamma * trR)
    else:
        radius = np.sqrt(gamma * (trP + trR.max()))
        ti, dj = _coarse_tree(pred_pos, z, radius, k0)
        nu = z[dj] - pred_pos[ti]
        ok = np.einsum("ki,ki->k", nu, nu) <= gamma * (trP[ti] + trR[dj])
        ti, dj = ti[ok], dj[ok]
    if ti.size == 0:
        return Gated.none()
    nu = z[dj] - pred_pos[ti]
    d2, logdet = mahalanobis_sq(nu, pred_cov[ti] + R[dj])
    ok = d2 <= gamma
    ti, dj, d2, logdet = ti[ok], dj[ok], d2[ok], logdet[ok]
    if dense:  # np.nonzero of the (n, m) test is already in (track, detection) order
        return Gated(ti, dj, d2, logdet)
    order = np.lexsort((dj, ti))
    return Gated(ti[order], dj[order], d2[order], logdet[order])
