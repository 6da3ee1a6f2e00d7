"""Batched Kalman filter kernels in textbook notation.

Shapes carry a leading track axis: x (N, 6), P (N, 6, 6). The state is
[x, y, z, vx, vy, vz] in the map frame (m, m/s). Notation follows Bar-Shalom,
Li & Kirubarajan, *Estimation with Applications to Tracking and Navigation*
(2001): F transition, Q process noise, H measurement matrix, R measurement
noise, S innovation covariance, K gain.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["cv_model", "kf_predict", "kf_update_joseph", "H_POS"]

F64 = NDArray[np.float64]

H_POS = np.hstack([np.eye(3), np.zeros((3, 3))])
"""Position measurement matrix (3, 6)."""


def cv_model(dt_s: float, q_mps2: float) -> tuple[F64, F64]:
    """Constant-velocity transition and continuous white-noise acceleration Q.

    Per axis, F = [[1, dt], [0, 1]] and Q = q^2 [[dt^3/3, dt^2/2], [dt^2/2, dt]]
    (Bar-Shalom et al., eq. 6.2.3-8), q the acceleration noise density in
    m/s^2/sqrt(Hz) (given here as m/s^2 for a 1 s reference).

    Returns:
        (F, Q), each (6, 6).
    """
    F = np.eye(6)
    F[0, 3] = F[1, 4] = F[2, 5] = dt_s
    q2 = q_mps2 * q_mps2
    a, b, c = q2 * dt_s**3 / 3.0, q2 * dt_s**2 / 2.0, q2 * dt_s
    Q = np.zeros((6, 6))
    for i in range(3):
        Q[i, i], Q[i, i + 3], Q[i + 3, i], Q[i + 3, i + 3] = a, b, b, c
    return F, Q


def kf_predict(x: F64, P: F64, F: F64, Q: F64) -> tuple[F64, F64]:
    """Predict every track one step: x' = F x, P' = F P F^T + Q.

    Args:
        x: (N, 6) states.
        P: (N, 6, 6) covariances.
        F: (6, 6) transition, shared.
        Q: (6, 6) process noise, shared.
    """
    x_new: F64 = x @ F.T
    P_new: F64 = F @ P @ F.T + Q
    return x_new, P_new


def kf_update_joseph(x: F64, P: F64, z: F64, R: F64) -> tuple[F64, F64, F64, F64]:
    """Position update of N tracks with N measurements, Joseph form.

    K = P H^T S^-1, x' = x + K nu, P' = (I - K H) P (I - K H)^T + K R K^T; the
    Joseph form keeps P' symmetric positive definite under rounding
    (Bar-Shalom et al., eq. 5.2.3-18).

    Args:
        x: (N, 6) predicted states.
        P: (N, 6, 6) predicted covariances.
        z: (N, 3) position measurements.
        R: (N, 3, 3) measurement covariances.

    Returns:
        (x', P', nu, S): updated states and covariances, innovations (N, 3) and
        their covariances (N, 3, 3).
    """
    nu = z - x[:, :3]
    S = P[:, :3, :3] + R
    PHt = P[:, :, :3]
    K = np.linalg.solve(S, PHt.transpose(0, 2, 1)).transpose(0, 2, 1)
    x_new = x + np.einsum("nij,nj->ni", K, nu)
    A = np.broadcast_to(np.eye(6), P.shape).copy()
    A[:, :, :3] -= K
    P_new = A @ P @ A.transpose(0, 2, 1) + K @ R @ K.transpose(0, 2, 1)
    P_new = 0.5 * (P_new + P_new.transpose(0, 2, 1))
    return x_new, P_new, nu, S
