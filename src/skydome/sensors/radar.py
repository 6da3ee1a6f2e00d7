"""Radar detection: radar equation, Swerling I fluctuation, horizon, noise.

The radar equation is scaled from the radar's reference detection:
SNR(R, sigma) = SNR_ref * (sigma / sigma_ref) * (R_ref / R)^4 (Skolnik, 3rd ed.,
eq. 2.61, all other terms held fixed). For a Swerling I target with a
square-law detector and one pulse, Pd = Pfa^(1 / (1 + SNR)) (Skolnik eq. 2.48;
Richards, *Fundamentals of Radar Signal Processing*, eq. 6.47), which is
drawn independently per scan (scan-to-scan fluctuation).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skydome.geo import RadarGeometry, polar_to_map, radar_geometry
from skydome.scenario.params import RadarParams
from skydome.sensors.base import Detections

__all__ = [
    "clutter_polar",
    "coverage_mask",
    "detect",
    "swerling1_pd",
    "swerling1_snr_for_pd",
]

F64 = NDArray[np.float64]


def swerling1_pd(snr: F64 | float, pfa: F64 | float) -> F64:
    """Single-look detection probability of a Swerling I target.

    Args:
        snr: mean signal-to-noise ratio, linear (not dB).
        pfa: probability of false alarm.

    Returns:
        Pd = Pfa^(1/(1+SNR)).
    """
    snr_a = np.maximum(np.asarray(snr, dtype=np.float64), 0.0)
    out: F64 = np.power(np.asarray(pfa, dtype=np.float64), 1.0 / (1.0 + snr_a))
    return out


def swerling1_snr_for_pd(pd: F64 | float, pfa: F64 | float) -> F64:
    """Mean SNR (linear) that gives `pd` at `pfa` for a Swerling I target."""
    out: F64 = np.log(np.asarray(pfa, dtype=np.float64)) / np.log(pd) - 1.0
    return out


def coverage_mask(radars: RadarParams, r: int, geom: RadarGeometry) -> NDArray[np.bool_]:
    """Targets inside radar `r`'s volume: line of sight, range, elevation, sector.

    Args:
        radars: all radars.
        r: index of the radar.
        geom: geometry of the targets from that radar, fields (1, N).

    Returns:
        (N,) True where the target can be seen (before the detection draw).
    """
    slant = geom.slant_m[0]
    el = geom.elevation_rad[0]
    off = np.angle(np.exp(1j * (geom.azimuth_rad[0] - radars.az_center_rad[r])))
    mask: NDArray[np.bool_] = (
        geom.visible[0]
        & (slant <= radars.max_range_m[r])
        & (el >= radars.min_el_rad[r])
        & (el <= radars.max_el_rad[r])
        & (np.abs(off) <= radars.az_half_width_rad[r])
    )
    return mask


def detect(
    radars: RadarParams,
    r: int,
    t_s: float,
    pos_m: F64,
    rcs_m2: F64,
    ids: NDArray[np.int64],
    rng: np.random.Generator,
    present: NDArray[np.bool_] | None = None,
) -> Detections:
    """One scan of radar `r` over the targets in the sky.

    Every target consumes the same random numbers every scan (one uniform and
    three normals), present or not, seen or not: a target's draws depend only on
    its index and the scan, so a kill, a new radar or a longer raid elsewhere
    does not change them (common random numbers between design alternatives).
    False alarms (`false_alarms_per_scan` > 0, see `clutter_polar`) are drawn
    after all targets' numbers and appended with truth -1.

    Args:
        radars: all radars.
        r: index of the scanning radar.
        t_s: scan time, s.
        pos_m: (N, 3) true target positions, map frame.
        rcs_m2: (N,) target RCS.
        ids: (N,) threat ids, carried into `Detections.truth`.
        rng: the radar's own random stream.
        present: (N,) False for targets not in the sky (not launched, dead or
            gone); all present if None.

    Returns:
        The scan's detections, with noisy polar measurements converted to the map frame.
    """
    radar_pos = radars.pos_m[r : r + 1]
    geom = radar_geometry(radar_pos, pos_m)
    seen = coverage_mask(radars, r, geom)
    slant = geom.slant_m[0]
    snr = (
        radars.ref_snr[r]
        * (rcs_m2 / radars.ref_rcs_m2[r])
        * (radars.ref_range_m[r] / np.maximum(slant, 1.0)) ** 4
    )
    pd = swerling1_pd(snr, radars.pfa[r])
    n = pos_m.shape[0]
    u = rng.random(n)
    sig = np.array([radars.sigma_range_m[r], radars.sigma_az_rad[r], radars.sigma_el_rad[r]])
    noise_all = rng.standard_normal((n, 3)) * sig
    if present is not None:
        seen = seen & present
    hit = np.flatnonzero(seen & (u < pd))
    m = hit.shape[0]
    noise = noise_all[hit]
    rng_m = np.maximum(slant[hit] + noise[:, 0], 1.0)
    az = geom.azimuth_rad[0, hit] + noise[:, 1]
    el = geom.elevation_rad[0, hit] + noise[:, 2]
    truth = ids[hit]
    lam = float(radars.false_alarms_per_scan[r])
    if lam > 0.0:
        # False alarms: drawn after every target's numbers, so clutter never shifts
        # the targets' draws (common random numbers).
        fa_r, fa_az, fa_el = clutter_polar(radars, r, rng)
        rng_m = np.concatenate([rng_m, fa_r])
        az = np.concatenate([az, fa_az])
        el = np.concatenate([el, fa_el])
        truth = np.concatenate([truth, np.full(fa_r.size, -1, dtype=np.int64)])
        m = rng_m.shape[0]
    pos = polar_to_map(np.repeat(radar_pos, m, axis=0), rng_m, az, el)
    return Detections(
        time_s=t_s,
        radar=r,
        pos_m=pos,
        cov_m2=polar_covariance(rng_m, az, el, sig),
        polar=np.stack([rng_m, az, el], axis=1),
        truth=truth,
    )


def clutter_polar(radars: RadarParams, r: int, rng: np.random.Generator) -> tuple[F64, F64, F64]:
    """One scan's false alarms of radar `r`: a Poisson number, uniform in its volume.

    The count is Poisson with mean `false_alarms_per_scan` (independent cells,
    each with a small false-alarm probability: the Poisson limit of the binomial;
    Richards, *Fundamentals of Radar Signal Processing*, sec. 6.2). Positions are
    uniform over the coverage volume in (R, az, el): the volume element
    R^2 cos(el) dR daz del gives R = R_max u^(1/3), az uniform over the sector,
    sin(el) uniform between the elevation limits. Points beyond the horizon or
    below the surface are kept (ground and sea clutter).

    Args:
        radars: all radars.
        r: index of the radar.
        rng: the radar's own stream (drawn after the targets' numbers).

    Returns:
        (slant range m, azimuth rad, elevation rad), each (K,).
    """
    k = int(rng.poisson(radars.false_alarms_per_scan[r]))
    u = rng.random((k, 3))
    slant = np.maximum(radars.max_range_m[r] * np.cbrt(u[:, 0]), 1.0)
    half = radars.az_half_width_rad[r]
    az = radars.az_center_rad[r] + (2.0 * u[:, 1] - 1.0) * half
    az = np.angle(np.exp(1j * az))  # wrap to (-pi, pi]
    s_lo, s_hi = np.sin(radars.min_el_rad[r]), np.sin(radars.max_el_rad[r])
    el = np.arcsin(s_lo + u[:, 2] * (s_hi - s_lo))
    return slant, az, el


def polar_covariance(slant_m: F64, az_rad: F64, el_rad: F64, sigma: F64) -> F64:
    """Covariance of a converted (R, az, el) measurement, first-order (M, 3, 3).

    P = J diag(sigma^2) J^T with J the Jacobian of x = R cos(el) sin(az),
    y = R cos(el) cos(az), z = R sin(el) (Bar-Shalom, Li & Kirubarajan,
    *Estimation with Applications to Tracking and Navigation*, sec. 10.4).
    """
    sa, ca = np.sin(az_rad), np.cos(az_rad)
    se, ce = np.sin(el_rad), np.cos(el_rad)
    J = np.empty((slant_m.shape[0], 3, 3))
    J[:, 0, 0], J[:, 1, 0], J[:, 2, 0] = ce * sa, ce * ca, se
    J[:, 0, 1], J[:, 1, 1], J[:, 2, 1] = slant_m * ce * ca, -slant_m * ce * sa, 0.0
    J[:, 0, 2], J[:, 1, 2], J[:, 2, 2] = -slant_m * se * sa, -slant_m * se * ca, slant_m * ce
    Js = J * (sigma * sigma)[None, None, :]
    out: F64 = Js @ J.transpose(0, 2, 1)
    return out
