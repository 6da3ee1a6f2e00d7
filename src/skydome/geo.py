"""Frames, earth curvature and the radar horizon.

The simulation frame ("map frame") is local to the scenario origin: x east and
y north in metres on an azimuthal-equidistant map of the earth around the
origin, z the altitude above the (spherical) surface in metres. Straight lines
on the map are near-great-circle paths, and altitude stays altitude, so a
cruise missile at 30 m stays at 30 m however far it flies -- which a flat ENU
frame gets wrong by ~12 km at 400 km range. Earth curvature enters where it
matters: radar line of sight, slant range and elevation use a sphere of the
effective radius k*R_e (k = 4/3 for standard refraction; Skolnik, *Introduction
to Radar Systems*, 3rd ed., sec. 8.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64
from skydome.constants import EARTH_RADIUS_M

__all__ = [
    "EARTH_RADIUS_M",
    "EFFECTIVE_EARTH_RADIUS_M",
    "RadarGeometry",
    "horizon_range_m",
    "geodetic_to_map",
    "map_to_geodetic",
    "polar_to_map",
    "radar_geometry",
]


EFFECTIVE_EARTH_RADIUS_M = 4.0 / 3.0 * EARTH_RADIUS_M
"""Effective earth radius for standard atmospheric refraction (4/3 earth), metres."""


def horizon_range_m(
    h1_m: F64 | float, h2_m: F64 | float, ae_m: float = EFFECTIVE_EARTH_RADIUS_M
) -> F64:
    """Ground distance at which two heights just see each other over the sphere.

    Exact on a sphere of radius `ae_m`: d = ae * (acos(ae/(ae+h1)) + acos(ae/(ae+h2))),
    which for h << ae is the textbook sqrt(2 ae h1) + sqrt(2 ae h2)
    (= 4.12 (sqrt(h1) + sqrt(h2)) km with heights in metres).

    Args:
        h1_m: antenna height, metres (broadcasts).
        h2_m: target altitude, metres (broadcasts).
        ae_m: effective earth radius, metres.

    Returns:
        Ground distance along the surface, metres.
    """
    h1 = np.maximum(np.asarray(h1_m, dtype=np.float64), 0.0)
    h2 = np.maximum(np.asarray(h2_m, dtype=np.float64), 0.0)
    out: F64 = ae_m * (np.arccos(ae_m / (ae_m + h1)) + np.arccos(ae_m / (ae_m + h2)))
    return out


@dataclass(frozen=True)
class RadarGeometry:
    """Geometry of targets seen from radars, each field (n_radars, n_targets).

    Attributes:
        ground_m: great-circle ground distance, metres.
        slant_m: slant range along the (refracted) line of sight, metres.
        azimuth_rad: bearing clockwise from north, in (-pi, pi].
        elevation_rad: elevation above the radar's local horizontal.
        visible: line of sight clears the effective earth.
    """

    ground_m: F64
    slant_m: F64
    azimuth_rad: F64
    elevation_rad: F64
    visible: NDArray[np.bool_]


def radar_geometry(
    radar_m: F64, target_m: F64, ae_m: float = EFFECTIVE_EARTH_RADIUS_M
) -> RadarGeometry:
    """Slant range, azimuth, elevation and line of sight on the effective earth.

    In the plane through the earth centre, radar and target, with radii
    r1 = ae + h1, r2 = ae + h2 and central angle theta = d / ae:
    R^2 = r1^2 + r2^2 - 2 r1 r2 cos(theta), and the elevation is the angle of the
    chord above the radar's tangent: tan(el) = (r2 cos(theta) - r1) / (r2 sin(theta)).

    Args:
        radar_m: (R, 3) radar antenna positions in the map frame (z = antenna height).
        target_m: (N, 3) target positions in the map frame (z = altitude).
        ae_m: effective earth radius, metres.

    Returns:
        `RadarGeometry` with fields of shape (R, N).
    """
    d = target_m[None, :, :2] - radar_m[:, None, :2]
    dx, dy = d[..., 0], d[..., 1]
    ground = np.hypot(dx, dy)
    az = np.arctan2(dx, dy)
    h1 = radar_m[:, None, 2]
    h2 = target_m[None, :, 2]
    r1 = ae_m + h1
    r2 = ae_m + h2
    theta = ground / ae_m
    # (h2 - h1) and sin^2(theta / 2) serve both formulas below: computed once.
    dh = h2 - h1
    s2 = np.sin(0.5 * theta) ** 2
    # R^2 = r1^2 + r2^2 - 2 r1 r2 cos(theta), in a form that does not cancel
    # (r1^2 ~ 1e14 m^2): (r2 - r1)^2 + 4 r1 r2 sin^2(theta / 2).
    slant = np.sqrt(dh**2 + 4.0 * r1 * r2 * s2)
    # r2 cos(theta) - r1 without cancellation: (h2 - h1) - 2 r2 sin^2(theta / 2).
    el = np.arctan2(dh - 2.0 * r2 * s2, r2 * np.sin(theta))
    visible = ground <= horizon_range_m(h1, h2, ae_m)
    return RadarGeometry(ground, slant, az, el, visible)


def polar_to_map(
    radar_m: F64,
    slant_m: F64,
    azimuth_rad: F64,
    elevation_rad: F64,
    ae_m: float = EFFECTIVE_EARTH_RADIUS_M,
) -> F64:
    """Inverse of `radar_geometry`: a measured (R, az, el) back to the map frame.

    r2^2 = r1^2 + R^2 + 2 r1 R sin(el); theta = atan2(R cos(el), r1 + R sin(el)).

    Args:
        radar_m: (M, 3) position of the measuring radar for each measurement, or
            (1, 3) one radar for all.
        slant_m: (M,) slant range, metres.
        azimuth_rad: (M,) bearing clockwise from north.
        elevation_rad: (M,) elevation.
        ae_m: effective earth radius, metres.

    Returns:
        (M, 3) positions in the map frame.
    """
    r1 = ae_m + radar_m[:, 2]
    se = np.sin(elevation_rad)
    ce = np.cos(elevation_rad)
    r2 = np.sqrt(r1 * r1 + slant_m * slant_m + 2.0 * r1 * slant_m * se)
    theta = np.arctan2(slant_m * ce, r1 + slant_m * se)
    ground = ae_m * theta
    out = np.empty((slant_m.shape[0], 3))
    out[:, 0] = radar_m[:, 0] + ground * np.sin(azimuth_rad)
    out[:, 1] = radar_m[:, 1] + ground * np.cos(azimuth_rad)
    out[:, 2] = r2 - ae_m
    return out


def map_to_geodetic(
    pos_m: F64, lat0_deg: float, lon0_deg: float, alt0_m: float = 0.0
) -> tuple[F64, F64, F64]:
    """Map-frame positions to WGS-84 latitude, longitude and altitude.

    The map frame is azimuthal equidistant around the origin: each point lies at
    ground distance hypot(x, y) along the geodesic of bearing atan2(x, y). The
    geodesic is solved by pymap3d's Vincenty direct formula.

    Args:
        pos_m: (N, 3) map-frame positions.
        lat0_deg: origin latitude, degrees.
        lon0_deg: origin longitude, degrees.
        alt0_m: origin ground altitude, metres (added to z).

    Returns:
        (lat_deg, lon_deg, alt_m), each (N,); longitude in [-180, 180).
    """
    from pymap3d.vincenty import vreckon

    dist = np.hypot(pos_m[:, 0], pos_m[:, 1])
    bearing = np.degrees(np.arctan2(pos_m[:, 0], pos_m[:, 1])) % 360.0
    lat = np.full(dist.size, lat0_deg, dtype=np.float64)
    lon = np.full(dist.size, lon0_deg, dtype=np.float64)
    away = dist > 0.0
    if away.any():
        la, lo = vreckon(lat0_deg, lon0_deg, dist[away], bearing[away])
        lat[away] = np.asarray(la, dtype=np.float64).reshape(-1)  # vreckon squeezes one row
        lon[away] = np.asarray(lo, dtype=np.float64).reshape(-1)
    lon = (lon + 180.0) % 360.0 - 180.0  # vreckon answers in [0, 360)
    return lat, lon, pos_m[:, 2] + alt0_m


def geodetic_to_map(
    lat_deg: F64, lon_deg: F64, alt_m: F64, lat0_deg: float, lon0_deg: float, alt0_m: float = 0.0
) -> F64:
    """Inverse of `map_to_geodetic`: WGS-84 points to the map frame.

    The geodesic distance and initial bearing from the origin (pymap3d's
    Vincenty inverse) give x = d sin(bearing), y = d cos(bearing).

    Args:
        lat_deg: (N,) latitudes.
        lon_deg: (N,) longitudes.
        alt_m: (N,) altitudes, metres.
        lat0_deg: origin latitude.
        lon0_deg: origin longitude.
        alt0_m: origin ground altitude.

    Returns:
        (N, 3) map-frame positions.
    """
    from pymap3d.vincenty import vdist

    lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
    lon = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64))
    out = np.zeros((lat.size, 3))
    out[:, 2] = np.asarray(alt_m, dtype=np.float64) - alt0_m
    # vdist mishandles arrays that mix the origin itself with other points, so
    # coincident points (distance 0) are left out of the call.
    away = (lat != lat0_deg) | (lon != lon0_deg)
    if away.any():
        dist, az = vdist(lat0_deg, lon0_deg, lat[away], lon[away])
        dist = np.asarray(dist, dtype=np.float64).reshape(-1)
        az = np.radians(np.asarray(az, dtype=np.float64).reshape(-1))
        out[away, 0] = dist * np.sin(az)
        out[away, 1] = dist * np.cos(az)
    return out
