"""Kill probability per (missile type, threat type): lookups, compile, Monte Carlo, errors.

The Monte Carlo runs the whole engine (detection, tracking, planning, flyout,
assessment) for one missile type against one threat class and checks that the
observed kill rate per Pk draw contains the configured Pk in its 99 %
Clopper-Pearson interval (scipy's exact binomial interval: an independent oracle).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from skydome.engagement.geometry import intercept_grid
from skydome.engine import simulate
from skydome.errors import ScenarioError
from skydome.events import EVENT_KINDS, NOTES
from skydome.scenario import compile_scenario, load_scenario, parse_scenario
from tests.conftest import dump

K = {k: i for i, k in enumerate(EVENT_KINDS)}
NOTE = {k: i for i, k in enumerate(NOTES)}


def _stream(small_dict: dict[str, Any], count: int, pk: float) -> dict[str, Any]:
    """One type, one battery with missiles and channels to spare, a stream of drones.

    The drones fly in single file at 1 km altitude straight at the battery, well
    inside the type's envelope and seen by a precise radar, so nearly every
    missile reaches its target and draws its Pk; shoot-look-shoot with one
    missile per engagement re-engages a survivor, giving more draws than threats.
    """
    d = copy.deepcopy(small_dict)
    d["run"] = {"duration_s": 900, "step_s": 1.0, "seed": 5}
    d["missiles"]["m1"].update(
        pk=pk,
        min_range_km=0.5,
        max_range_km=40,
        max_altitude_km=10,
        average_speed_mps=1200,
        homing_basket_m=3000,
    )
    d["batteries"][0].update(
        launchers=50,
        load={"m1": 20},
        fire_channels={"targets": 50, "missiles": 50},
        reaction_time_s=1,
        launch_interval_s=0,
    )
    d["doctrine"] = {"salvo_size": 1, "policy": "shoot_look_shoot", "decision_period_s": 2}
    d["raids"] = [
        {
            "name": "stream",
            "type": "drone",
            "count": count,
            "target": "base",
            "launch_time_s": 0,
            "launch_spread_s": 450,
            "rcs_m2": 1,
            "speed_mps": 150,
            "route": [
                {"east_km": -60, "north_km": 0, "altitude_m": 1000},
                {"east_km": 0, "north_km": 0, "altitude_m": 1000},
            ],
        }
    ]
    return d


def _draws(d: dict[str, Any]) -> tuple[int, int]:
    """(kills, Pk draws) of a run: every kill, and every miss noted 'pk'."""
    r = simulate(compile_scenario(parse_scenario(dump(d))))
    ev = r.events
    kills = int((ev.kind == K["kill"]).sum())
    failed = int(((ev.kind == K["miss"]) & (ev.note == NOTE["pk"])).sum())
    return kills, kills + failed


def _ci99(kills: int, n: int) -> tuple[float, float]:
    ci = binomtest(kills, n).proportion_ci(confidence_level=0.99, method="exact")
    return float(ci.low), float(ci.high)


def test_monte_carlo_reproduces_the_types_pk(small_dict: dict[str, Any]) -> None:
    """No entry for the threat type: the type's own pk."""
    kills, n = _draws(_stream(small_dict, 150, pk=0.7))
    assert n >= 150
    low, high = _ci99(kills, n)
    assert low <= 0.7 <= high, (kills, n, low, high)


def test_monte_carlo_reproduces_the_per_class_pk(small_dict: dict[str, Any]) -> None:
    """pk_against the drones wins over the type's pk, and the two are told apart."""
    d = _stream(small_dict, 150, pk=0.9)
    d["missiles"]["m1"]["pk_against"] = {"drone": 0.5, "ballistic": 0.1}
    kills, n = _draws(d)
    assert n >= 150
    low, high = _ci99(kills, n)
    assert low <= 0.5 <= high, (kills, n, low, high)
    assert not low <= 0.9 <= high and not low <= 0.1 <= high


def _two_types(small_dict: dict[str, Any]) -> dict[str, Any]:
    """The small scenario with a second, ballistic raid (threat types: aircraft, srbm)."""
    d = copy.deepcopy(small_dict)
    d["raids"].append(
        {
            "name": "tbm",
            "type": "srbm",
            "count": 2,
            "target": "base",
            "launch_time_s": 10,
            "rcs_m2": 0.1,
            "ballistic": {"launch": {"east_km": -250, "north_km": 0}, "apogee_km": 70},
        }
    )
    return d


def test_a_label_wins_over_ballistic_and_the_rest_get_the_defaults(
    small_dict: dict[str, Any],
) -> None:
    d = _two_types(small_dict)
    m = d["missiles"]["m1"]
    m["pk_against"] = {"ballistic": 0.3}
    m["max_target_speed_against_mps"] = {"ballistic": 1200, "aircraft": 600}
    p = compile_scenario(parse_scenario(dump(d)))
    types = p.threats.type_names
    assert types == ("aircraft", "srbm")
    mis = p.missiles
    assert mis.pk_mt.tolist() == [[0.8, 0.3]]
    assert mis.max_target_speed_mt.tolist() == [[600.0, 1200.0]]
    m["pk_against"] = {"ballistic": 0.3, "srbm": 0.45}
    mis = compile_scenario(parse_scenario(dump(d))).missiles
    assert mis.pk_mt.tolist() == [[0.8, 0.45]]
    # Unknown identity (-1): the type's defaults.
    assert mis.pk_of(np.array([0, 0, 0]), np.array([-1, 0, 1])).tolist() == [0.8, 0.8, 0.45]
    assert mis.max_target_speed_of(np.array([0]), np.array([-1])).tolist() == [3000.0]


@settings(max_examples=40, deadline=None)
@given(
    n_m=st.integers(1, 4),
    n_t=st.integers(0, 5),
    data=st.data(),
)
def test_lookups_match_a_plain_loop(n_m: int, n_t: int, data: st.DataObject) -> None:
    """pk_of / max_target_speed_of against a loop over (type, threat type) pairs."""
    from dataclasses import replace

    base = compile_scenario(load_scenario("saturation")).missiles
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    idx = np.arange(n_m) % base.pk.size
    mis = replace(
        base,
        pk=rng.random(n_m),
        max_target_speed_mps=rng.uniform(100, 5000, n_m),
        pk_mt=rng.random((n_m, n_t)),
        max_target_speed_mt=rng.uniform(100, 5000, (n_m, n_t)),
        names=tuple(base.names[i] for i in idx),
    )
    k = data.draw(st.integers(0, 30))
    mt = rng.integers(0, n_m, k)
    tt = rng.integers(-1, n_t + 1, k)  # -1 and n_t: unknown threat types
    pk = mis.pk_of(mt, tt)
    vmax = mis.max_target_speed_of(mt, tt)
    for i in range(k):
        known = 0 <= tt[i] < n_t
        assert pk[i] == (mis.pk_mt[mt[i], tt[i]] if known else mis.pk[mt[i]])
        want = mis.max_target_speed_mt[mt[i], tt[i]] if known else mis.max_target_speed_mps[mt[i]]
        assert vmax[i] == want
    # Broadcasting: every type against every threat type at once.
    grid = mis.pk_of(np.arange(n_m)[:, None], np.arange(n_t)[None, :])
    assert grid.shape == (n_m, n_t) and np.array_equal(grid, mis.pk_mt)


def test_the_envelope_uses_the_speed_limit_of_the_tracks_threat_type(
    small_dict: dict[str, Any],
) -> None:
    """A 1,500 m/s track: out of the envelope as a ballistic threat, inside as unknown."""
    d = _two_types(small_dict)
    d["missiles"]["m1"]["max_target_speed_against_mps"] = {"srbm": 1000}
    p = compile_scenario(parse_scenario(dump(d)))
    pos = np.array([[-60_000.0, 10_000.0, 10_000.0]] * 3)
    vel = np.array([[1500.0, 0.0, 0.0]] * 3)
    deadline = np.full(3, 1e9)
    ttype = np.array([-1, 0, 1])  # unknown, aircraft, srbm
    g = intercept_grid(pos, vel, p.batteries, p.missiles, deadline, ttype)
    assert g.feasible[:, 0, 0].tolist() == [True, True, False]
    # Without identities every track is unknown: the type's default limit (3,000 m/s).
    g0 = intercept_grid(pos, vel, p.batteries, p.missiles, deadline)
    assert g0.feasible[:, 0, 0].all()


def test_the_builtin_short_range_type_does_not_engage_ballistic_reentry_speeds() -> None:
    """The issue's case: no 9M96E-class Pk against a ~1.5-3.5 km/s ballistic target."""
    p = compile_scenario(load_scenario("default"))
    mis, th = p.missiles, p.threats
    m = mis.names.index("9M96E-class")
    bal = th.type_index[th.ballistic][0]
    assert mis.max_target_speed_of(np.array([m]), np.array([bal]))[0] < 1500.0
    # The long-range types keep the system's public 4.8 km/s against ballistic targets.
    for name in ("40N6-class", "48N6-class"):
        i = mis.names.index(name)
        assert mis.max_target_speed_of(np.array([i]), np.array([bal]))[0] == 4800.0


@pytest.mark.parametrize(
    ("field", "key", "hint"),
    [
        ("pk_against", "dron", "did you mean 'drone'?"),
        ("max_target_speed_against_mps", "balistic", "did you mean 'ballistic'?"),
        ("pk_against", "submarine", "expected a raid's type ('drone') or 'ballistic'"),
    ],
)
def test_an_unknown_threat_type_is_an_error_naming_the_field_and_the_choices(
    small_dict: dict[str, Any], field: str, key: str, hint: str
) -> None:
    from skydome.scenario.schema import Scenario

    d = _stream(small_dict, 2, pk=0.7)
    d["missiles"]["m1"][field] = {key: 0.5 if field == "pk_against" else 900}
    with pytest.raises(ValueError) as e:
        compile_scenario(Scenario.model_validate(d))
    msg = str(e.value)
    assert f"missiles.m1.{field}.{key}" in msg
    assert f"no raid has threat type {key!r}" in msg and hint in msg


@pytest.mark.parametrize(
    ("field", "value", "bound"),
    [
        ("pk_against", 1.2, "less than or equal to 1"),
        ("max_target_speed_against_mps", 0, "greater than 0"),
    ],
)
def test_per_class_values_are_bounded(
    small_dict: dict[str, Any], field: str, value: float, bound: str
) -> None:
    d = copy.deepcopy(small_dict)
    d["missiles"]["m1"][field] = {"aircraft": value}
    with pytest.raises(ScenarioError, match=bound):
        parse_scenario(dump(d))


def test_the_homing_miss_sigma_is_given_or_half_the_lethal_radius_or_5_m(
    small_dict: dict[str, Any],
) -> None:
    from dataclasses import fields

    from skydome.engagement.params import DEFAULT_HOMING_SIGMA_M, MissileParams

    p = compile_scenario(load_scenario("default")).missiles
    assert p.physics is not None
    assert np.array_equal(p.homing_sigma_m, p.physics.lethal_m / 2.0)
    assert compile_scenario(parse_scenario(dump(small_dict))).missiles.homing_sigma_m.tolist() == [
        DEFAULT_HOMING_SIGMA_M
    ]
    small_dict["missiles"]["m1"]["homing_miss_sigma_m"] = 7.5
    assert compile_scenario(parse_scenario(dump(small_dict))).missiles.homing_sigma_m.tolist() == [
        7.5
    ]
    # A MissileParams built without the field gets the same rule.
    given = {f.name: getattr(p, f.name) for f in fields(p) if f.name != "homing_sigma_m"}
    assert np.array_equal(MissileParams(**given).homing_sigma_m, p.physics.lethal_m / 2.0)
    given["physics"] = None
    assert MissileParams(**given).homing_sigma_m.tolist() == [DEFAULT_HOMING_SIGMA_M] * 4


def _with_ballistic_raid(small_dict: dict[str, Any], m1: dict[str, Any]) -> dict[str, Any]:
    """The small scenario's jets plus four SRBMs (~1.5 km/s in their descent), one type m1."""
    d = copy.deepcopy(small_dict)
    d["run"]["duration_s"] = 500
    d["missiles"]["m1"].update(
        max_range_km=60, max_altitude_km=30, average_speed_mps=1500, homing_basket_m=3000, **m1
    )
    d["batteries"][0]["load"] = {"m1": 8}
    d["raids"].append(
        {
            "name": "tbm",
            "type": "srbm",
            "count": 4,
            "target": "base",
            "launch_time_s": 0,
            "launch_spread_s": 60,
            "rcs_m2": 0.5,
            "ballistic": {"launch": {"east_km": -280, "north_km": 0}, "apogee_km": 80},
        }
    )
    return d


def _launches_per_threat_type(d: dict[str, Any]) -> list[int]:
    p = compile_scenario(parse_scenario(dump(d)))
    ev = simulate(p).events
    at = ev.threat_id[(ev.kind == K["launch"]) & (ev.threat_id >= 0)]
    return [int(c) for c in np.bincount(p.threats.type_index[at], minlength=2)]


@pytest.mark.parametrize("key", ["srbm", "ballistic"])
def test_the_planner_holds_fire_at_a_threat_type_faster_than_the_types_limit_against_it(
    small_dict: dict[str, Any], key: str
) -> None:
    """A 1,000 m/s limit against the SRBMs only: the jets are engaged, the SRBMs never."""
    both = _launches_per_threat_type(_with_ballistic_raid(small_dict, {}))
    assert both[0] > 0 and both[1] > 0  # the type's default 3,000 m/s: both engaged
    limited = _with_ballistic_raid(small_dict, {"max_target_speed_against_mps": {key: 1000}})
    jets, srbms = _launches_per_threat_type(limited)
    assert jets > 0 and srbms == 0


@pytest.mark.parametrize(
    ("field", "key", "hint"),
    [
        ("pk_against", "dron", "did you mean 'drone'?"),
        ("max_target_speed_against_mps", "submarine", "expected a raid's type ('drone') or"),
    ],
)
def test_an_unknown_threat_type_in_a_file_names_the_file_field_and_line(
    small_dict: dict[str, Any], field: str, key: str, hint: str
) -> None:
    d = _stream(small_dict, 2, pk=0.7)
    d["missiles"]["m1"][field] = {key: 0.5 if field == "pk_against" else 900}
    with pytest.raises(ScenarioError) as e:
        parse_scenario(dump(d), "mine.yaml")
    msg = str(e.value)
    assert "mine.yaml" in msg and "line " in msg and f"missiles.m1.{field}.{key}" in msg
    assert f"no raid has threat type {key!r}" in msg and hint in msg
