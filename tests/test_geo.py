"""Tests of skydome.geo: radar horizon, line of sight, polar conversions, geodetic output."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from skydome.geo import (
    EARTH_RADIUS_M,
    EFFECTIVE_EARTH_RADIUS_M,
    horizon_range_m,
    map_to_geodetic,
    polar_to_map,
    radar_geometry,
)

AE = EFFECTIVE_EARTH_RADIUS_M
WGS84_A_M = 6_378_137.0


def _one(radar: list[float], target: list[float]):
    return radar_geometry(np.array([radar]), np.array([target]))


# --- radar horizon -----------------------------------------------------------------------


def test_horizon_matches_textbook_4_12_km_rule():
    """Skolnik, *Introduction to Radar Systems*, 3rd ed., sec. 8.2: with the 4/3 earth the
    radar horizon is d = 4.12 (sqrt(h1) + sqrt(h2)) km, heights in metres."""
    got = float(horizon_range_m(10.0, 50.0))
    expected = 4.12e3 * (math.sqrt(10.0) + math.sqrt(50.0))
    assert got == pytest.approx(expected, rel=0.01)


def test_horizon_matches_sqrt_2_k_a_h_small_height_limit():
    """d = sqrt(2 k a h) for each height (the exact arc law's small-h limit)."""
    for h in (1.0, 30.0, 300.0):
        assert float(horizon_range_m(h, 0.0)) == pytest.approx(
            math.sqrt(2.0 * 4.0 / 3.0 * EARTH_RADIUS_M * h), rel=1e-4
        )


def test_horizon_zero_heights_and_negative_clipped():
    assert float(horizon_range_m(0.0, 0.0)) == 0.0
    assert float(horizon_range_m(-10.0, 0.0)) == 0.0


def test_horizon_broadcasts():
    h2 = np.array([0.0, 100.0, 10_000.0])
    out = horizon_range_m(25.0, h2)
    assert out.shape == (3,)
    assert np.all(np.diff(out) > 0)


@pytest.mark.parametrize(("h1", "h2"), [(10.0, 50.0), (25.0, 30.0), (40.0, 10_000.0)])
def test_visibility_switches_at_horizon_distance(h1, h2):
    d_h = float(horizon_range_m(h1, h2))
    radar = np.array([[0.0, 0.0, h1]])
    # Place the targets along an arbitrary bearing.
    u = np.array([math.sin(1.0), math.cos(1.0)])
    inside = [*(u * d_h * (1 - 1e-6)), h2]
    beyond = [*(u * d_h * (1 + 1e-6)), h2]
    g = radar_geometry(radar, np.array([inside, beyond]))
    assert g.visible[0].tolist() == [True, False]
    # At the horizon the line of sight grazes the sphere: elevation is negative (looking down).
    assert g.elevation_rad[0, 0] < 0.0


def _chord_clears_sphere(h1: float, h2: float, ground: float) -> float:
    """Signed clearance (m) of the radar-target chord above the effective earth, computed
    from plane geometry: the minimum distance from the earth centre to the segment."""
    theta = ground / AE
    p1 = np.array([0.0, AE + h1])
    p2 = (AE + h2) * np.array([math.sin(theta), math.cos(theta)])
    seg = p2 - p1
    t = float(np.clip(-p1 @ seg / (seg @ seg), 0.0, 1.0)) if seg @ seg > 0 else 0.0
    return float(np.linalg.norm(p1 + t * seg)) - AE


@settings(max_examples=200, deadline=None)
@given(
    h1=st.floats(0.0, 200.0),
    h2=st.floats(0.0, 30_000.0),
    ground=st.floats(1.0, 1_500_000.0),
)
def test_visible_iff_chord_clears_effective_earth(h1, h2, ground):
    clearance = _chord_clears_sphere(h1, h2, ground)
    assume(abs(clearance) > 1e-3)
    g = _one([0.0, 0.0, h1], [ground, 0.0, h2])
    assert bool(g.visible[0, 0]) == (clearance > 0.0)


# --- slant range, azimuth, elevation -----------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    dx=st.floats(-5_000.0, 5_000.0),
    dy=st.floats(-5_000.0, 5_000.0),
    h1=st.floats(0.0, 100.0),
    h2=st.floats(0.0, 2_000.0),
)
def test_slant_range_flat_earth_limit(dx, dy, h1, h2):
    """Within a few km the earth is flat: slant range ~ Euclidean distance.

    The curvature drop over ground d is d^2 / (2 ae) (~1.5 m at 5 km) and the arc/chord
    scaling is h/ae, so 1e-3 relative is a safe bound."""
    euclid = math.sqrt(dx * dx + dy * dy + (h2 - h1) ** 2)
    assume(euclid >= 10.0)  # below ~10 m the law-of-cosines slant range loses precision
    g = _one([100.0, -200.0, h1], [100.0 + dx, -200.0 + dy, h2])
    assert float(g.slant_m[0, 0]) == pytest.approx(euclid, rel=1e-3, abs=1e-6)
    assert float(g.ground_m[0, 0]) == pytest.approx(math.hypot(dx, dy), rel=1e-12, abs=1e-9)


def test_azimuth_is_clockwise_from_north():
    radar = np.array([[0.0, 0.0, 10.0]])
    targets = np.array(
        [[0.0, 1e4, 0.0], [1e4, 0.0, 0.0], [0.0, -1e4, 0.0], [-1e4, 0.0, 0.0], [1e4, 1e4, 0.0]]
    )
    az = radar_geometry(radar, targets).azimuth_rad[0]
    np.testing.assert_allclose(az, [0.0, math.pi / 2, math.pi, -math.pi / 2, math.pi / 4])


def test_elevation_straight_up_is_half_pi():
    g = _one([1000.0, 2000.0, 20.0], [1000.0, 2000.0, 5_000.0])
    assert float(g.elevation_rad[0, 0]) == pytest.approx(math.pi / 2, abs=1e-9)
    assert float(g.slant_m[0, 0]) == pytest.approx(4_980.0, rel=1e-12)
    assert bool(g.visible[0, 0])


def test_elevation_of_sea_level_target_dips_below_horizontal():
    """A target at the radar's own height at ground d is below the local horizontal by
    d / (2 ae) (half the central angle: the chord of a circle)."""
    d = 100_000.0
    g = _one([0.0, 0.0, 0.0], [d, 0.0, 0.0])
    assert float(g.elevation_rad[0, 0]) == pytest.approx(-d / (2.0 * AE), rel=1e-9)
    assert float(g.slant_m[0, 0]) == pytest.approx(2.0 * AE * math.sin(d / (2.0 * AE)), rel=1e-12)


def test_shapes_many_radars_many_targets():
    radars = np.zeros((2, 3))
    targets = np.ones((5, 3))
    g = radar_geometry(radars, targets)
    for f in (g.ground_m, g.slant_m, g.azimuth_rad, g.elevation_rad, g.visible):
        assert f.shape == (2, 5)


# --- polar_to_map inverts radar_geometry --------------------------------------------------

positions = st.tuples(
    st.floats(-300_000.0, 300_000.0),  # radar east
    st.floats(-300_000.0, 300_000.0),  # radar north
    st.floats(0.0, 100.0),  # mast height
    st.floats(0.0, 2.0 * math.pi),  # bearing
    st.floats(1_000.0, 800_000.0),  # ground distance
    st.floats(0.0, 40_000.0),  # target altitude
)


@settings(max_examples=200, deadline=None)
@given(p=positions)
def test_polar_to_map_inverts_radar_geometry(p):
    rx, ry, h1, brg, ground, h2 = p
    radar = np.array([[rx, ry, h1]])
    target = np.array([[rx + ground * math.sin(brg), ry + ground * math.cos(brg), h2]])
    g = radar_geometry(radar, target)
    back = polar_to_map(radar, g.slant_m[0], g.azimuth_rad[0], g.elevation_rad[0])
    scale = float(g.slant_m[0, 0])
    assert np.max(np.abs(back - target)) <= 1e-6 * scale + 1e-6


@settings(max_examples=100, deadline=None)
@given(
    slant=st.floats(1_000.0, 600_000.0),
    az=st.floats(-3.1, 3.1),
    el=st.floats(-0.02, 1.5),
    h1=st.floats(0.0, 100.0),
)
def test_radar_geometry_inverts_polar_to_map(slant, az, el, h1):
    radar = np.array([[5_000.0, -7_000.0, h1]])
    pos = polar_to_map(radar, np.array([slant]), np.array([az]), np.array([el]))
    assume(pos[0, 2] > -1_000.0)  # under the earth is not a map position
    g = radar_geometry(radar, pos)
    assert float(g.slant_m[0, 0]) == pytest.approx(slant, rel=1e-6)
    assert float(g.elevation_rad[0, 0]) == pytest.approx(el, abs=1e-8)
    if el < 1.5:  # the azimuth of a point nearly overhead is ill-conditioned
        assert float(g.azimuth_rad[0, 0]) == pytest.approx(az, abs=1e-7)


def test_polar_to_map_many_radars():
    radars = np.array([[0.0, 0.0, 10.0], [50_000.0, 0.0, 30.0]])
    targets = np.array([[10_000.0, 20_000.0, 3_000.0], [40_000.0, -60_000.0, 100.0]])
    g = radar_geometry(radars, targets)
    # Measurement i made by radar i of target i.
    back = polar_to_map(
        radars, np.diag(g.slant_m), np.diag(g.azimuth_rad), np.diag(g.elevation_rad)
    )
    np.testing.assert_allclose(back, targets, atol=1e-6)


# --- geodetic output ----------------------------------------------------------------------


def test_geodetic_111_2_km_north_is_one_degree():
    """One degree of latitude at the equator is ~110.6 km (WGS-84 meridian arc)."""
    lat, lon, alt = map_to_geodetic(np.array([[0.0, 111_200.0, 123.0]]), 0.0, 0.0, 7.0)
    assert float(np.ravel(lat)[0]) == pytest.approx(1.0, abs=0.01)
    assert float(np.ravel(lon)[0]) == pytest.approx(0.0, abs=1e-9)
    assert float(np.ravel(alt)[0]) == pytest.approx(130.0)


def test_geodetic_along_equator_is_a_over_degree():
    """The equator is a geodesic of WGS-84: one degree of longitude is 2 pi a / 360
    (a = 6378137 m, NIMA TR8350.2)."""
    east = 2.0 * math.pi * WGS84_A_M / 360.0
    lat, lon, _ = map_to_geodetic(np.array([[east, 0.0, 0.0], [-east, 0.0, 0.0]]), 0.0, 0.0)
    np.testing.assert_allclose(lat, [0.0, 0.0], atol=1e-9)
    # Longitude comes back in [0, 360); compare on the circle.
    wrapped = (np.asarray(lon) + 180.0) % 360.0 - 180.0
    np.testing.assert_allclose(wrapped, [1.0, -1.0], atol=1e-7)


@pytest.mark.parametrize(("lat0", "lon0"), [(0.0, 0.0), (45.0, 10.0), (-33.9, 151.2)])
def test_geodetic_origin_maps_to_origin(lat0, lon0):
    lat, lon, alt = map_to_geodetic(np.zeros((2, 3)), lat0, lon0, 12.0)
    assert np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))
    np.testing.assert_allclose(lat, lat0, atol=1e-12)
    np.testing.assert_allclose(lon, lon0, atol=1e-12)
    np.testing.assert_allclose(alt, 12.0)


def test_geodetic_short_distance_matches_local_scale():
    """Within 1 km the map frame is ENU: north 1 km is 1000 / M degrees of latitude, with M
    the WGS-84 meridian radius of curvature at the origin."""
    lat0 = 50.0
    a, f = WGS84_A_M, 1.0 / 298.257223563
    e2 = f * (2.0 - f)
    s = math.sin(math.radians(lat0))
    m_radius = a * (1.0 - e2) / (1.0 - e2 * s * s) ** 1.5
    n_radius = a / math.sqrt(1.0 - e2 * s * s)
    lat, lon, _ = map_to_geodetic(np.array([[0.0, 1000.0, 0.0], [1000.0, 0.0, 0.0]]), lat0, 5.0)
    assert float(lat[0] - lat0) == pytest.approx(math.degrees(1000.0 / m_radius), rel=1e-4)
    lon_scale = n_radius * math.cos(math.radians(lat0))
    assert float(lon[1] - 5.0) == pytest.approx(math.degrees(1000.0 / lon_scale), rel=1e-4)


def test_geodetic_single_row_keeps_shape():
    lat, lon, alt = map_to_geodetic(np.array([[0.0, 1000.0, 0.0]]), 0.0, 0.0)
    assert lat.shape == (1,) and lon.shape == (1,) and alt.shape == (1,)


@pytest.mark.parametrize("offset", [[0.125, 0.0, 0.0], [0.0, 0.0, 0.125]])
def test_slant_range_precise_at_short_range(offset):
    """Stable form of the same law: R^2 = (r2 - r1)^2 + 4 r1 r2 sin^2(theta / 2)."""
    radar = [0.0, 0.0, 10.0]
    target = [radar[i] + offset[i] for i in range(3)]
    g = _one(radar, target)
    r1, r2 = AE + radar[2], AE + target[2]
    theta = math.hypot(offset[0], offset[1]) / AE
    exact = math.sqrt((r2 - r1) ** 2 + 4.0 * r1 * r2 * math.sin(theta / 2.0) ** 2)
    assert float(g.slant_m[0, 0]) == pytest.approx(exact, rel=1e-6)
