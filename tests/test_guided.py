"""The engine's guided fidelity level: 3-DOF missiles, midcourse, PN homing, lethal radius."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skydome.engagement.assessment import (
    DESTROYED,
    KILL,
    MISS_BASKET,
    MISS_PK,
    NO_TARGET,
    SPENT,
    assess_guided,
)
from skydome.engagement.flyout import InFlight
from skydome.engagement.guidance import LAWS, MissileState, step
from skydome.engagement.guided import CPA, LOST, Ended, _physics, physics_envelope
from skydome.engagement.guided import SPENT as FLIGHT_SPENT
from skydome.engagement.guided_launch import (
    LAUNCH_HEIGHT_M,
    launch_velocity,
    pointed,
    turn_over,
)
from skydome.engine import simulate
from skydome.engine.stages import AverageSpeedIntercept, default_pipeline
from skydome.errors import UserError
from skydome.events import EVENT_KINDS, MISS_NOTES
from skydome.scenario import compile_scenario, load_scenario, parse_scenario
from tests.conftest import dump
from tests.test_engine import check_invariants

K = {k: i for i, k in enumerate(EVENT_KINDS)}

PHYSICS = {
    "launch_mass_kg": 420,
    "boost_thrust_kn": 46.5,
    "boost_s": 8,
    "isp_s": 250,
    "diameter_m": 0.24,
    "drag_coefficient": 0.35,
    "max_lateral_g": 40,
    "lift_area_m2": 0.9,
    "min_lateral_g": 0,
    "loft_angle_deg": 20,
    "loft_ceiling_km": 20,
    "seeker_range_km": 15,
    "lethal_radius_m": 5,
}


def guided(d: dict[str, Any], **run: Any) -> dict[str, Any]:
    d = copy.deepcopy(d)
    d["run"].update({"flyout": "guided", **run})
    d["missiles"]["m1"]["physics"] = dict(PHYSICS)
    return d


@pytest.mark.parametrize(
    "name", ["40N6-class", "48N6-class", "9M96E2-class", "9M96E-class"], ids=lambda n: n
)
def test_builtin_missile_reach_comes_out_of_its_own_physics(name: str) -> None:
    """Each built-in type, flown by its own 3-DOF physics against stationary points,
    reaches its tabled max range and ceiling within 10 %: the table is a summary of
    the physics, not an independent claim."""
    p = compile_scenario(load_scenario("default"))
    m = p.missiles.names.index(name)
    assert p.missiles.physics is not None
    env = physics_envelope(
        p.missiles.physics, m, max_tof_s=float(p.missiles.max_tof_s[m]), dt_s=0.1
    )
    assert env.max_range_m == pytest.approx(p.missiles.max_range_m[m], rel=0.10)
    assert env.max_altitude_m == pytest.approx(p.missiles.max_alt_m[m], rel=0.10)
    # At its farthest reach the missile is still faster than a strike aircraft.
    assert env.speed_at_max_range_mps > 300.0


def test_a_weaker_motor_reaches_less() -> None:
    """Monotone in energy: 20 % less thrust shortens the reach (the envelope is physics)."""
    p = compile_scenario(load_scenario("default"))
    tp = p.missiles.physics
    assert tp is not None
    m = p.missiles.names.index("9M96E-class")
    full = physics_envelope(tp, m, dt_s=0.1)
    from dataclasses import replace

    weak = replace(tp, boost_thrust_n=tp.boost_thrust_n * 0.8)
    less = physics_envelope(weak, m, dt_s=0.1)
    assert less.max_range_m < 0.9 * full.max_range_m


def test_guided_missile_hits_a_non_manoeuvring_jet(small_dict: dict[str, Any]) -> None:
    """PN homing against a non-manoeuvring target: the kill events' miss distances are
    far inside a 5 m lethal radius (ideal PN has zero miss; Zarchan ch. 2)."""
    small_dict["raids"][0]["count"] = 1
    small_dict["missiles"]["m1"]["pk"] = 1.0
    r = simulate(compile_scenario(parse_scenario(dump(guided(small_dict)))), seed=2)
    ev = r.events
    kills = ev.kind == K["kill"]
    assert kills.sum() == 1
    assert ev.miss_distance_m[kills].max() < 1.0
    # The missile flew for a physical time: launch to intercept at no more than
    # its burn-out speed bound (rocket equation), and longer than at 3 km/s.
    launch_t = ev.time_s[ev.kind == K["launch"]].min()
    d = np.linalg.norm([ev.x_m[kills][0], ev.y_m[kills][0]])
    tof = ev.time_s[kills][0] - launch_t
    assert d / tof < 2_600.0
    check_invariants(r)


def test_guided_runs_are_deterministic_and_differ_from_kinematic(
    small_dict: dict[str, Any],
) -> None:
    g = compile_scenario(parse_scenario(dump(guided(small_dict))))
    a, b = simulate(g, seed=4), simulate(g, seed=4)
    for f in a.events.__dataclass_fields__:
        assert np.array_equal(getattr(a.events, f), getattr(b.events, f), equal_nan=True)
    k = simulate(compile_scenario(parse_scenario(dump(small_dict))), seed=4)
    res_g = (a.events.kind == K["kill"]) | (a.events.kind == K["miss"])
    res_k = (k.events.kind == K["kill"]) | (k.events.kind == K["miss"])
    assert not np.array_equal(a.events.time_s[res_g], k.events.time_s[res_k])


def test_a_target_beyond_the_physics_is_missed_as_spent(small_dict: dict[str, Any]) -> None:
    """The table may claim more than the physics: a planner that plans at the table's
    average speed fires, the missile runs out of speed, and the miss is logged as 'spent'.
    (The default guided planner flies the physics' own flyout tables and does not fire
    here: tests/test_flyout_table.py.)"""
    d = guided(small_dict)
    d["raids"][0]["count"] = 1
    d["raids"][0]["route"] = [
        {"east_km": -290, "north_km": 0, "altitude_m": 9000},
        {"east_km": -200, "north_km": 0, "altitude_m": 9000},
        {"east_km": -199, "north_km": 0, "altitude_m": 9000},
    ]
    d["assets"][0]["defended_radius_km"] = 300
    d["missiles"]["m1"].update(max_range_km=290, average_speed_mps=1500)
    d["missiles"]["m1"]["physics"]["boost_thrust_kn"] = 30.0
    d["doctrine"] = {"salvo_size": 1}
    p = compile_scenario(parse_scenario(dump(d)))
    pipe = replace(default_pipeline(p), intercept=AverageSpeedIntercept(p.missiles))
    r = simulate(p, seed=1, pipeline=pipe)
    ev = r.events
    assert (ev.kind == K["launch"]).sum() >= 1
    assert not (ev.kind == K["kill"]).any()
    miss = ev.kind == K["miss"]
    assert miss.any()
    assert (ev.note[miss] == MISS_NOTES.index("spent")).all()


def test_guided_without_physics_is_a_clear_error(small_dict: dict[str, Any]) -> None:
    small_dict["run"]["flyout"] = "guided"
    with pytest.raises(UserError) as e:
        parse_scenario(dump(small_dict), "x.yaml")
    msg = str(e.value)
    assert "missiles.m1.physics" in msg and "guided" in msg


def test_motor_that_burns_more_than_the_missile_is_a_clear_error(
    small_dict: dict[str, Any],
) -> None:
    d = guided(small_dict)
    d["missiles"]["m1"]["physics"]["boost_s"] = 60
    with pytest.raises(UserError) as e:
        parse_scenario(dump(d), "x.yaml")
    assert "missiles.m1.physics" in str(e.value) and "propellant" in str(e.value)


def _ended(how: list[int], target: list[int], miss: list[float]) -> Ended:
    k = len(how)
    return Ended(
        row=np.arange(k),
        t_end_s=np.full(k, 100.0),
        how=np.array(how, dtype=np.int64),
        target=np.array(target, dtype=np.int64),
        miss_m=np.array(miss),
        pos_m=np.zeros((k, 3)),
    )


def _due(k: int, t: float = 100.0) -> InFlight:
    """K missiles, missile i fired at threat i."""
    i = np.zeros(k, dtype=np.int64)
    a = np.arange(k)
    return InFlight(a, i, i, i, a, np.zeros(k), np.full(k, t), np.zeros((k, 3)))


def test_lethal_radius_cookie_cutter_and_outcome_codes(small_dict: dict[str, Any]) -> None:
    """Within the lethal radius: kill with probability pk (empirical rate inside 5
    sigma of the binomial); beyond it: a distance miss; spent and lost flights."""
    small_dict["raids"][0]["count"] = 4
    p = compile_scenario(parse_scenario(dump(guided(small_dict))))
    pk = float(p.missiles.pk[0])
    lethal = float(p.missiles.physics.lethal_m[0])  # type: ignore[union-attr]
    # One missile per outcome kind, each at its own threat.
    out = assess_guided(
        _due(4),
        _ended([CPA, CPA, FLIGHT_SPENT, LOST], [0, 1, -1, -1], [0.5 * lethal, 3 * lethal, 0, 0]),
        p.threats,
        np.full(p.threats.n, np.inf),
        p.missiles,
        np.random.default_rng(0),
    )
    assert out.code[1] == MISS_BASKET
    assert out.code[2] == SPENT
    assert out.code[3] == NO_TARGET
    assert out.code[0] in (KILL, MISS_PK)
    # Empirical kill rate within the radius: one missile per threat.
    small_dict["raids"][0]["count"] = 2000
    many = compile_scenario(parse_scenario(dump(guided(small_dict))))
    n = many.threats.n
    o = assess_guided(
        _due(n, t=40.0),
        _ended([CPA] * n, list(range(n)), [0.9 * lethal] * n),
        many.threats,
        np.full(n, np.inf),
        many.missiles,
        np.random.default_rng(1),
    )
    rate = float((o.code == KILL).mean())
    assert abs(rate - pk) < 5 * np.sqrt(pk * (1 - pk) / n)
    assert ((o.code == KILL) | (o.code == MISS_PK)).all()


def test_target_already_dead_is_target_destroyed(small_dict: dict[str, Any]) -> None:
    p = compile_scenario(parse_scenario(dump(guided(small_dict))))
    kt = np.full(p.threats.n, np.inf)
    kt[0] = 50.0
    out = assess_guided(
        _due(1), _ended([CPA], [0], [0.0]), p.threats, kt, p.missiles, np.random.default_rng(0)
    )
    assert out.code[0] == DESTROYED
    assert out.kill_time_s[0] == 50.0


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    count=st.integers(1, 6),
    salvo=st.integers(1, 2),
    pk=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_guided_invariants_hold_for_any_small_scenario(
    small_dict: dict[str, Any], count: int, salvo: int, pk: float, seed: int
) -> None:
    d = guided(small_dict)
    d["raids"][0]["count"] = count
    d["doctrine"] = {"salvo_size": salvo}
    d["missiles"]["m1"]["pk"] = pk
    r = simulate(compile_scenario(parse_scenario(dump(d))), seed=seed)
    check_invariants(r)
    if pk == 0.0:
        assert not np.isfinite(r.kill_time_s).any()


def test_seeker_noise_sets_the_miss_distance(small_dict: dict[str, Any]) -> None:
    """With an ideal seeker PN misses by centimetres; with glint sigma per axis the
    misses grow to the order of that sigma (the end game averages the noise over the
    last steps), and a lethal radius below it turns kills into distance misses."""
    small_dict["raids"][0]["count"] = 3
    small_dict["missiles"]["m1"]["pk"] = 1.0
    small_dict["doctrine"] = {"salvo_size": 1}

    def misses(glint: float, lethal: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
        d = guided(small_dict)
        d["missiles"]["m1"]["physics"].update(seeker_glint_m=glint, lethal_radius_m=lethal)
        r = simulate(compile_scenario(parse_scenario(dump(d))), seed=5)
        ev = r.events
        res = (ev.kind == K["kill"]) | (ev.kind == K["miss"])
        return ev.miss_distance_m[res], ev.note[res]

    ideal, _ = misses(0.0)
    noisy, _ = misses(10.0)
    assert np.nanmax(ideal) < 1.0
    assert 1.0 < np.nanmedian(noisy) < 40.0
    tight, notes = misses(10.0, lethal=0.5)
    assert (notes == MISS_NOTES.index("basket")).any()


def test_vertical_launch_turns_over_at_its_rate_then_homes(small_dict: dict[str, Any]) -> None:
    """launch: vertical -- the missile leaves straight up, its velocity turns at
    turnover_rate_deg_s in the vertical plane of the aim point until it is on the pointed
    launch line (elevation of the first loft point), then guidance flies it to a hit."""
    d = guided(small_dict)
    d["missiles"]["m1"]["physics"].update(launch="vertical", turnover_rate_deg_s=45.0)
    tp = compile_scenario(parse_scenario(dump(d))).missiles.physics
    assert tp is not None and tp.vertical_launch[0]
    m = np.zeros(1, dtype=np.int64)
    aim = np.array([[30_000.0, 10_000.0, 6_000.0]])
    start = np.array([[0.0, 0.0, LAUNCH_HEIGHT_M]])
    s = MissileState.launch(start, launch_velocity(aim, start, tp, m), tp.mass_kg[m])
    np.testing.assert_allclose(s.vel_mps[0] / np.linalg.norm(s.vel_mps[0]), [0, 0, 1])
    phys = _physics(tp, m)
    zero = np.zeros((1, 3))
    dt, t = 0.05, 0.0
    want = pointed(aim, start, tp, m)[0]
    el_want = np.degrees(np.arcsin(want[2]))
    while t < 0.5 - 1e-9:
        s, _ = step(s, phys, aim, zero, zero, dt)
        s = turn_over(s, aim, tp, m, dt)
        t += dt
    v = s.vel_mps[0]
    el = np.degrees(np.arctan2(v[2], np.hypot(v[0], v[1])))
    assert el == pytest.approx(90.0 - 45.0 * 0.5, abs=0.5)  # the turn-over rate
    # ... in the vertical plane of the aim point
    assert np.degrees(np.arctan2(v[1], v[0])) == pytest.approx(
        np.degrees(np.arctan2(1, 3)), abs=0.5
    )
    while t < 0.5 * np.pi / tp.turnover_rad_s[0] + 2 * dt:
        s, _ = step(s, phys, aim, zero, zero, dt)
        s = turn_over(s, aim, tp, m, dt)
        t += dt
    u = s.vel_mps[0] / np.linalg.norm(s.vel_mps[0])
    assert np.degrees(np.arccos(np.clip(u @ pointed(aim, s.pos_m, tp, m)[0], -1, 1))) < 1.0
    assert 10.0 < el_want < 45.0
    while not s.done[0] and t < 120.0:
        s, _ = step(s, phys, aim, zero, zero, dt)
        s = turn_over(s, aim, tp, m, dt)
        t += dt
    # Then true PN flies it to the aim point itself.
    assert s.done[0]
    assert s.miss_m[0] < tp.lethal_m[0]


def test_vertical_launch_runs_kill_like_pointed_ones(small_dict: dict[str, Any]) -> None:
    """A guided run with vertically launched missiles still intercepts: kills, and every
    interception later than with pointed launch by no more than the turn-over time."""
    d = guided(small_dict)
    p_pointed = compile_scenario(parse_scenario(dump(d)))
    d["missiles"]["m1"]["physics"].update(launch="vertical")
    p_vertical = compile_scenario(parse_scenario(dump(d)))
    a, b = simulate(p_pointed, seed=2), simulate(p_vertical, seed=2)
    ka, kb = (a.events.kind == K["kill"]).sum(), (b.events.kind == K["kill"]).sum()
    assert kb >= 1
    assert kb >= ka - 1
    check_invariants(b)


def test_guidance_fields_compile_to_the_kernel_physics(small_dict: dict[str, Any]) -> None:
    """guidance_law, autopilot_time_constant_s and max_lateral_jerk_g_per_s reach the kernel
    in SI; augmented_pn is APN; defaults are true PN without lag or jerk limit."""
    d = guided(small_dict)
    tp = compile_scenario(parse_scenario(dump(d))).missiles.physics
    assert tp is not None
    assert LAWS[tp.law[0]] == "tpn" and tp.tau_s[0] == 0.0 and np.isinf(tp.jerk_limit_mps3[0])
    assert not tp.vertical_launch[0]
    d["missiles"]["m1"]["physics"].update(
        guidance_law="zem", autopilot_time_constant_s=0.2, max_lateral_jerk_g_per_s=50.0
    )
    tp = compile_scenario(parse_scenario(dump(d))).missiles.physics
    assert tp is not None
    assert LAWS[tp.law[0]] == "zem" and tp.tau_s[0] == 0.2
    assert tp.jerk_limit_mps3[0] == pytest.approx(50.0 * 9.80665)
    d["missiles"]["m1"]["physics"].update(guidance_law="tpn", augmented_pn=True)
    tp = compile_scenario(parse_scenario(dump(d))).missiles.physics
    assert tp is not None and LAWS[tp.law[0]] == "apn" and tp.augmented[0]
    d["missiles"]["m1"]["physics"].update(guidance_law="pn")
    with pytest.raises(UserError, match="augmented_pn"):
        parse_scenario(dump(d))


@pytest.mark.parametrize("law", ["pn", "tpn", "apn", "zem"])
def test_every_law_with_an_autopilot_lag_intercepts_in_a_run(
    small_dict: dict[str, Any], law: str
) -> None:
    """A guided run flies each law through a 0.2 s autopilot lag and a jerk limit (the lag
    state carried from one engine tick to the next) and still kills."""
    d = guided(small_dict)
    d["missiles"]["m1"]["physics"].update(
        guidance_law=law, autopilot_time_constant_s=0.2, max_lateral_jerk_g_per_s=200.0
    )
    r = simulate(compile_scenario(parse_scenario(dump(d))), seed=3)
    assert (r.events.kind == K["kill"]).sum() >= 1
    check_invariants(r)
