"""Radar coverage: how far each radar sees a given target, around its sector.

The sensor stage owns the radar equation, so it also owns the coverage it
implies; the run writes the result as `coverage.parquet` and the reports draw
that table instead of re-deriving the radar equation from the scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skydome.arrays import F64
from skydome.geo import horizon_range_m
from skydome.sensors.detection import swerling1_snr_for_pd
from skydome.sensors.params import RadarParams

__all__ = ["REPORT_ALTITUDE_M", "REPORT_RCS_M2", "RING_SAMPLES", "Coverage", "coverage"]

REPORT_RCS_M2 = 1.0
"""Target RCS of the coverage a run writes (a fighter-sized target), m^2."""
REPORT_ALTITUDE_M = 100.0
"""Target altitude of the coverage a run writes (low enough to show the horizon), m."""
RING_SAMPLES = 361
"""Azimuth samples across each radar's sector in the written table."""


@dataclass(frozen=True)
class Coverage:
    """Detection range of every radar around its sector (R radars, n azimuths).

    Attributes:
        azimuth_rad: (R, n) azimuth, clockwise from north, spanning the sector.
        ground_range_m: (R,) ground range at which the single-look Pd falls to
            0.5, capped by the radar horizon and the instrumented range (the
            same at every azimuth of a radar: the model has no azimuth gain).
        horizon_limited: (R,) the horizon, not the radar equation, sets the range.
        rcs_m2: target RCS the coverage is for.
        altitude_m: target altitude the coverage is for.
    """

    azimuth_rad: F64
    ground_range_m: F64
    horizon_limited: np.ndarray
    rcs_m2: float
    altitude_m: float


def coverage(
    radars: RadarParams, rcs_m2: float, altitude_m: float, n: int = RING_SAMPLES
) -> Coverage:
    """Coverage of every radar against a target of `rcs_m2` at `altitude_m`.

    The detection range is the radar equation scaled from each radar's
    reference detection, R = R_ref ((SNR_ref / SNR_50) (sigma / sigma_ref))^(1/4),
    with SNR_50 the Swerling I SNR for Pd = 0.5 at the radar's Pfa; then the
    4/3-earth horizon for the radar's height and the target's altitude, and the
    instrumented range, cap it.

    Args:
        radars: all radars (R).
        rcs_m2: target radar cross-section, m^2.
        altitude_m: target altitude, m.
        n: azimuth samples across each sector.
    """
    snr50 = np.asarray(
        [float(swerling1_snr_for_pd(0.5, float(pfa))) for pfa in radars.pfa], dtype=np.float64
    )  # R values, each a scalar root-find: not a hot path
    det = radars.ref_range_m * ((radars.ref_snr / snr50) * (rcs_m2 / radars.ref_rcs_m2)) ** 0.25
    hor = horizon_range_m(radars.pos_m[:, 2], altitude_m)
    rng = np.minimum(np.minimum(det, hor), radars.max_range_m)
    half = radars.az_half_width_rad
    az = radars.az_center_rad[:, None] + half[:, None] * np.linspace(-1.0, 1.0, n)[None, :]
    return Coverage(
        azimuth_rad=az,
        ground_range_m=rng,
        horizon_limited=hor <= np.minimum(det, radars.max_range_m),
        rcs_m2=float(rcs_m2),
        altitude_m=float(altitude_m),
    )
