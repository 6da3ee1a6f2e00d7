"""Radar detection: radar equation, Swerling 0/I/III, jamming, horizon, noise.

The radar equation is scaled from the radar's reference detection:
SNR(R, sigma) = SNR_ref * (sigma / sigma_ref) * (R_ref / R)^4 (Skolnik, 3rd ed.,
eq. 2.61, all other terms held fixed), where SNR_ref is the SNR at which the
reference target model gives the reference Pd (`skydome.sensors.detection`).
Barrage jamming divides it by 1 + J/N (`skydome.sensors.jamming`). Each target's
single-look Pd follows its own Swerling case (0, I or III) and is drawn
independently per scan (scan-to-scan fluctuation). Measurement noise shrinks with
SNR down to a floor (`measurement_sigma`). An electronically scanned radar with
track channels measures at most that many targets per revisit, nearest first.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64
from skydome.geo import RadarGeometry, polar_to_map, radar_geometry
from skydome.sensors.base import Detections
from skydome.sensors.detection import detection_probability, swerling1_pd, swerling1_snr_for_pd
from skydome.sensors.jamming import Jammers, jam_to_noise
from skydome.sensors.params import RadarParams

__all__ = [
    "covers",
    "clutter_polar",
    "coverage_mask",
    "detect",
    "dwell_mask",
    "look_snr",
    "measurement_sigma",
    "polar_covariance",
    "polar_covariance_reference",
    "swerling1_pd",
    "swerling1_snr_for_pd",
]


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
    mask: NDArray[np.bool_] = (
        geom.visible[0]
        & (slant <= radars.max_range_m[r])
        & (el >= radars.min_el_rad[r])
        & (el <= radars.max_el_rad[r])
    )
    half = radars.az_half_width_rad[r]
    if half < np.pi:  # a sector; a wrapped angle is always within pi of the centre
        off = np.angle(np.exp(1j * (geom.azimuth_rad[0] - radars.az_center_rad[r])))
        mask &= np.abs(off) <= half
    return mask


def covers(radars: RadarParams, r: int, points_m: F64) -> NDArray[np.bool_]:
    """(P,) radar `r`'s volume holds each (P, 3) point (`coverage_mask`); nan points: no."""
    finite: NDArray[np.bool_] = np.asarray(np.isfinite(points_m).all(axis=1), dtype=bool)
    geom = radar_geometry(radars.pos_m[r : r + 1], np.where(finite[:, None], points_m, 0.0))
    return np.asarray(coverage_mask(radars, r, geom) & finite, dtype=bool).reshape(-1)


def look_snr(
    radars: RadarParams,
    r: int,
    geom: RadarGeometry,
    rcs_m2: F64,
    jammers: Jammers | None = None,
) -> F64:
    """Mean SNR (linear) of radar `r`'s look at each target, jamming included.

    SNR = SNR_ref (sigma / sigma_ref) (R_ref / R)^4 / (1 + J/N) (Skolnik, 3rd ed.,
    eq. 2.61; J/N from `skydome.sensors.jamming.jam_to_noise`).

    Args:
        radars: all radars.
        r: index of the radar.
        geom: geometry of the N targets from radar `r`, fields (1, N).
        rcs_m2: (N,) mean RCS.
        jammers: jammers radiating now (None: none).

    Returns:
        (N,) SNR, linear.
    """
    slant = np.maximum(geom.slant_m[0], 1.0)
    snr: F64 = (
        radars.ref_snr[r] * (rcs_m2 / radars.ref_rcs_m2[r]) * (radars.ref_range_m[r] / slant) ** 4
    )
    if jammers is not None and jammers.n:
        snr = snr / (1.0 + jam_to_noise(radars, r, geom, jammers))
    return snr


def measurement_sigma(radars: RadarParams, r: int, snr: F64) -> F64:
    """Range, azimuth and elevation noise (1 sigma) of radar `r` at each look's SNR.

    sigma(SNR)^2 = sigma_b^2 + sigma_t^2 SNR_ref / SNR, with the bias (floor) part
    sigma_b = f sigma_decl and the thermal part sigma_t^2 = (1 - f^2) sigma_decl^2, so
    the declared sigma is the noise at the reference SNR and a strong echo is measured
    down to f sigma_decl. The thermal part follows the 1/sqrt(SNR) law of range and
    monopulse angle estimation, sigma ~ theta_3dB / (k_m sqrt(2 SNR)) and
    sigma_R ~ c / (2 B sqrt(2 SNR)) (Skolnik, 3rd ed., ch. 6, theoretical accuracy of
    radar measurements; Barton, *Radar System Analysis and Modeling*, 2005, on
    measurement error components); f is `accuracy_floor`.

    Args:
        radars: all radars.
        r: index of the radar.
        snr: (M,) mean SNR of each look, linear (floored at 1e-3).

    Returns:
        (M, 3) sigmas: range m, azimuth rad, elevation rad.
    """
    decl = np.array([radars.sigma_range_m[r], radars.sigma_az_rad[r], radars.sigma_el_rad[r]])
    f2 = float(radars.accuracy_floor[r]) ** 2
    scale = np.sqrt(f2 + (1.0 - f2) * radars.ref_snr[r] / np.maximum(snr, 1e-3))
    out: F64 = scale[:, None] * decl[None, :]
    return out


def dwell_mask(
    radars: RadarParams, r: int, slant_m: F64, seen: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """Of the points `seen` by radar `r`, those it spends a dwell on this revisit.

    A rotating radar, or an ESA without a channel limit, looks at all of them;
    an ESA radar with `track_channels` C > 0 at the C nearest (ties by index).
    `detect` applies it to the targets, and the engine to the tracks when it
    tells the tracker which tracks the scan should have updated, so that a
    track left without a channel does not count a missed detection.

    Args:
        radars: all radars.
        r: index of the radar.
        slant_m: (N,) slant range of each point, m.
        seen: (N,) the points inside the radar's coverage.

    Returns:
        (N,) the points looked at.
    """
    channels = int(radars.track_channels[r]) if radars.esa[r] else 0
    if channels <= 0 or int(seen.sum()) <= channels:
        return seen
    nearest = np.argsort(np.where(seen, slant_m, np.inf), kind="stable")[:channels]
    dwell = np.zeros(seen.shape[0], dtype=bool)
    dwell[nearest] = True
    out: NDArray[np.bool_] = seen & dwell
    return out


def detect(
    radars: RadarParams,
    r: int,
    t_s: float,
    pos_m: F64,
    rcs_m2: F64,
    ids: NDArray[np.int64],
    rng: np.random.Generator,
    present: NDArray[np.bool_] | None = None,
    swerling: NDArray[np.int64] | None = None,
    jammers: Jammers | None = None,
) -> Detections:
    """One scan (revisit) of radar `r` over the targets in the sky.

    Every target consumes the same random numbers every scan (one uniform and
    three normals), present or not, seen or not: a target's draws depend only on
    its index and the scan, so a kill, a new radar, a jammer or a longer raid
    elsewhere does not change them (common random numbers between design
    alternatives). False alarms (`false_alarms_per_scan` > 0, see `clutter_polar`)
    are drawn after all targets' numbers and appended with truth -1.

    An ESA radar with `track_channels` C > 0 looks at only the C nearest targets in
    its coverage (ties by index), so it never reports more than C detections per
    revisit (false alarms fill the channels left, if any).

    Args:
        radars: all radars.
        r: index of the scanning radar.
        t_s: scan time, s.
        pos_m: (N, 3) true target positions, map frame.
        rcs_m2: (N,) target mean RCS.
        ids: (N,) threat ids, carried into `Detections.truth`.
        rng: the radar's own random stream.
        present: (N,) False for targets not in the sky (not launched, dead or
            gone); all present if None.
        swerling: (N,) Swerling case of each target (0, 1, 3); all Swerling I if None.
        jammers: barrage jammers radiating now (None: no jamming).

    Returns:
        The scan's detections, with noisy polar measurements converted to the map
        frame and each detection's covariance from its own SNR.
    """
    radar_pos = radars.pos_m[r : r + 1]
    geom = radar_geometry(radar_pos, pos_m)
    seen = coverage_mask(radars, r, geom)
    slant = geom.slant_m[0]
    snr = look_snr(radars, r, geom, rcs_m2, jammers)
    pd = detection_probability(snr, radars.pfa[r], 1 if swerling is None else swerling)
    n = pos_m.shape[0]
    u = rng.random(n)
    unit_noise = rng.standard_normal((n, 3))
    if present is not None:
        seen = seen & present
    channels = int(radars.track_channels[r]) if radars.esa[r] else 0
    seen = dwell_mask(radars, r, slant, seen)
    hit = (seen & (u < pd)).nonzero()[0]
    m = hit.shape[0]
    sig = measurement_sigma(radars, r, snr[hit])
    noise = unit_noise[hit] * sig
    rng_m = np.maximum(slant[hit] + noise[:, 0], 1.0)
    az = geom.azimuth_rad[0, hit] + noise[:, 1]
    el = geom.elevation_rad[0, hit] + noise[:, 2]
    truth = ids[hit]
    lam = float(radars.false_alarms_per_scan[r])
    if lam > 0.0:
        # False alarms: drawn after every target's numbers, so clutter never shifts
        # the targets' draws (common random numbers).
        fa_r, fa_az, fa_el = clutter_polar(radars, r, rng)
        if channels > 0:
            keep = max(channels - m, 0)
            fa_r, fa_az, fa_el = fa_r[:keep], fa_az[:keep], fa_el[:keep]
        rng_m = np.concatenate([rng_m, fa_r])
        az = np.concatenate([az, fa_az])
        el = np.concatenate([el, fa_el])
        truth = np.concatenate([truth, np.full(fa_r.size, -1, dtype=np.int64)])
        # A false alarm is a threshold crossing by noise: measured at the declared sigma.
        decl = measurement_sigma(radars, r, np.full(fa_r.size, radars.ref_snr[r]))
        sig = np.concatenate([sig, decl])
        m = rng_m.shape[0]
    pos = polar_to_map(radar_pos, rng_m, az, el)  # the one radar broadcasts
    polar = np.empty((m, 3))
    polar[:, 0], polar[:, 1], polar[:, 2] = rng_m, az, el
    return Detections(
        time_s=t_s,
        radar=r,
        pos_m=pos,
        cov_m2=polar_covariance(rng_m, az, el, sig),
        polar=polar,
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

    Args:
        slant_m: (M,) slant range, m.
        az_rad: (M,) azimuth, rad.
        el_rad: (M,) elevation, rad.
        sigma: (3,) or (M, 3) sigmas of (range m, azimuth rad, elevation rad).

    Returns:
        (M, 3, 3) covariance, m^2.
    """
    from skydome.sensors.radar_kernel import polar_covariance_kernel

    m = slant_m.shape[0]
    var = np.asarray(sigma, dtype=np.float64) ** 2
    if var.shape != (m, 3):
        var = np.broadcast_to(var, (m, 3))
    out = np.empty((m, 3, 3))
    polar_covariance_kernel(
        _c(slant_m), np.sin(az_rad), np.cos(az_rad), np.sin(el_rad), np.cos(el_rad), _c(var), out
    )
    return out


def _c(a: F64) -> F64:
    """A C-contiguous float64 array (one compiled signature)."""
    return np.ascontiguousarray(a, dtype=np.float64)


def polar_covariance_reference(slant_m: F64, az_rad: F64, el_rad: F64, sigma: F64) -> F64:
    """`polar_covariance` in numpy (a stacked matmul): the compiled kernel's reference."""
    sa, ca = np.sin(az_rad), np.cos(az_rad)
    se, ce = np.sin(el_rad), np.cos(el_rad)
    # R cos(el) and R sin(el) once; -(a b) c equals (-a) b c bit for bit.
    rc, rs = slant_m * ce, slant_m * se
    J = np.empty((slant_m.shape[0], 3, 3))
    J[:, 0, 0], J[:, 1, 0], J[:, 2, 0] = ce * sa, ce * ca, se
    J[:, 0, 1], J[:, 1, 1], J[:, 2, 1] = rc * ca, -(rc * sa), 0.0
    J[:, 0, 2], J[:, 1, 2], J[:, 2, 2] = -(rs * sa), -(rs * ca), rc
    var = np.asarray(sigma, dtype=np.float64) ** 2
    if var.shape != (slant_m.shape[0], 3):
        var = np.broadcast_to(var, (slant_m.shape[0], 3))
    Js = J * var[:, None, :]
    out: F64 = Js @ J.transpose(0, 2, 1)
    return out
