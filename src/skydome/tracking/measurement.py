"""Radar measurements in range, azimuth and elevation, converted for a linear filter.

skydome tracks in Cartesian coordinates with converted measurements: each
(r, az, el) detection becomes a position with a full 3 x 3 covariance, so every
sensor feeds the same batched linear update and the same k-d-tree gate. The
conversion is the *unbiased* one (Mo, Song, Zhou, Sun & Bar-Shalom, "Unbiased
converted measurements for tracking", IEEE TAES 34(3), 1998): with Gaussian
angle errors, E[cos(a~)] = lambda_a = exp(-sigma_a^2 / 2), so the plain
conversion r cos(el) sin(az) is biased towards the sensor by the factor
lambda_a lambda_e; dividing by it removes the bias. The covariance is that
of the conversion error given the measurement (Mo et al.'s "measurement-
conditioned" form), which keeps the normalised error chi-square with 3 degrees
of freedom even where the linearised covariance does not.

Why not an EKF in polar coordinates: the converted filter keeps one linear
update for every sensor (detections from radars of different accuracies are
fused in one batched call) and keeps gating Cartesian; the first-order
(linearised) conversion it replaces is consistent only while the cross-range
bias is small, r sigma_a^2 / sigma_r < 0.4 (Lerro & Bar-Shalom, "Tracking with
debiased consistent converted measurements versus EKF", IEEE TAES 29(3), 1993);
the unbiased conversion stays consistent well beyond (see
`tests/test_tracking_scale.py::test_unbiased_conversion_is_consistent_where_linearised_is_not`).

Frame: local East-North-Up at the sensor, azimuth clockwise from north
(x = r cos(el) sin(az), y = r cos(el) cos(az), z = r sin(el)), as in
`skydome.geo.radar_geometry` for short ranges.
"""

from __future__ import annotations

import numpy as np

from skydome.arrays import F64

__all__ = ["linearised_polar_covariance", "polar_to_enu", "unbiased_polar_to_enu"]


def polar_to_enu(r_m: F64, az_rad: F64, el_rad: F64) -> F64:
    """Plain conversion of (r, az, el) to sensor-centred ENU, (M, 3)."""
    ce = np.cos(el_rad)
    return np.column_stack(
        [r_m * ce * np.sin(az_rad), r_m * ce * np.cos(az_rad), r_m * np.sin(el_rad)]
    )


def linearised_polar_covariance(
    r_m: F64,
    az_rad: F64,
    el_rad: F64,
    sigma_r_m: F64 | float,
    sigma_az_rad: F64 | float,
    sigma_el_rad: F64 | float,
) -> F64:
    """First-order covariance J diag(sigma^2) J^T of the plain conversion (M, 3, 3).

    Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to Tracking and
    Navigation*, sec. 10.4.3; the same as `skydome.sensors.radar.polar_covariance`.
    """
    sa, ca = np.sin(az_rad), np.cos(az_rad)
    se, ce = np.sin(el_rad), np.cos(el_rad)
    J = np.empty((np.shape(r_m)[0], 3, 3))
    J[:, 0, 0], J[:, 1, 0], J[:, 2, 0] = ce * sa, ce * ca, se
    J[:, 0, 1], J[:, 1, 1], J[:, 2, 1] = r_m * ce * ca, -r_m * ce * sa, 0.0
    J[:, 0, 2], J[:, 1, 2], J[:, 2, 2] = -r_m * se * sa, -r_m * se * ca, r_m * ce
    m = np.shape(r_m)[0]
    sig2 = np.column_stack(
        [np.broadcast_to(s, (m,)) for s in (sigma_r_m, sigma_az_rad, sigma_el_rad)]
    )
    sig2 = sig2 * sig2
    out: F64 = (J * sig2[:, None, :]) @ J.transpose(0, 2, 1)
    return out


def unbiased_polar_to_enu(
    r_m: F64,
    az_rad: F64,
    el_rad: F64,
    sigma_r_m: F64 | float,
    sigma_az_rad: F64 | float,
    sigma_el_rad: F64 | float,
) -> tuple[F64, F64]:
    """Unbiased converted position and its measurement-conditioned covariance.

    With l_a = exp(-sigma_a^2/2), l_e = exp(-sigma_e^2/2) and the plain
    conversion p = (x, y, z) of the measured (r, a, e):
    z_u = (x / (l_a l_e), y / (l_a l_e), z / l_e) (Mo et al. 1998, eq. 9). Given
    the measurement, the true position has mean mu = (l_a l_e x, l_a l_e y, l_e z)
    and second moments, with D = r^2 + sigma_r^2,

    - E[x^2] = D (1 + l_e^4 cos 2e)(1 - l_a^4 cos 2a) / 4,
    - E[y^2] = D (1 + l_e^4 cos 2e)(1 + l_a^4 cos 2a) / 4,
    - E[z^2] = D (1 - l_e^4 cos 2e) / 2,
    - E[xy] = D (1 + l_e^4 cos 2e) l_a^4 sin 2a / 4,
    - E[xz] = D l_e^4 sin 2e l_a sin a / 2, E[yz] = D l_e^4 sin 2e l_a cos a / 2,

    so the covariance of the error z_u - p_true is
    R = E[p p^T] - mu mu^T + (z_u - mu)(z_u - mu)^T (Mo et al. 1998, eqs. 11-16,
    extended to 3-D as in their appendix).

    Args:
        r_m: (M,) measured slant range, m.
        az_rad: (M,) measured azimuth, clockwise from north.
        el_rad: (M,) measured elevation.
        sigma_r_m: (M,) or scalar range standard deviation, m.
        sigma_az_rad: (M,) or scalar azimuth standard deviation.
        sigma_el_rad: (M,) or scalar elevation standard deviation.

    Returns:
        (z (M, 3) sensor-centred ENU position, R (M, 3, 3) its covariance).
    """
    la = np.exp(-0.5 * np.asarray(sigma_az_rad) ** 2)
    le = np.exp(-0.5 * np.asarray(sigma_el_rad) ** 2)
    p = polar_to_enu(r_m, az_rad, el_rad)
    z = np.column_stack([p[:, 0] / (la * le), p[:, 1] / (la * le), p[:, 2] / le])
    mu = np.column_stack([p[:, 0] * la * le, p[:, 1] * la * le, p[:, 2] * le])
    D = r_m * r_m + np.asarray(sigma_r_m) ** 2
    la4, le4 = la**4, le**4
    c2e, s2e = np.cos(2.0 * el_rad), np.sin(2.0 * el_rad)
    c2a, s2a = np.cos(2.0 * az_rad), np.sin(2.0 * az_rad)
    h = D * (1.0 + le4 * c2e) / 4.0
    E = np.empty((np.shape(r_m)[0], 3, 3))
    E[:, 0, 0] = h * (1.0 - la4 * c2a)
    E[:, 1, 1] = h * (1.0 + la4 * c2a)
    E[:, 2, 2] = 0.5 * D * (1.0 - le4 * c2e)
    E[:, 0, 1] = E[:, 1, 0] = h * la4 * s2a
    E[:, 0, 2] = E[:, 2, 0] = 0.5 * D * le4 * s2e * la * np.sin(az_rad)
    E[:, 1, 2] = E[:, 2, 1] = 0.5 * D * le4 * s2e * la * np.cos(az_rad)
    d = z - mu
    R: F64 = E - mu[:, :, None] * mu[:, None, :] + d[:, :, None] * d[:, None, :]
    return z, R
