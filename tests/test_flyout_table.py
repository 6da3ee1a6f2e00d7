"""Flyout tables (issue 12 item 5): the planner's times come out of the missiles' own flights.

Oracles: the constant-speed intercept quadratic (closed form) for the solver;
direct flights of the 3-DOF kernel at a fine step for the table's interpolation;
`physics_envelope` (an independent fan search) for the reach and ceiling; and
the guided engine's own flights for the planner's predicted times.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from skydome.engagement.flyout_table import (
    FlyoutTable,
    fly_points,
    flyout_table,
    intercept_tof,
)
from skydome.engagement.geometry import time_of_flight
from skydome.engagement.guided import LAUNCH_HEIGHT_M, physics_envelope
from skydome.engine import simulate
from skydome.engine.stages import AverageSpeedIntercept, FlyoutTableIntercept, default_pipeline
from skydome.events import EVENT_KINDS
from skydome.scenario import compile_scenario, parse_scenario
from skydome.scenario.compile import SimParams
from tests.conftest import dump

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_planner_vs_flown import errors  # noqa: E402

K = {k: i for i, k in enumerate(EVENT_KINDS)}


def table_of(p: SimParams) -> FlyoutTable:
    mis = p.missiles
    assert mis.physics is not None
    return flyout_table(mis.physics, mis.max_range_m, mis.max_alt_m, mis.max_tof_s)


def constant_speed_table(speed_mps: float) -> FlyoutTable:
    """A table of a missile that flies at `speed_mps` in a straight line (1 type)."""
    ground = np.linspace(1e3, 200e3, 9)[None, :]
    alt = np.linspace(0.0, 30e3, 5)[None, :]
    pace = np.full((1, 5, 9), 1.0 / speed_mps)
    slant = np.hypot(ground[:, None, :], alt[:, :, None] - LAUNCH_HEIGHT_M)
    return FlyoutTable(
        ground_m=ground, alt_m=alt, tof_s=pace * slant, speed_mps=np.full((1, 5, 9), speed_mps),
        pace_s_per_m=pace, reach_m=np.full((1, 5), 200e3), ceiling_m=np.array([30e3]),
        hole=np.zeros((1, 5, 9)), peak_speed_mps=np.array([speed_mps]),
        envelope_alt_m=np.array([[0.0, 30e3]]), envelope_reach_m=np.array([[200e3, 0.0]]),
        build_s=0.0,
    )  # fmt: skip


def test_solver_matches_the_constant_speed_closed_form() -> None:
    """With a constant-speed table the fixed point T = tof(PIP(T)) is the root of the
    classic intercept quadratic |d + v T| = s T (approaching, crossing, receding)."""
    rng = np.random.default_rng(5)
    n = 200
    d = np.column_stack(
        [rng.uniform(-150e3, 150e3, n), rng.uniform(-150e3, 150e3, n), rng.uniform(1e3, 20e3, n)]
    )
    v = np.column_stack([rng.uniform(-700, 700, n), rng.uniform(-700, 700, n), np.zeros(n)])
    speed = 1200.0
    table = constant_speed_table(speed)
    got = intercept_tof(table, np.zeros(n, dtype=np.int64), d, v)
    rel = d.copy()
    rel[:, 2] -= LAUNCH_HEIGHT_M  # the table's flights start this high
    want = time_of_flight(rel, v, np.full(n, speed))
    assert np.isfinite(want).all()
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=0.02)


def test_solver_finds_no_intercept_of_a_faster_receding_target() -> None:
    table = constant_speed_table(500.0)
    d = np.array([[50e3, 0.0, 5e3]])
    v = np.array([[900.0, 0.0, 0.0]])
    assert np.isinf(intercept_tof(table, np.zeros(1, dtype=np.int64), d, v)).all()


def test_table_time_of_flight_agrees_with_direct_flights_off_grid(
    default_params: SimParams,
) -> None:
    """Interpolated times at random points between the nodes vs the kernel flown there:
    the engine's way (coarse midcourse step: the interpolation error alone) and at the
    fine step throughout (adds the engine's coarse-step error, ~2-3 % on long flights)."""
    p = default_params
    tp = p.missiles.physics
    assert tp is not None
    table = table_of(p)
    rng = np.random.default_rng(1)
    n_m = len(p.missiles.names)
    m = np.repeat(np.arange(n_m), 6)
    ground = rng.uniform(0.25, 0.9, m.size) * p.missiles.max_range_m[m]
    alt = rng.uniform(0.5e3, 12e3, m.size)
    pts = np.column_stack([ground, np.zeros(m.size), alt])
    hit, engine_way, _, _ = fly_points(tp, m, pts, p.missiles.max_tof_s)
    hit_fine, fine, _, _ = fly_points(tp, m, pts, p.missiles.max_tof_s, coarse_s=0.05)
    ok = hit & hit_fine & (table.reach(m, alt) >= ground)
    assert ok.sum() >= 0.8 * m.size
    tab = table.tof(m, ground, alt)[ok]
    rel = np.abs(tab - engine_way[ok]) / engine_way[ok]
    assert np.median(rel) < 0.01
    assert rel.max() < 0.05  # the worst: next to the 40N6-class loft transition
    assert (np.abs(tab - fine[ok]) / fine[ok]).max() < 0.06


@pytest.mark.parametrize("name", ["48N6-class", "9M96E-class"])
def test_reach_and_ceiling_agree_with_physics_envelope(
    default_params: SimParams, name: str
) -> None:
    """The table's reach at 10 km altitude and its ceiling vs `physics_envelope`'s fan search."""
    p = default_params
    tp = p.missiles.physics
    assert tp is not None
    m = p.missiles.names.index(name)
    env = physics_envelope(tp, m, max_tof_s=float(p.missiles.max_tof_s[m]), dt_s=0.1)
    table = table_of(p)
    reach = float(table.reach(np.array(m), np.array(10e3)))
    assert reach == pytest.approx(env.max_range_m, rel=0.10)
    assert table.ceiling_m[m] == pytest.approx(env.max_altitude_m, rel=0.10)


def test_table_is_built_once_per_physics(default_params: SimParams) -> None:
    p = default_params
    tp = p.missiles.physics
    assert tp is not None
    a = table_of(p)
    assert table_of(replace(p, missiles=replace(p.missiles))) is a  # equal values: cached
    assert a.build_s < 10.0
    weaker = replace(tp, boost_thrust_n=tp.boost_thrust_n * 0.9)
    b = flyout_table(weaker, p.missiles.max_range_m, p.missiles.max_alt_m, p.missiles.max_tof_s)
    assert b is not a
    m = p.missiles.names.index("9M96E-class")  # energy-limited: less thrust, less reach
    assert b.reach(np.array(m), np.array(5e3)) < a.reach(np.array(m), np.array(5e3))


def test_guided_runs_plan_with_tables_and_kinematic_runs_at_average_speed(
    default_params: SimParams,
) -> None:
    kin = default_pipeline(replace(default_params, flyout="kinematic"))
    gui = default_pipeline(replace(default_params, flyout="guided"))
    assert isinstance(kin.intercept, AverageSpeedIntercept)
    assert isinstance(gui.intercept, FlyoutTableIntercept)


def test_planner_predicted_time_matches_the_flown_time_in_guided_runs(
    default_params: SimParams,
) -> None:
    """Issue 12: the planner's time to intercept agrees with the flown one within 10 %
    (median) in a guided run of the default scenario; at average speed it did not."""
    p = replace(default_params, flyout="guided", duration_s=400.0)
    pipe = default_pipeline(p)
    after, _ = errors(p, pipe, seed=1)
    assert after.size >= 10
    assert np.median(after) < 0.10
    before, _ = errors(p, replace(pipe, intercept=AverageSpeedIntercept(p.missiles)), seed=1)
    assert np.median(before) > np.median(after)


def test_no_launch_beyond_the_physics_reach(small_dict: dict[str, Any]) -> None:
    """A target inside the tabled max range but beyond the physics' reach: guided runs
    (planning with the physics) do not fire; planning at average speed did."""
    d = copy.deepcopy(small_dict)
    d["run"]["flyout"] = "guided"
    d["raids"][0]["count"] = 1
    d["raids"][0]["route"] = [
        {"east_km": -290, "north_km": 0, "altitude_m": 9000},
        {"east_km": -200, "north_km": 0, "altitude_m": 9000},
        {"east_km": -199, "north_km": 0, "altitude_m": 9000},
    ]
    d["assets"][0]["defended_radius_km"] = 300
    d["missiles"]["m1"].update(max_range_km=290, average_speed_mps=1500)
    d["missiles"]["m1"]["physics"] = {
        "launch_mass_kg": 420, "boost_thrust_kn": 30.0, "boost_s": 8, "isp_s": 250,
        "diameter_m": 0.24, "drag_coefficient": 0.35, "max_lateral_g": 40,
        "lift_area_m2": 0.9, "min_lateral_g": 0, "loft_angle_deg": 20,
        "loft_ceiling_km": 20, "seeker_range_km": 15, "lethal_radius_m": 5,
    }  # fmt: skip
    d["doctrine"] = {"salvo_size": 1}
    p = compile_scenario(parse_scenario(dump(d)))
    table = table_of(p)
    assert table.reach(np.array(0), np.array(9e3)) < 199e3  # the physics falls short
    r = simulate(p, seed=1)
    assert not (r.events.kind == K["launch"]).any()
    pipe = replace(default_pipeline(p), intercept=AverageSpeedIntercept(p.missiles))
    r = simulate(p, seed=1, pipeline=pipe)
    assert (r.events.kind == K["launch"]).any()
