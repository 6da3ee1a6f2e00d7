"""Threat manoeuvres: coordinated turns, weave, pop-up, evasion, drag re-entry.

Oracles: circular-motion kinematics (a = v^2 / R) and fillet geometry for turns;
a = A omega^2 for the weave and the break; the Allen-Eggers re-entry solution
(Allen & Eggers, NACA TR-1381, 1958; also Regan & Anandakrishnan, *Dynamics of
Atmospheric Re-Entry*, AIAA 1993; Zarchan, *Tactical and Strategic Missile
Guidance*, chapter on ballistic target properties): peak deceleration v_e^2 sin(gamma) / (2 e H)
at altitude H ln(rho0 H / (beta sin(gamma))), and the exact time integral via the
exponential integral Ei.
"""

from __future__ import annotations

import copy
import functools
import math
from typing import Any

import numpy as np
import pytest
import yaml
from scipy.special import expi

from skydome.constants import RHO0_KG_M3 as RHO0
from skydome.constants import SCALE_HEIGHT_M
from skydome.engine import simulate
from skydome.errors import ScenarioError
from skydome.events import EVENT_KINDS
from skydome.scenario import compile_scenario, parse_scenario
from skydome.scenario.compile_raids import build_threats
from skydome.threats import GRAVITY_MPS2, REENTRY_ALTITUDE_M, Threats

H = SCALE_HEIGHT_M

BASE: dict[str, Any] = yaml.safe_load(
    """
name: manoeuvres
origin: {lat_deg: 0.0, lon_deg: 0.0}
run: {duration_s: 3000, step_s: 1.0, seed: 3}
assets:
  - {name: base, position: {east_km: 0, north_km: 0}, value: 100}
radars:
  - {name: r1, position: {east_km: 0, north_km: 0}, detection_range_km: 300,
     max_range_km: 400, scan_period_s: 5, sigma_range_m: 50, sigma_azimuth_mrad: 2,
     sigma_elevation_mrad: 2}
missiles:
  sam: {min_range_km: 1, max_range_km: 100, max_altitude_km: 20, average_speed_mps: 1000,
        max_target_speed_mps: 3000, pk: 0.8}
batteries:
  - {name: b1, position: {east_km: 0, north_km: 0}, launchers: 2, load: {sam: 4},
     fire_channels: {targets: 4, missiles: 8}}
raids: []
"""
)


def _wp(e: float, n: float, z: float) -> dict[str, float]:
    return {"east_km": e, "north_km": n, "altitude_m": z}


def _scenario_text(*raids: dict[str, Any], **top: Any) -> str:
    d = copy.deepcopy(BASE)
    d["raids"] = list(raids)
    d.update(top)
    return yaml.safe_dump(d)


def _threats(*raids: dict[str, Any]) -> Threats:
    return build_threats(parse_scenario(_scenario_text(*raids)))


def _route(name: str, route: list[dict[str, float]], **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": "aircraft", "count": 1, "target": "base", "rcs_m2": 1.0,
            "speed_mps": 250.0, "route": route, **kw}  # fmt: skip


def _sample(th: Threats, i: int, t: np.ndarray, **kw: Any) -> tuple[np.ndarray, np.ndarray]:
    return th.state_at(t, np.full(t.size, i, dtype=np.int64), **kw)


# --- coordinated turns --------------------------------------------------------------------

V, TURN_G = 250.0, 3.0
R_TURN = V * V / (TURN_G * GRAVITY_MPS2)
TURN_ROUTE = [_wp(-100, 0, 5000), _wp(-50, 0, 5000), _wp(-50, 50, 5000), _wp(0, 0, 5000)]
TURN_ANGLES = (math.pi / 2, 3 * math.pi / 4)  # left 90 deg, then right 135 deg


@functools.cache
def turning() -> Threats:
    return _threats(
        _route("turn", TURN_ROUTE, turn_g=TURN_G), _route("sharp", TURN_ROUTE)
    )  # fmt: skip


def test_turn_speed_constant_and_path_c1():
    th = turning()
    t = np.linspace(0.0, th.end_s[0], 100_001)[1:-1]
    _, v = _sample(th, 0, t)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), V, rtol=1e-12)
    # C1: between samples dt apart the velocity changes by at most a dt (no jump).
    dv = np.linalg.norm(np.diff(v, axis=0), axis=1)
    assert dv.max() <= TURN_G * GRAVITY_MPS2 * (t[1] - t[0]) * (1 + 1e-6)
    # The same route with sharp corners jumps by 2 v sin(psi / 2) at the corners.
    _, vs = _sample(th, 1, np.linspace(0.0, th.end_s[1], 100_001)[1:-1])
    assert np.linalg.norm(np.diff(vs, axis=0), axis=1).max() > 0.9 * 2 * V * math.sin(math.pi / 4)


def test_turn_lateral_acceleration_is_turn_g():
    th = turning()
    t = np.linspace(0.0, th.end_s[0], 200_001)[1:-1]
    _, v = _sample(th, 0, t)
    dt = t[1] - t[0]
    acc = (v[2:] - v[:-2]) / (2 * dt)  # central differences
    a = np.linalg.norm(acc, axis=1)
    on_arc = a > 1.0  # zero on the legs
    # away from the arc ends, where the difference straddles a tangent point
    inner = on_arc.copy()
    for shift in (1, 2, -1, -2):
        inner &= np.roll(on_arc, shift)
    np.testing.assert_allclose(a[inner], TURN_G * GRAVITY_MPS2, rtol=1e-6)
    # perpendicular to the velocity: a coordinated (level, constant-speed) turn
    cos = np.sum(acc[inner] * v[1:-1][inner], axis=1) / (a[inner] * V)
    assert np.abs(cos).max() < 1e-6
    # the two arcs last R psi / v each
    assert on_arc.sum() * dt == pytest.approx(R_TURN * sum(TURN_ANGLES) / V, rel=1e-3)


def test_turn_arrival_time_is_path_length_over_speed():
    """Fillet geometry: each corner cuts 2 R tan(psi/2) of legs and adds an arc R psi."""
    th = turning()
    legs = 50e3 + 50e3 + math.hypot(50e3, 50e3)
    length = legs - sum(2 * R_TURN * math.tan(p / 2) - R_TURN * p for p in TURN_ANGLES)
    assert th.end_s[0] == pytest.approx(length / V, rel=1e-12)
    assert th.end_s[1] == pytest.approx(legs / V, rel=1e-12)
    end, _ = _sample(th, 0, np.array([th.end_s[0]]))
    np.testing.assert_allclose(end[0], [0.0, 0.0, 5000.0], atol=1e-6)
    # closest approach to the first corner is R (1 / cos(psi/2) - 1) inside it
    p, _ = _sample(th, 0, np.linspace(0.0, th.end_s[0], 200_001))
    d = np.hypot(p[:, 0] + 50e3, p[:, 1]).min()
    assert d == pytest.approx(R_TURN * (1 / math.cos(TURN_ANGLES[0] / 2) - 1), rel=1e-4)


def test_turn_too_tight_for_its_legs_is_capped_and_still_continuous():
    route = [_wp(0, 0, 100), _wp(2, 0, 100), _wp(2, 2, 100), _wp(4, 2, 100)]
    th = _threats(_route("tight", route, turn_g=1.0))  # R = 6.4 km > legs of 2 km
    t = np.linspace(0.0, th.end_s[0], 20_001)[1:-1]
    p, v = _sample(th, 0, t)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), V, rtol=1e-12)
    assert np.linalg.norm(np.diff(p, axis=0), axis=1).max() <= V * (t[1] - t[0]) * (1 + 1e-9)


# --- weave --------------------------------------------------------------------------------

WEAVE_G, WEAVE_T = 4.0, 12.0


@functools.cache
def weaving() -> Threats:
    route = [_wp(-150, 0, 50), _wp(0, 0, 50)]
    weave = {"g": WEAVE_G, "period_s": WEAVE_T, "start_range_km": 40}
    return _threats(_route("weave", route, weave=weave), _route("plain", route))


def test_weave_peak_lateral_acceleration_is_declared():
    th = weaving()
    t = np.linspace(0.0, th.end_s[0], 300_001)[1:-1]
    p, v = _sample(th, 0, t)
    dt = t[1] - t[0]
    acc = (v[2:] - v[:-2]) / (2 * dt)
    lateral = acc[:, 1]  # the track runs east
    assert np.abs(lateral).max() == pytest.approx(WEAVE_G * GRAVITY_MPS2, rel=0.02)
    assert np.abs(acc[:, 0]).max() < 1e-6  # time stays parameterised along the track
    # amplitude a / omega^2: peak-to-peak 2 A
    amp = WEAVE_G * GRAVITY_MPS2 / (2 * math.pi / WEAVE_T) ** 2
    assert p[:, 1].max() == pytest.approx(2 * amp, rel=1e-6)
    assert p[:, 1].min() == pytest.approx(0.0, abs=1e-9)


def test_weave_starts_at_range_and_rejoins_before_the_end():
    th = weaving()
    t = np.linspace(0.0, th.end_s[0], 30_001)
    p, v = _sample(th, 0, t)
    pb, vb = _sample(th, 1, t)
    off = np.abs(p[:, 1]) > 1e-9
    start_x = p[np.argmax(off), 0]
    assert start_x == pytest.approx(-40e3, abs=V * (t[1] - t[0]) + 1e-6)
    assert th.end_s[0] == th.end_s[1]
    # a whole number of periods, so the threat is back on the base path at impact
    last = np.flatnonzero(off)[-1]
    periods = (t[last] - (150e3 - 40e3) / V) / WEAVE_T
    assert periods == pytest.approx(round(periods), abs=2 * (t[1] - t[0]) / WEAVE_T)
    np.testing.assert_allclose(p[-1], pb[-1], atol=1e-9)
    # speed varies with the weave (documented): at most by the lateral rate a / omega
    speed = np.linalg.norm(v, axis=1)
    assert speed.max() <= math.hypot(V, WEAVE_G * GRAVITY_MPS2 * WEAVE_T / (2 * math.pi)) + 1e-9
    np.testing.assert_array_equal(p[~off], pb[~off])


# --- pop-up and terminal dive -------------------------------------------------------------


def test_popup_profile_passes_the_declared_points():
    route = [_wp(-200, 0, 50), _wp(-60, 0, 40), _wp(0, 0, 0)]
    term = {"popup_range_km": 10, "popup_altitude_m": 800, "dive_angle_deg": 30}
    th = _threats(_route("cm", route, terminal=term, speed_mps=240.0))
    k = int(th.n_wp[0])
    wp = th.wp_m[0, :k]
    np.testing.assert_allclose(wp[0], [-200e3, 0.0, 50.0])
    np.testing.assert_allclose(wp[1], [-60e3, 0.0, 40.0])
    # pop-up start 10 km before the end, at the route's altitude there (40 m)
    np.testing.assert_allclose(wp[2], [-10e3, 0.0, 40.0 * 10 / 60], atol=1e-9)
    d_dive = 800.0 / math.tan(math.radians(30.0))
    np.testing.assert_allclose(wp[3], [-d_dive, 0.0, 800.0], atol=1e-9)
    np.testing.assert_allclose(wp[4], [0.0, 0.0, 0.0])
    # the flown altitude passes them at the cumulative times, and the dive is at 30 deg
    p, v = _sample(th, 0, th.wp_t_s[0, :k])
    np.testing.assert_allclose(p[:, 2], wp[:, 2], atol=1e-9)
    _, vd = _sample(th, 0, np.array([0.5 * (th.wp_t_s[0, 3] + th.wp_t_s[0, 4])]))
    assert math.degrees(math.atan2(-vd[0, 2], math.hypot(*vd[0, :2]))) == pytest.approx(30.0)
    assert th.end_s[0] == pytest.approx(th.wp_t_s[0, 4], rel=1e-12)


def test_popup_with_turns_and_members():
    route = [_wp(-200, 50, 50), _wp(-60, 0, 40), _wp(0, 0, 0)]
    term = {"popup_range_km": 10, "popup_altitude_m": 500, "dive_angle_deg": 20}
    th = _threats(_route("cm", route, terminal=term, turn_g=2.0, count=3, lateral_spacing_km=1))
    for i in range(3):
        end, _ = _sample(th, i, np.array([th.end_s[i]]))
        np.testing.assert_allclose(end[0], 0.0, atol=1e-6)
        p, _ = _sample(th, i, th.wp_t_s[i, : th.n_wp[i]])
        assert p[:, 2].max() == pytest.approx(500.0, abs=1e-9)
        t = np.linspace(0.0, th.end_s[i], 20_001)
        assert _sample(th, i, t)[0][:, 2].max() <= 500.0 + 1e-9


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ({"popup_range_km": 150, "popup_altitude_m": 500, "dive_angle_deg": 30}, "ground length"),
        ({"popup_range_km": 1, "popup_altitude_m": 2000, "dive_angle_deg": 10}, "the dive needs"),
        ({"popup_range_km": 10, "popup_altitude_m": 500, "dive_angle_deg": 95}, "dive_angle_deg"),
    ],
    ids=["beyond-route", "dive-too-long", "angle-bound"],
)
def test_bad_terminal_is_a_clear_error(term, message):
    route = [_wp(-100, 0, 50), _wp(0, 0, 0)]
    with pytest.raises(ScenarioError) as info:
        parse_scenario(_scenario_text(_route("cm", route, terminal=term)))
    assert message in str(info.value) and "raids" in str(info.value)


def test_manoeuvres_need_a_route():
    bal = {"name": "b", "type": "bm", "count": 1, "target": "base", "rcs_m2": 0.1,
           "ballistic": {"launch": {"east_km": -200, "north_km": 0}, "apogee_km": 50},
           "evasion": {"g": 5, "duration_s": 10}}  # fmt: skip
    with pytest.raises(ScenarioError, match="evasion needs a route"):
        parse_scenario(_scenario_text(bal))


# --- evasion ------------------------------------------------------------------------------

EVADE_G, EVADE_T = 5.0, 20.0


@functools.cache
def evading() -> Threats:
    route = [_wp(-150, 0, 8000), _wp(0, 0, 8000)]
    ev = {"g": EVADE_G, "duration_s": EVADE_T}
    return _threats(_route("a", route, evasion=ev), _route("b", route, evasion=ev))


def test_illuminated_threat_breaks_with_declared_peak_and_rejoins():
    th = evading()
    start = np.array([200.0, np.inf])  # threat 0 illuminated at 200 s, threat 1 never
    t = np.linspace(150.0, 260.0, 110_001)
    p, v = _sample(th, 0, t, evade_start_s=start)
    pb, vb = _sample(th, 0, t)  # no evasion state: the base path
    dt = t[1] - t[0]
    acc = (v[2:] - v[:-2]) / (2 * dt)
    assert np.abs(acc[:, 1]).max() == pytest.approx(EVADE_G * GRAVITY_MPS2, rel=0.02)
    dev = np.linalg.norm(p - pb, axis=1)
    amp = EVADE_G * GRAVITY_MPS2 * EVADE_T**2 / (4 * math.pi**2)
    assert dev.max() == pytest.approx(2 * amp, rel=1e-6)  # peak at half the break
    assert t[np.argmax(dev)] == pytest.approx(200.0 + EVADE_T / 2, abs=2 * dt)
    outside = (t <= 200.0) | (t >= 200.0 + EVADE_T)
    assert dev[outside].max() < 1e-6
    np.testing.assert_allclose(v[outside], vb[outside], atol=1e-6)
    # the other threat is unaffected, and end times are unchanged
    p1, v1 = _sample(th, 1, t, evade_start_s=start)
    p1b, v1b = _sample(th, 1, t)
    np.testing.assert_array_equal(p1, p1b)
    np.testing.assert_array_equal(v1, v1b)


def test_break_that_would_not_end_before_the_leak_is_not_flown():
    th = evading()
    late = float(th.end_s[0] - EVADE_T / 2)
    t = np.linspace(late, float(th.end_s[0]), 1001)
    p, _ = _sample(th, 0, t, evade_start_s=np.array([late, np.inf]))
    pb, _ = _sample(th, 0, t)
    np.testing.assert_array_equal(p, pb)


def _evasion_run_params():
    near = _route("near", [_wp(-160, 0, 6000), _wp(0, 0, 6000)], release_range_km=20,
                  evasion={"g": 6, "duration_s": 15})  # fmt: skip
    far = _route("far", [_wp(350, -250, 9000), _wp(350, 250, 9000)],
                 evasion={"g": 6, "duration_s": 15})  # fmt: skip
    text = _scenario_text(near, far, run={"duration_s": 700, "step_s": 1.0, "seed": 11})
    return compile_scenario(parse_scenario(text))


def test_engine_evasion_deviates_engaged_threat_only_and_is_deterministic():
    params = _evasion_run_params()
    r1 = simulate(params, record_every_s=1.0)
    r2 = simulate(params, record_every_s=1.0)
    for f in r1.events.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(r1.events, f), getattr(r2.events, f))
    assert r1.engaged[0] and not r1.engaged[1]
    th = params.threats
    ts = r1.truth_samples
    k = EVENT_KINDS.index("launch")
    launch = r1.events.time_s[(r1.events.kind == k) & (r1.events.threat_id == 0)].min()
    for i in (0, 1):
        sel = ts["threat_id"] == i
        t = ts["time_s"][sel]
        base, _ = _sample(th, i, t)
        rec = np.column_stack([ts["x_m"][sel], ts["y_m"][sel], ts["z_m"][sel]])
        dev = np.linalg.norm(rec - base, axis=1)
        if i == 0:
            during = (t > launch) & (t < launch + 15.0)
            amp = 6.0 * GRAVITY_MPS2 * 15.0**2 / (4 * math.pi**2)
            assert dev[during].max() > 0.9 * 2 * amp  # sampled every second
            assert dev[~during].max() < 1e-6
        else:
            assert dev.max() == 0.0


# --- ballistic re-entry with drag ---------------------------------------------------------

BETA = 1000.0


def _ballistic(beta: float | None, apogee_km: float = 300.0) -> dict[str, Any]:
    spec: dict[str, Any] = {"launch": {"east_km": -1000, "north_km": 0}, "apogee_km": apogee_km}
    if beta is not None:
        spec["ballistic_coefficient_kg_m2"] = beta
    name = "vacuum" if beta is None else f"beta-{beta:.0f}"
    return {"name": name, "type": "bm", "count": 1, "target": "base", "rcs_m2": 0.1,
            "ballistic": spec}  # fmt: skip


@functools.cache
def reentering() -> Threats:
    return _threats(_ballistic(BETA), _ballistic(None), _ballistic(1e6))


def _entry_conditions() -> tuple[float, float, float]:
    """Independent vacuum-arc values at 100 km: (time since launch, v_e, sin gamma)."""
    g, h_apo, h_e, rng = GRAVITY_MPS2, 300e3, REENTRY_ALTITUDE_M, 1000e3
    w0 = math.sqrt(2 * g * h_apo)
    tof = 2 * w0 / g
    vh = rng / tof
    tau_e = (w0 + math.sqrt(2 * g * (h_apo - h_e))) / g
    v_e = math.hypot(vh, math.sqrt(2 * g * (h_apo - h_e)))
    ground_left = rng - vh * tau_e
    return tau_e, v_e, h_e / math.hypot(ground_left, h_e)


def test_reentry_peak_deceleration_matches_allen_eggers():
    th = reentering()
    tau_e, v_e, sin_g = _entry_conditions()
    t = np.linspace(tau_e, float(th.end_s[0]) - 1e-6, 400_001)
    p, v = _sample(th, 0, t)
    speed = np.linalg.norm(v, axis=1)
    decel = -np.diff(speed) / np.diff(t)
    i = int(np.argmax(decel))
    h_peak = 0.5 * (p[i, 2] + p[i + 1, 2])
    h_star = H * math.log(RHO0 * H / (BETA * sin_g))
    a_star = v_e**2 * sin_g / (2 * math.e * H)
    assert h_peak == pytest.approx(h_star, rel=0.01)
    assert decel[i] == pytest.approx(a_star, rel=0.01)
    # straight line at constant gamma, velocity along it
    assert np.all(p[:, 2] <= REENTRY_ALTITUDE_M + 1e-6)
    gam = -v[:-1, 2] / speed[:-1]
    np.testing.assert_allclose(gam, sin_g, rtol=1e-9)


def test_reentry_time_table_matches_exponential_integral():
    """t = H e^(-B c) / (v_e sin g) [Ei(B e^(-h/H)) - Ei(B c)], c = e^(-h_e/H)."""
    th = reentering()
    tau_e, v_e, sin_g = _entry_conditions()
    b = RHO0 * H / (2 * BETA * sin_g)
    c = math.exp(-REENTRY_ALTITUDE_M / H)
    exact = H * math.exp(-b * c) / (v_e * sin_g) * (expi(b) - expi(b * c))
    assert th.end_s[0] == pytest.approx(tau_e + exact, rel=1e-3)
    assert th.reentry_dur_s[0] == pytest.approx(exact, rel=2e-4)
    # and the altitude reached at a given time, mid-way down
    h = 20_000.0
    t_h = H * math.exp(-b * c) / (v_e * sin_g) * (expi(b * math.exp(-h / H)) - expi(b * c))
    p, _ = _sample(th, 0, np.array([tau_e + t_h]))
    assert p[0, 2] == pytest.approx(h, rel=1e-3)


def test_reentry_still_hits_the_impact_point():
    th = reentering()
    for i in (0, 2):
        p, v = _sample(th, i, np.array([th.end_s[i], th.end_s[i] + 10.0]))
        np.testing.assert_allclose(p, 0.0, atol=1e-6)
        np.testing.assert_array_equal(v, 0.0)
    assert th.end_s[0] > th.end_s[2] > 0.0  # drag makes it late


def test_reentry_large_beta_recovers_the_drag_free_motion():
    th = reentering()
    tau_e, v_e, _ = _entry_conditions()
    # above the re-entry altitude: exactly the vacuum arc
    t = np.linspace(0.0, tau_e - 1e-9, 1001)
    for i in (0, 2):
        np.testing.assert_array_equal(_sample(th, i, t)[0], _sample(th, 1, t)[0])
    # below it, beta -> infinity: constant speed v_e on the chord (gravity neglected, as
    # in Allen-Eggers), and the impact time within 1 % of the vacuum arc's (measured
    # +0.52 %: the chord replaces the last 100 km of the parabola)
    t = np.linspace(tau_e, float(th.end_s[2]) - 1e-6, 1001)
    _, v = _sample(th, 2, t)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), v_e, rtol=1e-2)
    assert th.end_s[2] == pytest.approx(th.end_s[1], rel=1e-2)


def test_vacuum_ballistic_unchanged_without_beta():
    th = reentering()
    assert np.isinf(th.reentry_tau_s[1])
    assert th.end_s[1] == pytest.approx(2 * math.sqrt(2 * 300e3 / GRAVITY_MPS2), rel=1e-12)


def test_engine_evasion_in_the_end_game_starts_at_its_time_to_go():
    """trigger time_to_go: the break starts time_to_go_s before the first missile's
    predicted intercept (the planner's), not at the launch."""
    tgo = 12.0
    ev = {"g": 6, "duration_s": 15, "trigger": "time_to_go", "time_to_go_s": tgo}
    near = _route("near", [_wp(-160, 0, 6000), _wp(0, 0, 6000)], release_range_km=20,
                  evasion=ev)  # fmt: skip
    far = _route("far", [_wp(350, -250, 9000), _wp(350, 250, 9000)], evasion=ev)
    text = _scenario_text(near, far, run={"duration_s": 700, "step_s": 1.0, "seed": 11})
    params = compile_scenario(parse_scenario(text))
    assert params.threats.evade_tgo_s.tolist() == [tgo, tgo]
    r = simulate(params, record_every_s=1.0)
    assert r.engaged[0]
    th = params.threats
    ev_ = r.events
    first = np.flatnonzero((ev_.kind == EVENT_KINDS.index("launch")) & (ev_.threat_id == 0))[0]
    t_launch = ev_.time_s[first]
    # Kinematic flyout: the missile resolves at its predicted intercept time.
    t_int = ev_.time_s[(ev_.missile_id == ev_.missile_id[first]) & (ev_.kind != ev_.kind[first])]
    onset = t_int.min() - tgo
    assert onset > t_launch + 5.0  # the end game, well after the launch
    ts = r.truth_samples
    sel = ts["threat_id"] == 0
    t = ts["time_s"][sel]
    base, _ = _sample(th, 0, t)
    rec = np.column_stack([ts["x_m"][sel], ts["y_m"][sel], ts["z_m"][sel]])
    dev = np.linalg.norm(rec - base, axis=1)
    started = t[dev > 1e-6].min()  # first (1 s) sample off the route
    assert onset < started <= onset + 1.0 + 1e-9
