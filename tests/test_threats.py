"""Tests of skydome.threats: closed-form route and ballistic truth kinematics."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skydome.scenario import compile_scenario, load_scenario, parse_scenario
from skydome.scenario.compile_raids import build_threats
from skydome.threats import GRAVITY_MPS2, Threats, route_length_m

SCENARIO_YAML = """
name: threats-test
origin: {lat_deg: 0.0, lon_deg: 0.0}
run: {duration_s: 3000, step_s: 1.0, seed: 3}
assets:
  - {name: base, position: {east_km: 5, north_km: -3}, value: 100}
  - {name: depot, position: {east_km: 40, north_km: 30}, value: 10}
radars:
  - name: r1
    position: {east_km: 0, north_km: 0}
    detection_range_km: 300
    max_range_km: 400
    scan_period_s: 5
    sigma_range_m: 50
    sigma_azimuth_mrad: 2
    sigma_elevation_mrad: 2
missiles:
  sam: {min_range_km: 1, max_range_km: 100, max_altitude_km: 20,
        average_speed_mps: 1000, max_target_speed_mps: 3000, pk: 0.8}
batteries:
  - name: b1
    position: {east_km: 0, north_km: 0}
    launchers: 2
    load: {sam: 4}
    fire_channels: {targets: 4, missiles: 8}
raids:
  - name: cruise
    type: cruise missile
    count: 1
    target: base
    launch_time_s: 30
    rcs_m2: 0.1
    speed_mps: 240
    route:
      - {east_km: -120, north_km: 40, altitude_m: 50}
      - {east_km: -40, north_km: 10, altitude_m: 30}
      - {east_km: -5, north_km: -1, altitude_m: 300}
      - {east_km: 5, north_km: -3, altitude_m: 0}
  - name: strike
    type: strike aircraft
    count: 1
    target: base
    launch_time_s: 100
    rcs_m2: 5
    speed_mps: 250
    release_range_km: 20
    route:
      - {east_km: 0, north_km: 150, altitude_m: 9000}
      - {east_km: 0, north_km: 60, altitude_m: 8000}
      - {east_km: 5, north_km: -3, altitude_m: 6000}
  - name: wave
    type: strike aircraft
    count: 3
    target: depot
    launch_time_s: 10
    launch_spread_s: 60
    lateral_spacing_km: 2
    rcs_m2: 3
    speed_mps: 200
    route:
      - {east_km: 140, north_km: 30, altitude_m: 5000}
      - {east_km: 90, north_km: 30, altitude_m: 4000}
      - {east_km: 40, north_km: 30, altitude_m: 1000}
  - name: srbm-apogee
    type: ballistic missile
    count: 2
    target: base
    launch_time_s: 600
    launch_spread_s: 20
    rcs_m2: 0.1
    ballistic: {launch: {east_km: -280, north_km: 20}, apogee_km: 80}
  - name: srbm-tof
    type: ballistic missile
    count: 1
    target: depot
    launch_time_s: 700
    rcs_m2: 0.1
    ballistic: {launch: {east_km: 300, north_km: -100}, time_of_flight_s: 300}
"""

CRUISE, STRIKE = 0, 1
WAVE = np.array([2, 3, 4])
SRBM_APOGEE = np.array([5, 6])
SRBM_TOF = 7


@functools.cache
def scenario():
    return parse_scenario(SCENARIO_YAML)


@functools.cache
def threats() -> Threats:
    return build_threats(scenario())


def _route_pts(raid: int) -> np.ndarray:
    r = scenario().raids[raid]
    assert r.route is not None
    return np.array([[w.east_km * 1e3, w.north_km * 1e3, w.altitude_m] for w in r.route])


def _pos_vel(t: float, i: int) -> tuple[np.ndarray, np.ndarray]:
    p, v = threats().state_at(t, np.array([i]))
    return p[0], v[0]


# --- static expansion ---------------------------------------------------------------------


def test_rows_follow_raids():
    th = threats()
    assert th.n == 8
    assert th.raid_index.tolist() == [0, 1, 2, 2, 2, 3, 3, 4]
    assert th.target.tolist() == [0, 0, 1, 1, 1, 0, 0, 1]
    names = [th.type_names[i] for i in th.type_index]
    assert names == [r.type for r in scenario().raids for _ in range(r.count)]
    assert th.ballistic.tolist() == [False] * 5 + [True] * 3
    np.testing.assert_allclose(th.rcs_m2, [0.1, 5, 3, 3, 3, 0.1, 0.1, 0.1])


def test_launches_evenly_spread():
    th = threats()
    np.testing.assert_allclose(th.launch_s[WAVE], [10.0, 40.0, 70.0])
    np.testing.assert_allclose(th.launch_s[SRBM_APOGEE], [600.0, 620.0])


def test_route_length():
    pts = np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0], [3.0, 4.0, 12.0]])
    assert route_length_m(pts) == pytest.approx(17.0)


# --- routes -------------------------------------------------------------------------------


def test_route_passes_each_waypoint_at_cumulative_time():
    th = threats()
    pts = _route_pts(0)
    cum = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]
    for k in range(pts.shape[0]):
        t = float(th.launch_s[CRUISE] + cum[k] / 240.0)
        p, _ = _pos_vel(t, CRUISE)
        np.testing.assert_allclose(p, pts[k], atol=1e-6)


def test_route_end_s_is_route_end_without_release():
    th = threats()
    length = route_length_m(_route_pts(0))
    assert th.end_s[CRUISE] == pytest.approx(30.0 + length / 240.0, rel=1e-12)


def test_route_end_s_with_release_range():
    th = threats()
    length = route_length_m(_route_pts(1))
    assert th.end_s[STRIKE] == pytest.approx(100.0 + (length - 20_000.0) / 250.0, rel=1e-12)
    # At end_s the threat is 20 km of path before the route's end.
    p, _ = _pos_vel(float(th.end_s[STRIKE]), STRIKE)
    last = _route_pts(1)[-1]
    seg = _route_pts(1)[-2]
    along = np.linalg.norm(last - p)
    assert along == pytest.approx(20_000.0, rel=1e-9)
    # and still on the last leg, between its two waypoints
    np.testing.assert_allclose(
        np.linalg.norm(p - seg) + along, np.linalg.norm(last - seg), rtol=1e-12
    )


@settings(max_examples=100, deadline=None)
@given(frac=st.floats(1e-6, 1.0 - 1e-6))
def test_route_speed_is_constant_on_every_leg(frac):
    th = threats()
    for i, speed in ((CRUISE, 240.0), (STRIKE, 250.0), (int(WAVE[1]), 200.0)):
        total = route_length_m(th.wp_m[i, : th.n_wp[i]]) / speed
        t = float(th.launch_s[i] + frac * total)
        _, v = _pos_vel(t, i)
        assert np.linalg.norm(v) == pytest.approx(speed, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(frac=st.floats(0.001, 0.999))
def test_route_velocity_is_derivative_of_position(frac):
    th = threats()
    i = CRUISE
    total = route_length_m(_route_pts(0)) / 240.0
    t = float(th.launch_s[i] + frac * total)
    h = 1e-3
    p0, v0 = _pos_vel(t - h, i)
    p1, v1 = _pos_vel(t + h, i)
    # Skip the rare window that straddles a waypoint (velocity jumps there).
    if np.allclose(v0, v1):
        np.testing.assert_allclose((p1 - p0) / (2 * h), v0, rtol=1e-6, atol=1e-6)


def test_route_before_launch_and_after_end():
    th = threats()
    pts = _route_pts(0)
    p, v = _pos_vel(float(th.launch_s[CRUISE]) - 5.0, CRUISE)
    np.testing.assert_allclose(p, pts[0])
    np.testing.assert_array_equal(v, 0.0)
    p, v = _pos_vel(float(th.launch_s[CRUISE]), CRUISE)
    np.testing.assert_allclose(p, pts[0])
    p, v = _pos_vel(float(th.end_s[CRUISE]) + 100.0, CRUISE)
    np.testing.assert_allclose(p, pts[-1], atol=1e-6)
    np.testing.assert_array_equal(v, 0.0)


def test_raid_members_offset_across_first_leg_and_converge():
    th = threats()
    pts = _route_pts(2)
    lead = pts[1, :2] - pts[0, :2]
    across = np.array([lead[1], -lead[0]]) / np.linalg.norm(lead)
    for k, i in enumerate(WAVE):
        p, _ = _pos_vel(float(th.launch_s[i]), int(i))
        expected_start = pts[0].copy()
        expected_start[:2] += (k - 1) * 2_000.0 * across
        np.testing.assert_allclose(p, expected_start, atol=1e-6)
        end, _ = _pos_vel(float(th.end_s[i]), int(i))
        np.testing.assert_allclose(end, pts[-1], atol=1e-6)
    # 100 s after their own launches the outer members are still on the (parallel) first
    # leg, twice the spacing apart.
    mids = [_pos_vel(float(th.launch_s[i]) + 100.0, int(i))[0] for i in WAVE]
    assert np.linalg.norm(mids[0] - mids[2]) == pytest.approx(4_000.0, rel=1e-9)


# --- ballistic arcs -----------------------------------------------------------------------


def test_ballistic_tof_from_apogee_is_vacuum_parabola():
    """Vertical launch speed for apogee h is sqrt(2 g h) and the flight lasts
    2 sqrt(2 h / g) (elementary projectile motion)."""
    th = threats()
    h = 80_000.0
    expected = 2.0 * math.sqrt(2.0 * h / GRAVITY_MPS2)
    np.testing.assert_allclose(th.tof_s[SRBM_APOGEE], expected, rtol=1e-12)
    np.testing.assert_allclose(th.end_s[SRBM_APOGEE], th.launch_s[SRBM_APOGEE] + expected)


@pytest.mark.parametrize("i", [5, 6, 7])
def test_ballistic_starts_at_launch_and_hits_target_asset(i):
    th = threats()
    raid = scenario().raids[int(th.raid_index[i])]
    assert raid.ballistic is not None
    launch = [raid.ballistic.launch.east_km * 1e3, raid.ballistic.launch.north_km * 1e3, 0.0]
    asset = next(a for a in scenario().assets if a.name == raid.target)
    impact = [asset.position.east_km * 1e3, asset.position.north_km * 1e3, 0.0]
    p0, _ = _pos_vel(float(th.launch_s[i]), i)
    np.testing.assert_allclose(p0, launch, atol=1e-6)
    p1, _ = _pos_vel(float(th.launch_s[i] + th.tof_s[i]), i)
    np.testing.assert_allclose(p1, impact, atol=1e-6)
    assert abs(p1[2]) <= 1e-6
    assert th.end_s[i] == pytest.approx(th.launch_s[i] + th.tof_s[i], rel=1e-15)


def test_ballistic_declared_time_of_flight():
    th = threats()
    assert th.tof_s[SRBM_TOF] == pytest.approx(300.0)
    assert th.end_s[SRBM_TOF] == pytest.approx(700.0 + 300.0)
    # apogee of a vacuum arc of duration T is g T^2 / 8
    p, v = _pos_vel(700.0 + 150.0, SRBM_TOF)
    assert p[2] == pytest.approx(GRAVITY_MPS2 * 300.0**2 / 8.0, rel=1e-12)
    assert v[2] == pytest.approx(0.0, abs=1e-9)


def test_ballistic_apogee_equals_declared():
    th = threats()
    i = int(SRBM_APOGEE[0])
    t_mid = float(th.launch_s[i] + th.tof_s[i] / 2.0)
    p, v = _pos_vel(t_mid, i)
    assert p[2] == pytest.approx(80_000.0, rel=1e-12)
    assert v[2] == pytest.approx(0.0, abs=1e-9)
    # nowhere higher on the arc
    ts = th.launch_s[i] + np.linspace(0.0, th.tof_s[i], 2001)
    pos, _ = th.state_at(ts, np.full(ts.size, i))
    assert pos[:, 2].max() <= 80_000.0 * (1 + 1e-12)
    assert pos[:, 2].min() >= -1e-6


@settings(max_examples=60, deadline=None)
@given(frac=st.floats(0.001, 0.999))
def test_ballistic_velocity_is_derivative_of_position_and_accel_is_g(frac):
    th = threats()
    i = SRBM_TOF
    t = float(th.launch_s[i] + frac * th.tof_s[i])
    h = 1e-2
    pm, vm = _pos_vel(t - h, i)
    p, v = _pos_vel(t, i)
    pp, vp = _pos_vel(t + h, i)
    np.testing.assert_allclose((pp - pm) / (2 * h), v, rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose((vp - vm) / (2 * h), [0.0, 0.0, -GRAVITY_MPS2], atol=1e-6)


def test_ballistic_before_launch_is_at_rest_on_the_pad():
    th = threats()
    i = SRBM_TOF
    p, v = _pos_vel(float(th.launch_s[i]) - 1.0, i)
    np.testing.assert_allclose(p, [300e3, -100e3, 0.0])
    np.testing.assert_array_equal(v, 0.0)


# --- vectorised evaluation ----------------------------------------------------------------


def test_state_at_per_threat_times_equals_scalar_calls():
    th = threats()
    rng = np.random.default_rng(12)
    for _ in range(5):
        idx = rng.integers(0, th.n, size=20)
        t = rng.uniform(0.0, 1200.0, size=20)
        pos, vel = th.state_at(t, idx)
        for k in range(idx.size):
            p, v = th.state_at(float(t[k]), idx[k : k + 1])
            np.testing.assert_array_equal(pos[k], p[0])
            np.testing.assert_array_equal(vel[k], v[0])


def test_state_at_all_threats_scalar_time():
    th = threats()
    pos, vel = th.state_at(650.0)
    assert pos.shape == vel.shape == (th.n, 3)
    for i in range(th.n):
        p, v = _pos_vel(650.0, i)
        np.testing.assert_array_equal(pos[i], p)
        np.testing.assert_array_equal(vel[i], v)


def test_builtin_default_scenario_threats_are_consistent():
    """Every route threat of the built-in scenario flies at its raid's speed, and every
    threat's end position is where end_s says."""
    params = compile_scenario(load_scenario("default"))
    th = params.threats
    s = load_scenario("default")
    speeds = np.array([r.speed_mps or 0.0 for r in s.raids])[th.raid_index]
    mid = th.launch_s + 0.5 * (th.end_s - th.launch_s)
    _, vel = th.state_at(mid)
    route = ~th.ballistic
    np.testing.assert_allclose(np.linalg.norm(vel[route], axis=1), speeds[route], rtol=1e-9)
    # Ballistic threats come down on their target assets.
    pos, _ = th.state_at(th.end_s)
    b = th.ballistic
    np.testing.assert_allclose(pos[b, :2], params.assets.pos_m[th.target[b], :2], atol=1e-6)
    np.testing.assert_allclose(pos[b, 2], 0.0, atol=1e-6)
