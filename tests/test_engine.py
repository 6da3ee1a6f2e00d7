"""End-to-end engine: determinism, invariants of the kill chain, plausibility."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skydome.engine import RunResult, simulate
from skydome.events import EVENT_KINDS
from skydome.results import summarize
from skydome.scenario import compile_scenario, parse_scenario
from skydome.scenario.compile import SimParams
from tests.conftest import dump

K = {k: i for i, k in enumerate(EVENT_KINDS)}


@pytest.fixture(scope="module")
def default_run(default_params: SimParams) -> RunResult:
    return simulate(default_params)


def _events_equal(a: RunResult, b: RunResult) -> bool:
    fa, fb = a.events, b.events
    return all(
        np.array_equal(getattr(fa, f), getattr(fb, f), equal_nan=True)
        for f in fa.__dataclass_fields__
    )


def test_same_seed_same_events(default_params: SimParams, default_run: RunResult) -> None:
    again = simulate(default_params)
    assert _events_equal(default_run, again)


def test_different_seed_different_events(default_params: SimParams, default_run: RunResult) -> None:
    other = simulate(default_params, seed=default_run.seed + 1)
    assert not _events_equal(default_run, other)


def test_events_in_time_order(default_run: RunResult) -> None:
    assert np.all(np.diff(default_run.events.time_s) >= 0)


def check_invariants(r: RunResult) -> None:
    """Physical and bookkeeping invariants that hold for any scenario and seed."""
    p = r.params
    ev = r.events
    th = p.threats
    # Inventories never go negative, and nothing is fired that was not loaded.
    assert (r.inventory_end >= 0).all()
    launch = ev.kind == K["launch"]
    fired = np.zeros_like(p.batteries.inventory)
    np.add.at(fired, (ev.battery[launch], ev.missile_type[launch]), 1)
    start = p.batteries.inventory + p.batteries.reserve
    assert np.array_equal(start - fired, r.inventory_end)
    # Each missile launches once and is resolved at most once, after its launch.
    ids = ev.missile_id[launch]
    assert np.unique(ids).size == ids.size
    res = (ev.kind == K["kill"]) | (ev.kind == K["miss"])
    rid = ev.missile_id[res]
    assert np.unique(rid).size == rid.size
    t_launch = dict(zip(ids.tolist(), ev.time_s[launch].tolist(), strict=True))
    for mid, t in zip(rid.tolist(), ev.time_s[res].tolist(), strict=True):
        assert t >= t_launch[mid]
    # A threat is killed at most once, never both killed and leaked, and only while airborne.
    kills = ev.threat_id[ev.kind == K["kill"]]
    assert np.unique(kills).size == kills.size
    assert not (np.isfinite(r.kill_time_s) & np.isfinite(r.leak_time_s)).any()
    k = np.isfinite(r.kill_time_s)
    assert (r.kill_time_s[k] >= th.launch_s[k]).all()
    assert (r.kill_time_s[k] < th.end_s[k]).all()
    # Fire channels: missiles in the air per battery never exceed the missile channels,
    # and distinct targets engaged never exceed the target channels.
    t_res = dict(zip(rid.tolist(), ev.time_s[res].tolist(), strict=True))
    bat = ev.battery[launch]
    trk = ev.track_id[launch]
    for b in range(p.batteries.pos_m.shape[0]):
        mine = bat == b
        starts = ev.time_s[launch][mine]
        ends = np.array([t_res.get(m, np.inf) for m in ids[mine].tolist()])
        for t in starts:
            up = (starts <= t) & (ends > t)
            assert up.sum() <= p.batteries.missile_channels[b]
            assert np.unique(trk[mine][up]).size <= p.batteries.target_channels[b]
    # Detection precedes tracking precedes engagement.
    eng = r.engaged
    assert (np.isfinite(r.first_detect_s[eng])).all()
    assert (r.first_track_s >= r.first_detect_s).all()
    # Asset value only goes down, and only through leaks.
    assert (r.asset_value_end <= p.assets.value + 1e-9).all()
    if not np.isfinite(r.leak_time_s).any():
        assert np.allclose(r.asset_value_end, p.assets.value)


def test_default_run_invariants(default_run: RunResult) -> None:
    check_invariants(default_run)


def test_default_run_is_a_plausible_engagement(default_run: RunResult) -> None:
    s = summarize(default_run)
    rows = {r["type"]: r for r in s["threats"]["by_type"]}
    # High-RCS aircraft at altitude are seen well before 300 km...
    assert rows["strike aircraft"]["detected"] == rows["strike aircraft"]["count"]
    assert rows["strike aircraft"]["median_detection_range_km"] > 300
    # ...low cruise missiles only near the radar horizon (~50 km for a 40 m mast).
    assert rows["cruise missile"]["median_detection_range_km"] < 80
    # Low-observable aircraft are seen much later than conventional ones.
    assert (
        rows["low-observable aircraft"]["median_detection_range_km"]
        < 0.6 * rows["strike aircraft"]["median_detection_range_km"]
    )
    assert s["missiles"]["fired"] > 0
    assert s["threats"]["killed"] > 0
    assert s["first_launch_s"] is not None
    assert s["first_detection_s"] < s["first_launch_s"]


def _small_variant(d: dict[str, Any], count: int, salvo: int, launchers: int, pk: float) -> str:
    d["raids"][0]["count"] = count
    d["doctrine"] = {"salvo_size": salvo, "decision_period_s": 2}
    d["batteries"][0]["launchers"] = launchers
    d["missiles"]["m1"]["pk"] = pk
    return dump(d)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    count=st.integers(1, 12),
    salvo=st.integers(1, 3),
    launchers=st.integers(0, 3),
    pk=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_invariants_hold_for_any_small_scenario(
    small_dict: dict[str, Any], count: int, salvo: int, launchers: int, pk: float, seed: int
) -> None:
    import copy

    d = copy.deepcopy(small_dict)
    p = compile_scenario(parse_scenario(_small_variant(d, count, salvo, launchers, pk)))
    r = simulate(p, seed=seed)
    check_invariants(r)
    if launchers == 0:
        assert not (r.events.kind == K["launch"]).any()
    if pk == 0.0:
        assert not np.isfinite(r.kill_time_s).any()


def test_pk_one_kills_every_engaged_jet(small_dict: dict[str, Any]) -> None:
    small_dict["missiles"]["m1"]["pk"] = 1.0
    small_dict["missiles"]["m1"]["homing_basket_m"] = 5000
    r = simulate(compile_scenario(parse_scenario(dump(small_dict))))
    assert r.engaged.all()
    assert np.isfinite(r.kill_time_s).all()


def test_adding_a_radar_keeps_other_streams(small_dict: dict[str, Any]) -> None:
    """Named streams: a new radar does not change what the existing radar draws."""
    from skydome.seeding import stream

    a = stream(5, "radar", "r1").random(4)
    b = stream(5, "radar", "r1").random(4)
    c = stream(5, "radar", "r2").random(4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    base = compile_scenario(parse_scenario(dump(small_dict)))
    r1 = simulate(base, seed=11)
    extra = dict(small_dict["radars"][0])
    extra["name"] = "far-away"
    extra["position"] = {"east_km": 2000, "north_km": 2000}
    small_dict["radars"].append(extra)
    r2 = simulate(compile_scenario(parse_scenario(dump(small_dict))), seed=11)
    d1 = r1.events.kind == K["detect"]
    d2 = r2.events.kind == K["detect"]
    assert np.array_equal(r1.events.time_s[d1], r2.events.time_s[d2])
