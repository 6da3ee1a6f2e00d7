"""Fire-control quality gate: engage a track only when the missile can correct its error.

A launch commits a missile to an intercept point predicted from the track. The
prediction is uncertain: the track's own estimation error (`P`, large for a
young track whose velocity is barely known) carried forward to the intercept,
plus the target's unpredictable motion meanwhile (the tracker's process noise).
The gate compares that uncertainty with what the missile can still remove:

- its terminal correction: the homing basket of the type (kinematic flyout) or
  its seeker's acquisition range (guided flyout: the seeker acquires the threat
  nearest the track estimate within that range);
- its midcourse updates: the aim point follows the fire-control track during
  the flight, so an error of a fraction `midcourse_share` of the distance flown
  (a heading correction of about `atan(midcourse_share)`) is removed on the way.

With `F(T) = [[I, T I], [0, I]]` (constant velocity over the horizon `T` from
the track's time to the intercept) and white-noise acceleration of density
`q^2` (Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to Tracking
and Navigation*, 2001, sec. 6.2.2), the position block of `F P F' + Q(T)` is

    C(T) = P_pp + T (P_pv + P_vp) + T^2 P_vv + q^2 T_q^3 / 3 I,

with the process noise acting over `T_q = min(T, noise_horizon_s)` only: the
engine passes the doctrine's `max_track_age_s`, because midcourse updates
follow the target's later manoeuvres until the last update before handover,
and `q` is a filter tuning for one revisit (over a 250 s flight `q^2 T^3 / 3`
would predict velocity changes of `q sqrt(T)`, ~300 m/s at q = 20 m/s^2).

The gate's sigma is `sqrt(lambda_max(C))`, the standard deviation along the
worst direction: a sphere of radius `k sigma` holds at least the chi-square(3)
probability of `k^2` (97.1 % at k = 3) whatever the shape of the ellipsoid.
The same covariance is used for a tracker whose motion model is not constant
velocity (its combined `x, P`): the gate is a conservative screen, not a filter.

Every function is vectorised over tracks, batteries and types; no engine or
scenario imports.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64

__all__ = [
    "HOLD_ENVELOPE",
    "HOLD_LAUNCHER",
    "HOLD_NONE",
    "HOLD_QUALITY",
    "HOLD_RESERVE",
    "correctable_error_m",
    "hold_reason",
    "largest_eigenvalue_sym3",
    "position_sigma_m",
    "predicted_position_cov",
    "quality_ok",
]

B = NDArray[np.bool_]

HOLD_NONE, HOLD_QUALITY, HOLD_ENVELOPE, HOLD_LAUNCHER, HOLD_RESERVE = 0, 1, 2, 3, 4
"""Why a confirmed track was not engaged at a decision (0: it was, or it is in
an engagement), in order of precedence."""


_EYE3 = np.eye(3)
_EYE3.setflags(write=False)


def predicted_position_cov(
    P: F64,  # noqa: N803
    horizon_s: F64,
    q_mps2: float,
    noise_horizon_s: float = np.inf,
) -> F64:
    """Position covariance of tracks extrapolated at constant velocity.

    Args:
        P: (N, 6, 6) track covariances [position, velocity], m and m/s.
        horizon_s: (N, ...) extrapolation time T of each track (any trailing
            shape, e.g. (N, B, M) batteries and types), s, >= 0.
        q_mps2: white-noise acceleration density sqrt(q), m/s^2.
        noise_horizon_s: the process noise acts over `min(T, noise_horizon_s)`.

    Returns:
        (N, ..., 3, 3) `C(T) = P_pp + T (P_pv + P_vp) + T^2 P_vv + q^2 T_q^3/3 I`,
        `T_q = min(T, noise_horizon_s)`, m^2.
    """
    extra = horizon_s.ndim - 1
    shape = (P.shape[0],) + (1,) * extra + (3, 3)
    pp = P[:, :3, :3].reshape(shape)
    pv = (P[:, :3, 3:] + P[:, 3:, :3]).reshape(shape)
    vv = P[:, 3:, 3:].reshape(shape)
    t = horizon_s[..., None, None]
    tq = np.minimum(t, noise_horizon_s)
    cov: F64 = pp + t * pv + t * t * vv + (q_mps2 * q_mps2 / 3.0) * tq**3 * _EYE3
    return cov


def position_sigma_m(
    P: F64,  # noqa: N803
    horizon_s: F64,
    q_mps2: float,
    noise_horizon_s: float = np.inf,
) -> F64:
    """Standard deviation along the worst direction of the extrapolated position.

    Args:
        P: (N, 6, 6) track covariances.
        horizon_s: (N, ...) extrapolation times, s (non-finite entries give nan).
        q_mps2: white-noise acceleration density sqrt(q), m/s^2.
        noise_horizon_s: the process noise acts over at most this long, s.

    Returns:
        (N, ...) `sqrt(lambda_max(C(T)))`, m.
    """
    finite = np.isfinite(horizon_s)
    cov = predicted_position_cov(P, np.where(finite, horizon_s, 0.0), q_mps2, noise_horizon_s)
    lam = largest_eigenvalue_sym3(cov)
    sigma: F64 = np.where(finite, np.sqrt(np.maximum(lam, 0.0)), np.nan)
    return sigma


def largest_eigenvalue_sym3(a: F64) -> F64:
    """Largest eigenvalue of each symmetric 3x3 matrix, in closed form.

    The trigonometric solution of the characteristic cubic (Smith, "Eigenvalues
    of a symmetric 3 x 3 matrix", Commun. ACM 4(4), 1961): with q = tr(A)/3,
    p = sqrt(tr((A - qI)^2) / 6) and r = det((A - qI)/p)/2, the largest root is
    q + 2p cos(arccos(r)/3). The decision cycle evaluates one per (track,
    battery, type); np.linalg.eigvalsh's per-matrix LAPACK call cost half the
    decision's time.

    Args:
        a: (..., 3, 3) symmetric matrices.

    Returns:
        (...) their largest eigenvalues.
    """
    a00, a11, a22 = a[..., 0, 0], a[..., 1, 1], a[..., 2, 2]
    a01, a02, a12 = a[..., 0, 1], a[..., 0, 2], a[..., 1, 2]
    q = (a00 + a11 + a22) / 3.0
    b00, b11, b22 = a00 - q, a11 - q, a22 - q
    p1 = a01 * a01 + a02 * a02 + a12 * a12
    p = np.sqrt((b00 * b00 + b11 * b11 + b22 * b22 + 2.0 * p1) / 6.0)
    det = (
        b00 * (b11 * b22 - a12 * a12)
        - a01 * (a01 * b22 - a12 * a02)
        + a02 * (a01 * a12 - b11 * a02)
    )
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        r = np.clip(det / (2.0 * p * p * p), -1.0, 1.0)
    # p^3 underflows for p below ~1e-103 (tiny, nearly isotropic matrices): r is
    # then 0/0, and every eigenvalue is q to within p.
    lam: F64 = np.where((p > 0.0) & (r == r), q + 2.0 * p * np.cos(np.arccos(r) / 3.0), q)
    return lam


def correctable_error_m(terminal_m: F64, midcourse_share: float, flight_m: F64) -> F64:
    """Largest intercept-point error a missile can still remove.

    Args:
        terminal_m: (M,) terminal correction of each type (homing basket or
            seeker acquisition range), m.
        midcourse_share: error removed by midcourse updates per metre flown.
        flight_m: (N, B, M) distance from the battery to the intercept point, m.

    Returns:
        (N, B, M) `terminal + midcourse_share * flight`, m.
    """
    out: F64 = terminal_m[None, None, :] + midcourse_share * flight_m
    return out


def quality_ok(sigma_m: F64, correctable_m: F64, sigmas: float, hits: I64, min_hits: int) -> B:
    """(N, B, M) track quality is good enough for a (battery, type).

    Args:
        sigma_m: (N, B, M) predicted position sigma at the intercept point, m (nan: none).
        correctable_m: (N, B, M) what the missile can remove, m.
        sigmas: k, the number of sigmas that must fit.
        hits: (N,) detections associated with each track.
        min_hits: minimum number of detections.
    """
    with np.errstate(invalid="ignore"):
        fits = sigmas * sigma_m <= correctable_m
    ok: B = fits & (hits >= min_hits)[:, None, None]
    return ok


def hold_reason(mature: B, reachable: B, correctable: B, left: B, engaged: B) -> I64:
    """(N,) why each candidate track is held (`HOLD_*`), in order of precedence.

    Args:
        mature: (N,) enough updates and fresh enough.
        reachable: (N, B, M) inside the envelope and the fire-control coverage.
        correctable: (N, B, M) the predicted error fits what the missile corrects.
        left: (N, B, M) after this decision's launches, a salvo of the type is
            still on the battery's launchers and it has a target channel and a
            salvo's missile channels free.
        engaged: (N,) missiles were launched at the track at this decision.

    Returns:
        (N,) `HOLD_QUALITY` (too few updates, or every reachable cell's error too
        large), `HOLD_ENVELOPE` (no reachable cell), `HOLD_LAUNCHER` (no salvo or
        channel left for a good cell), `HOLD_RESERVE` (one was left: the planner
        held the track back), `HOLD_NONE` (engaged).
    """
    any_reach = reachable.any(axis=(1, 2))
    good = reachable & correctable
    any_good = good.any(axis=(1, 2))
    any_left = (good & left).any(axis=(1, 2))
    # The first reason that applies, in order of precedence: written from the
    # last to the first, so that an earlier one overwrites (np.select's result).
    reason: I64 = np.full(mature.shape[0], HOLD_RESERVE, dtype=np.int64)
    reason[~any_left] = HOLD_LAUNCHER
    reason[~any_good] = HOLD_QUALITY
    reason[~any_reach] = HOLD_ENVELOPE
    reason[~mature] = HOLD_QUALITY
    reason[engaged] = HOLD_NONE
    return reason
