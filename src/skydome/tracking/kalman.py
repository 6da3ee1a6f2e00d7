"""Batched Kalman filter kernels and motion models, in textbook notation.

Shapes carry a leading track axis: x (N, D), P (N, D, D). Kinematic states are
ordered positions first, [x, y, z, vx, vy, vz] (D = 6) or
[x, y, z, vx, vy, vz, ax, ay, az] (D = 9), in the map frame (m, m/s, m/s^2),
so the position measurement matrix is H = [I3 0] for every model. Notation
follows Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to Tracking
and Navigation* (2001): F transition, Q process noise, H measurement matrix,
R measurement noise, S innovation covariance, K gain.

The 3 x 3 inverses and determinants that gating and updates need for every
track at once are written out (cofactors) rather than calling
`numpy.linalg.solve`, which is ~10x slower on stacks of small matrices.

`KalmanFilter(CvModel(q))` and `KalmanFilter(CaModel(q))` are the
constant-velocity and constant-acceleration filters a tracker runs; see
`skydome.tracking.imm` for the interacting multiple model filter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from skydome.arrays import F64
from skydome.tracking.base import Kinematics

__all__ = [
    "H_POS",
    "BallisticModel",
    "CaModel",
    "CtModel",
    "CvModel",
    "KalmanFilter",
    "ca_model",
    "ct_model",
    "cv_model",
    "det3",
    "inv3",
    "kf_predict",
    "kf_predict_reference",
    "kf_update_joseph",
    "kf_update_joseph_reference",
    "mahalanobis_sq",
    "model_drift",
]


H_POS = np.hstack([np.eye(3), np.zeros((3, 3))])
"""Position measurement matrix of the 6-state models (3, 6)."""


# --- motion models ------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _cv_model_cached(dt_s: float, q_mps2: float) -> tuple[F64, F64]:
    F = np.eye(6)
    F[0, 3] = F[1, 4] = F[2, 5] = dt_s
    q2 = q_mps2 * q_mps2
    a, b, c = q2 * dt_s**3 / 3.0, q2 * dt_s**2 / 2.0, q2 * dt_s
    Q = np.zeros((6, 6))
    for i in range(3):
        Q[i, i], Q[i, i + 3], Q[i + 3, i], Q[i + 3, i + 3] = a, b, b, c
    F.setflags(write=False)
    Q.setflags(write=False)
    return F, Q


def cv_model(dt_s: float, q_mps2: float) -> tuple[F64, F64]:
    """Constant-velocity transition and continuous white-noise acceleration Q.

    Per axis, F = [[1, dt], [0, 1]] and Q = q^2 [[dt^3/3, dt^2/2], [dt^2/2, dt]]
    (Bar-Shalom et al., eq. 6.2.3-8), q the acceleration noise density in
    m/s^2/sqrt(Hz) (given here as m/s^2 for a 1 s reference).

    Args:
        dt_s: time step, s.
        q_mps2: acceleration noise density sqrt(q).

    Returns:
        (F, Q), each (6, 6), read-only (cached).
    """
    return _cv_model_cached(float(dt_s), float(q_mps2))


@lru_cache(maxsize=256)
def _ca_model_cached(dt_s: float, q_mps3: float) -> tuple[F64, F64]:
    t = dt_s
    f1 = np.array([[1.0, t, 0.5 * t * t], [0.0, 1.0, t], [0.0, 0.0, 1.0]])
    q1 = (q_mps3 * q_mps3) * np.array(
        [
            [t**5 / 20.0, t**4 / 8.0, t**3 / 6.0],
            [t**4 / 8.0, t**3 / 3.0, t**2 / 2.0],
            [t**3 / 6.0, t**2 / 2.0, t],
        ]
    )
    # Per-axis blocks [p, v, a] interleaved into [x y z | vx vy vz | ax ay az].
    F = np.asarray(np.kron(f1, np.eye(3)), dtype=np.float64)
    Q = np.asarray(np.kron(q1, np.eye(3)), dtype=np.float64)
    F.setflags(write=False)
    Q.setflags(write=False)
    return F, Q


def ca_model(dt_s: float, q_mps3: float) -> tuple[F64, F64]:
    """Constant-acceleration (Wiener-process acceleration) transition and Q.

    Per axis, state [p, v, a], F = [[1, dt, dt^2/2], [0, 1, dt], [0, 0, 1]] and
    Q = q^2 [[dt^5/20, dt^4/8, dt^3/6], [dt^4/8, dt^3/3, dt^2/2], [dt^3/6, dt^2/2, dt]]
    for a continuous white jerk of density q^2 (Bar-Shalom et al., sec. 6.2.3,
    eq. 6.2.3-11).

    Args:
        dt_s: time step, s.
        q_mps3: jerk noise density sqrt(q), m/s^3/sqrt(Hz).

    Returns:
        (F, Q), each (9, 9), state [x, y, z, vx, vy, vz, ax, ay, az], read-only.
    """
    return _ca_model_cached(float(dt_s), float(q_mps3))


@lru_cache(maxsize=256)
def _ct_model_cached(dt_s: float, omega_rps: float, q_mps2: float) -> tuple[F64, F64]:
    F_cv, Q = _cv_model_cached(dt_s, q_mps2)
    w, t = omega_rps, dt_s
    if abs(w * t) < 1e-9:
        return F_cv, Q
    s, c = math.sin(w * t), math.cos(w * t)
    F = np.array(F_cv)
    F[0, 3], F[0, 4] = s / w, -(1.0 - c) / w
    F[1, 3], F[1, 4] = (1.0 - c) / w, s / w
    F[3, 3], F[3, 4] = c, -s
    F[4, 3], F[4, 4] = s, c
    F.setflags(write=False)
    return F, Q


def ct_model(dt_s: float, omega_rps: float, q_mps2: float) -> tuple[F64, F64]:
    """Coordinated turn in the horizontal plane at a known rate, CV vertically.

    With turn rate w (rad/s, positive counter-clockwise seen from above, i.e.
    from east towards north), over a step T:
    x' = x + sin(wT)/w vx - (1 - cos(wT))/w vy,
    y' = y + (1 - cos(wT))/w vx + sin(wT)/w vy,
    [vx', vy'] = Rot(wT) [vx, vy] (Bar-Shalom et al., eq. 11.7.1-4; Blackman &
    Popoli, *Design and Analysis of Modern Tracking Systems*, sec. 4.2.2). The
    process noise is the CV model's white acceleration.

    Args:
        dt_s: time step, s.
        omega_rps: turn rate, rad/s.
        q_mps2: acceleration noise density sqrt(q).

    Returns:
        (F, Q), each (6, 6), read-only.
    """
    return _ct_model_cached(float(dt_s), float(omega_rps), float(q_mps2))


@dataclass(frozen=True)
class CvModel:
    """Nearly constant velocity: white acceleration of density `q_mps2`^2 (D = 6)."""

    q_mps2: float
    dim: int = 6

    def transition(self, dt_s: float) -> tuple[F64, F64]:
        """(F, Q) over `dt_s`, see `cv_model`."""
        return cv_model(dt_s, self.q_mps2)


@dataclass(frozen=True)
class CaModel:
    """Nearly constant acceleration: white jerk of density `q_mps3`^2 (D = 9)."""

    q_mps3: float
    dim: int = 9

    def transition(self, dt_s: float) -> tuple[F64, F64]:
        """(F, Q) over `dt_s`, see `ca_model`."""
        return ca_model(dt_s, self.q_mps3)


@dataclass(frozen=True)
class CtModel:
    """Coordinated turn at a fixed rate `omega_rps` plus white acceleration (D = 6)."""

    omega_rps: float
    q_mps2: float
    dim: int = 6

    def transition(self, dt_s: float) -> tuple[F64, F64]:
        """(F, Q) over `dt_s`, see `ct_model`."""
        return ct_model(dt_s, self.omega_rps, self.q_mps2)


@lru_cache(maxsize=256)
def _gravity_drift_cached(dt_s: float, g_mps2: float) -> F64:
    d = np.zeros(6)
    d[2] = -0.5 * g_mps2 * dt_s * dt_s
    d[5] = -g_mps2 * dt_s
    d.setflags(write=False)
    return d


@dataclass(frozen=True)
class BallisticModel:
    """Constant velocity under known gravity, plus white acceleration (D = 6).

    x' = F x + d with the CV transition F and the known drift
    d = [0, 0, -g dt^2/2, 0, 0, -g dt] of a body in free fall in the local flat
    map frame (z up): the vacuum ballistic arc, exact for skydome's ballistic
    threats before re-entry (`skydome.threats`); the white acceleration `q_mps2`
    absorbs what the flat, drag-free arc leaves out. Bar-Shalom, Li &
    Kirubarajan, sec. 6.2 (a known input to the linear model).
    """

    q_mps2: float
    g_mps2: float = 9.80665
    dim: int = 6

    def transition(self, dt_s: float) -> tuple[F64, F64]:
        """(F, Q) over `dt_s`, see `cv_model`."""
        return cv_model(dt_s, self.q_mps2)

    def drift(self, dt_s: float) -> F64:
        """(6,) known change of the state over `dt_s` beyond F x (gravity)."""
        return _gravity_drift_cached(float(dt_s), float(self.g_mps2))


def model_drift(model: object, dt_s: float) -> F64 | None:
    """The model's known drift over `dt_s` (a model without `drift`: None)."""
    fn = getattr(model, "drift", None)
    return None if fn is None else np.asarray(fn(dt_s), dtype=np.float64)


# --- small dense linear algebra, batched ----------------------------------------------------


def det3(A: F64) -> F64:
    """Determinants of a stack of 3 x 3 matrices (..., 3, 3) -> (...)."""
    out: F64 = (
        A[..., 0, 0] * (A[..., 1, 1] * A[..., 2, 2] - A[..., 1, 2] * A[..., 2, 1])
        - A[..., 0, 1] * (A[..., 1, 0] * A[..., 2, 2] - A[..., 1, 2] * A[..., 2, 0])
        + A[..., 0, 2] * (A[..., 1, 0] * A[..., 2, 1] - A[..., 1, 1] * A[..., 2, 0])
    )
    return out


_P1 = np.array([4, 2, 1, 5, 0, 2, 3, 1, 0])
_P2 = np.array([8, 7, 5, 6, 8, 3, 7, 6, 4])
_Q1 = np.array([5, 1, 2, 3, 2, 0, 4, 0, 1])
_Q2 = np.array([7, 8, 4, 8, 6, 5, 6, 7, 3])
"""`inv3`'s adjugate entries as products of flattened 3 x 3 entries."""


def inv3(A: F64) -> tuple[F64, F64]:
    """Inverses and determinants of a stack of 3 x 3 matrices, by cofactors.

    Args:
        A: (..., 3, 3) non-singular matrices.

    Returns:
        (A^-1 (..., 3, 3), det A (...)).
    """
    # With A = [[a, b, c], [d, e, f], [g, h, i]] flattened row-major, entry k of
    # the adjugate is A[_P1[k]] A[_P2[k]] - A[_Q1[k]] A[_Q2[k]] (e i - f h, c h - b i,
    # ...): four gathers instead of eighteen products of single entries (the same
    # products and differences, so the same bits).
    flat = A.reshape(-1, 9)
    adj = flat.take(_P1, axis=1) * flat.take(_P2, axis=1)
    adj -= flat.take(_Q1, axis=1) * flat.take(_Q2, axis=1)
    det = flat[:, 0] * adj[:, 0] + flat[:, 1] * adj[:, 3] + flat[:, 2] * adj[:, 6]
    r = 1.0 / det
    adj *= r[:, None]
    return adj.reshape(A.shape), det.reshape(A.shape[:-2])


def mahalanobis_sq(nu: F64, S: F64) -> tuple[F64, F64]:
    """Squared Mahalanobis distances nu^T S^-1 nu and ln|S| for stacked 3-vectors.

    Args:
        nu: (K, 3) innovations.
        S: (K, 3, 3) their covariances (symmetric positive definite).

    Returns:
        (d2 (K,), ln|S| (K,)).
    """
    Si, det = inv3(S)
    d2: F64 = np.einsum("ki,kij,kj->k", nu, Si, nu)
    return d2, np.log(det)


# --- Kalman kernels -----------------------------------------------------------------------


def kf_predict(x: F64, P: F64, F: F64, Q: F64) -> tuple[F64, F64]:
    """Predict every track one step: x' = F x, P' = F P F^T + Q.

    Compiled, one track at a time (`kalman_kernel.predict_kernel`): the same
    operations as the numpy form `kf_predict_reference`, without BLAS's
    per-matrix call overhead.

    Args:
        x: (N, D) states.
        P: (N, D, D) covariances.
        F: (D, D) transition, shared.
        Q: (D, D) process noise, shared.
    """
    from skydome.tracking.kalman_kernel import predict_kernel

    x_new, P_new = np.empty(x.shape), np.empty(P.shape)
    predict_kernel(_c(x), _c(P), _c(F), _c(Q), x_new, P_new)
    return x_new, P_new


def _c(a: F64) -> F64:
    """A C-contiguous float64 array (one compiled signature per kernel)."""
    return np.ascontiguousarray(a, dtype=np.float64)


def kf_predict_reference(x: F64, P: F64, F: F64, Q: F64) -> tuple[F64, F64]:
    """`kf_predict` in numpy (stacked matmuls): the compiled kernel's reference."""
    x_new: F64 = x @ F.T
    FP = np.matmul(F, P)
    P_new: F64 = np.matmul(FP, F.T, out=FP if FP is not P else None)
    P_new += Q
    return x_new, P_new


def kf_update_joseph(x: F64, P: F64, z: F64, R: F64) -> tuple[F64, F64, F64, F64]:
    """Position update of N tracks with N measurements, Joseph form.

    K = P H^T S^-1, x' = x + K nu, P' = (I - K H) P (I - K H)^T + K R K^T with
    H = [I3 0]; the Joseph form keeps P' symmetric positive definite under
    rounding (Bar-Shalom et al., eq. 5.2.3-18). With A = I - K H it is evaluated
    as A P = P - K (H P), then (A P) A^T = A P - (A P H^T) K^T. Compiled, one
    track at a time (`kalman_kernel.update_joseph_kernel`): the operations of the
    numpy form `kf_update_joseph_reference`, without BLAS's per-matrix overhead
    (~1.3 us a track).

    Args:
        x: (N, D) predicted states, positions first.
        P: (N, D, D) predicted covariances.
        z: (N, 3) position measurements.
        R: (N, 3, 3) measurement covariances.

    Returns:
        (x', P', nu, S): updated states and covariances, innovations (N, 3) and
        their covariances (N, 3, 3).
    """
    from skydome.tracking.kalman_kernel import update_joseph_kernel

    n, d = x.shape
    x_new, P_new = np.empty((n, d)), np.empty((n, d, d))
    nu, S = np.empty((n, 3)), np.empty((n, 3, 3))
    update_joseph_kernel(_c(x), _c(P), _c(z), _c(R), x_new, P_new, nu, S)
    return x_new, P_new, nu, S


def kf_update_joseph_reference(x: F64, P: F64, z: F64, R: F64) -> tuple[F64, F64, F64, F64]:  # noqa: N803
    """`kf_update_joseph` in numpy (stacked matmuls): the compiled kernel's reference.

    With A = I - K H: A P = P - K (H P), then (A P) A^T = A P - (A P H^T) K^T,
    which exploits the structure of H and keeps two (N, D, D) temporaries.
    """
    nu = z - x[:, :3]
    S = P[:, :3, :3] + R
    Si, _ = inv3(S)
    K = np.ascontiguousarray(P[:, :, :3]) @ Si  # (N, D, 3)
    x_new = x + (K @ nu[:, :, None])[:, :, 0]
    Kt = np.ascontiguousarray(K.transpose(0, 2, 1))
    AP = np.matmul(K, np.ascontiguousarray(P[:, :3, :]))
    np.subtract(P, AP, out=AP)  # A P
    T = np.matmul(np.ascontiguousarray(AP[:, :, :3]), Kt)
    AP -= T  # A P A^T
    np.matmul(K @ R, Kt, out=T)
    AP += T  # + K R K^T
    np.add(AP, AP.transpose(0, 2, 1), out=T)
    T *= 0.5
    return x_new, T, nu, S


def gaussian_loglik(nu: F64, S: F64) -> F64:
    """Ln N(nu; 0, S) for stacked 3-vectors (K,), the IMM mode likelihood."""
    d2, logdet = mahalanobis_sq(nu, S)
    out: F64 = -0.5 * (d2 + logdet + 3.0 * math.log(2.0 * math.pi))
    return out


# --- a single-model filter ----------------------------------------------------------------


@dataclass(frozen=True)
class KalmanFilter:
    """A linear Kalman filter with one motion model, batched over tracks.

    With a 6-state model the filter state is `Kinematics.x, P` itself; with a
    9-state (constant-acceleration) model the full state lives in
    `mode_x (N, 1, 9)`, `mode_P (N, 1, 9, 9)` and `x, P` are its position and
    velocity part.

    Attributes:
        model: the motion model (`CvModel`, `CaModel`, `CtModel` or any object
            with `dim` and `transition(dt_s) -> (F, Q)`).
        initial_acceleration_sigma_mps2: prior acceleration standard deviation of
            a new track (9-state models only).
    """

    model: CvModel | CaModel | CtModel | BallisticModel
    initial_acceleration_sigma_mps2: float = 30.0

    @property
    def n_modes(self) -> int:
        """Number of filter modes stored in `Kinematics.mode_*` (0: none)."""
        return 0 if self.model.dim == 6 else 1

    def initiate(self, z: F64, R: F64, velocity_sigma_mps: float) -> Kinematics:
        """New tracks at measured positions, zero velocity (and acceleration).

        Args:
            z: (M, 3) positions.
            R: (M, 3, 3) their covariances.
            velocity_sigma_mps: prior velocity standard deviation per axis.
        """
        k = Kinematics.from_positions(z, R, velocity_sigma_mps)
        if self.model.dim == 6:
            return k
        return self._lift(k)

    def _lift(self, k: Kinematics) -> Kinematics:
        """Embed 6-state kinematics in this filter's 9-state mode arrays."""
        n = k.n
        mx = np.zeros((n, 1, 9))
        mx[:, 0, :6] = k.x
        mP = np.zeros((n, 1, 9, 9))
        mP[:, 0, :6, :6] = k.P
        s2 = self.initial_acceleration_sigma_mps2**2
        mP[:, 0, 6, 6] = mP[:, 0, 7, 7] = mP[:, 0, 8, 8] = s2
        return replace(k, mode_x=mx, mode_P=mP, mode_prob=np.ones((n, 1)))

    def predict(self, k: Kinematics, dt_s: float) -> Kinematics:
        """Predict all tracks `dt_s` ahead."""
        F, Q = self.model.transition(dt_s)
        if self.model.dim == 6:
            x, P = kf_predict(k.x, k.P, F, Q)
            d = model_drift(self.model, dt_s)
            if d is not None:
                x += d
            return Kinematics(x, P, k.mode_x[:, :0], k.mode_P[:, :0], k.mode_prob[:, :0])
        if k.mode_x.shape[1:] != (1, self.model.dim):
            k = self._lift(k)
        mx, mP = kf_predict(k.mode_x[:, 0], k.mode_P[:, 0], F, Q)
        return Kinematics(mx[:, :6], mP[:, :6, :6], mx[:, None], mP[:, None], k.mode_prob)

    def update(self, k: Kinematics, z: F64, R: F64) -> Kinematics:
        """Update track i of `k` with measurement i (Joseph form)."""
        if self.model.dim == 6:
            x, P, _, _ = kf_update_joseph(k.x, k.P, z, R)
            return Kinematics(x, P, k.mode_x, k.mode_P, k.mode_prob)
        if k.mode_x.shape[1:] != (1, self.model.dim):
            k = self._lift(k)
        mx, mP, _, _ = kf_update_joseph(k.mode_x[:, 0], k.mode_P[:, 0], z, R)
        return Kinematics(mx[:, :6], mP[:, :6, :6], mx[:, None], mP[:, None], k.mode_prob)
