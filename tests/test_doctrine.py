"""Doctrine in the engine: salvos, shoot-look-shoot, channels, launchers, reloads,
fire control, the threat ranking, and the WTA planner against the greedy one."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import yaml

from skydome.arrays import grouped_cumsum
from skydome.engagement.launchers import (
    Launchers,
    allocate_slots,
    commit_launches,
    start_reloads,
)
from skydome.engine import RunResult, simulate
from skydome.events import EVENT_KINDS
from skydome.results import events_table, summarize
from skydome.scenario import builtin_text, compile_scenario, parse_scenario
from skydome.scenario.compile import SimParams
from tests.conftest import dump
from tests.test_engine import check_invariants

K = {k: i for i, k in enumerate(EVENT_KINDS)}


def _params(d: dict[str, Any]) -> SimParams:
    return compile_scenario(parse_scenario(dump(d)))


def _launches(r: RunResult) -> np.ndarray:
    return np.asarray(r.events.kind == K["launch"])


def _one_jet(small: dict[str, Any], **doctrine: Any) -> dict[str, Any]:
    d = copy.deepcopy(small)
    d["raids"][0]["count"] = 1
    d["doctrine"] = {"decision_period_s": 1.0, "kill_assessment_s": 3.0, **doctrine}
    d["batteries"][0]["launchers"] = 4
    return d


def test_salvo_of_two_fires_two_at_once(small_dict: dict[str, Any]) -> None:
    d = _one_jet(small_dict, salvo_size=2)
    d["missiles"]["m1"]["pk"] = 1.0
    d["missiles"]["m1"]["homing_basket_m"] = 5000
    r = simulate(_params(d), seed=1)
    la = _launches(r)
    assert la.sum() == 2
    # Both leave in the same decision: one per launcher, at the same instant.
    t = r.events.time_s[la]
    assert t[0] == t[1]


def test_shoot_look_shoot_fires_again_only_after_a_miss(small_dict: dict[str, Any]) -> None:
    d = _one_jet(small_dict, salvo_size=1, policy="shoot_look_shoot")
    d["missiles"]["m1"]["pk"] = 0.3
    d["missiles"]["m1"]["homing_basket_m"] = 5000
    p = _params(d)
    seen_reengagement = False
    for seed in range(12):
        r = simulate(p, seed=seed)
        ev = r.events
        la = np.flatnonzero(ev.kind == K["launch"])
        res = np.flatnonzero((ev.kind == K["kill"]) | (ev.kind == K["miss"]))
        outcome = {int(ev.missile_id[i]): (ev.time_s[i], ev.kind[i]) for i in res}
        for a, b in zip(la[:-1], la[1:], strict=True):
            t_res, kind = outcome[int(ev.missile_id[a])]
            # The next shot follows the assessed miss of the previous one.
            assert kind == K["miss"]
            assert ev.time_s[b] >= t_res + 3.0 - 1e-9
            seen_reengagement = True
        check_invariants(r)
    assert seen_reengagement


def test_shoot_shoot_fires_before_the_first_shot_resolves(small_dict: dict[str, Any]) -> None:
    d = _one_jet(small_dict, salvo_size=1, policy="shoot_shoot", max_missiles_per_target=2)
    d["missiles"]["m1"]["pk"] = 0.0
    r = simulate(_params(d), seed=0)
    ev = r.events
    la = np.flatnonzero(ev.kind == K["launch"])
    first_res = ev.time_s[(ev.kind == K["miss"]) & (ev.missile_id == ev.missile_id[la[0]])]
    assert la.size >= 2 and ev.time_s[la[1]] < first_res[0]


def test_fire_channels_never_exceeded_under_saturation() -> None:
    d = yaml.safe_load(builtin_text("saturation"))
    d["run"]["duration_s"] = 1200
    for b in d["batteries"]:
        b["fire_channels"] = {"targets": 5, "missiles": 7}
    r = simulate(_params(d), seed=3)
    check_invariants(r)  # includes channel occupancy at every launch instant
    assert _launches(r).sum() > 0


def test_default_channels_36_72_hold() -> None:
    d = yaml.safe_load(builtin_text("saturation"))
    p = _params(d)
    assert (p.batteries.target_channels == 36).all()
    r = simulate(p, seed=4)
    check_invariants(r)


def test_launchers_respect_launch_interval(small_dict: dict[str, Any]) -> None:
    d = copy.deepcopy(small_dict)
    d["raids"][0]["count"] = 12
    d["raids"][0]["launch_spread_s"] = 5
    d["batteries"][0].update(launchers=2, load={"m1": 20}, launch_interval_s=5.0)
    d["batteries"][0]["fire_channels"] = {"targets": 20, "missiles": 40}
    d["doctrine"] = {"salvo_size": 2}
    r = simulate(_params(d), seed=2)
    t = np.sort(r.events.time_s[_launches(r)])
    assert t.size > 4
    # Two launchers, one launch each per 5 s: never more than 2 in any 5 s window.
    for t0 in t:
        assert ((t >= t0) & (t < t0 + 5.0 - 1e-9)).sum() <= 2


def test_reload_from_reserve(small_dict: dict[str, Any]) -> None:
    d = copy.deepcopy(small_dict)
    d["raids"][0].update(count=10, launch_spread_s=300)
    d["batteries"][0].update(launchers=1, load={"m1": 2}, reserve={"m1": 4}, reload_time_s=30.0)
    d["doctrine"] = {"salvo_size": 1}
    d["missiles"]["m1"]["pk"] = 0.0
    r = simulate(_params(d), seed=0)
    ev = r.events
    reloads = ev.time_s[ev.kind == K["reload"]]
    launches = np.sort(ev.time_s[ev.kind == K["launch"]])
    assert reloads.size >= 1
    assert launches.size > 2  # more than the launcher's own load
    assert launches.size <= 6  # load + reserve
    # Nothing leaves the launcher while it reloads.
    for t0 in reloads:
        assert not ((launches > t0) & (launches < t0 + 30.0 - 1e-9)).any()
    check_invariants(r)


def test_fire_control_radar_sector_limits_engagement(small_dict: dict[str, Any]) -> None:
    d = copy.deepcopy(small_dict)
    d["batteries"][0]["fire_control_radar"] = "r1"
    d["radars"][0]["sector"] = {"center_deg": 90, "width_deg": 60}  # looks east
    # Surveillance from a second radar sees the jets, which come from the west.
    sur = copy.deepcopy(d["radars"][0])
    sur.update(name="sur", sector={"center_deg": 0, "width_deg": 360})
    d["radars"].append(sur)
    # The jets leak 10 km west of the radar: no coasting track drifts into the sector.
    d["raids"][0]["route"][-1]["east_km"] = -10
    r = simulate(_params(d), seed=0)
    assert np.isfinite(r.first_track_s).all()
    assert not _launches(r).any()


def test_unknown_fire_control_radar_is_a_located_error(small_dict: dict[str, Any]) -> None:
    from skydome.errors import ScenarioError

    small_dict["batteries"][0]["fire_control_radar"] = "nope"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(dump(small_dict))
    assert info.value.problems[0].path == "batteries[0].fire_control_radar"


def test_threat_ranking_is_in_the_events(default_params: SimParams) -> None:
    r = simulate(default_params, seed=2)
    t = events_table(r).to_pandas()
    la = t[t.kind == "launch"]
    assert la.threat_score.notna().all() and (la.priority_rank >= 0).all()
    # Within one decision, a better rank never has a lower score (threat_score order).
    for _, g in la.groupby("time_s"):
        g = g.sort_values("priority_rank")
        assert (np.diff(g.threat_score.to_numpy()) <= 1e-12).all()


def test_type_weight_changes_priority(small_dict: dict[str, Any]) -> None:
    d = copy.deepcopy(small_dict)
    d["raids"].append({**copy.deepcopy(d["raids"][0]), "name": "b", "type": "bomber"})
    d["batteries"][0]["fire_channels"] = {"targets": 1, "missiles": 1}
    d["doctrine"] = {"salvo_size": 1, "type_weights": {"bomber": 100.0}}
    p = _params(d)
    r = simulate(p, seed=0)
    first = np.flatnonzero(_launches(r))[0]
    tid = r.events.threat_id[first]
    assert p.threats.type_names[p.threats.type_index[tid]] == "bomber"


def test_wta_planner_beats_greedy_on_default_scenario() -> None:
    """Fewer missiles per kill, no more leakers (docs/models.md has the table)."""
    base = yaml.safe_load(builtin_text("default"))
    greedy: list[tuple[float, int]] = []
    wta: list[tuple[float, int]] = []
    for planner, out in (("greedy", greedy), ("wta", wta)):
        d = copy.deepcopy(base)
        d["doctrine"]["planner"] = planner
        p = _params(d)
        for seed in range(3):
            s = summarize(simulate(p, seed=seed))
            out.append((s["missiles"]["fired"] / s["threats"]["killed"], s["threats"]["leaked"]))
    g, w = np.array(greedy), np.array(wta)
    assert w[:, 0].mean() < g[:, 0].mean()
    assert w[:, 1].mean() <= g[:, 1].mean()


# ----------------------------------------------------------------------------- launchers


def _bat(small: dict[str, Any], **over: Any) -> SimParams:
    d = copy.deepcopy(small)
    d["batteries"][0].update(over)
    return _params(d)


def test_allocate_takes_earliest_slots_round_robin(small_dict: dict[str, Any]) -> None:
    p = _bat(small_dict, launchers=3, load={"m1": 2}, launch_interval_s=4.0)
    ln = Launchers.from_params(p.batteries)
    b = np.zeros(5, dtype=np.int64)
    m = np.zeros(5, dtype=np.int64)
    lid, t = allocate_slots(ln, p.batteries, b, m, np.full(5, 10.0))
    assert sorted(t.tolist()) == [10.0, 10.0, 10.0, 14.0, 14.0]
    assert np.bincount(lid, minlength=3).max() == 2
    ln2 = commit_launches(ln, p.batteries, lid, m, t)
    assert ln2.stock.sum() == 1 and (ln2.stock >= 0).all()
    assert ln2.ready_s.max() == pytest.approx(18.0)


def test_allocate_without_stock_gives_no_slot(small_dict: dict[str, Any]) -> None:
    p = _bat(small_dict, launchers=1, load={"m1": 1})
    ln = Launchers.from_params(p.batteries)
    lid, t = allocate_slots(
        ln, p.batteries, np.zeros(2, np.int64), np.zeros(2, np.int64), np.zeros(2)
    )
    assert lid.tolist()[1] == -1 and np.isinf(t[1])


def test_reload_takes_from_reserve_in_launcher_order(small_dict: dict[str, Any]) -> None:
    p = _bat(small_dict, launchers=3, load={"m1": 2}, reserve={"m1": 3}, reload_time_s=60.0)
    ln = Launchers.from_params(p.batteries)
    empty = Launchers(ln.battery, np.zeros_like(ln.stock), ln.ready_s, ln.reserve)
    out, started = start_reloads(empty, p.batteries, 100.0)
    assert out.stock[:, 0].tolist() == [2, 1, 0]
    assert out.reserve.tolist() == [[0]]
    assert started.tolist() == [0, 1]
    assert out.ready_s[started].tolist() == [160.0, 160.0]


def test_grouped_cumsum_matches_reference() -> None:
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 4, 50)
    vals = rng.integers(0, 5, 50)
    ref = np.array([vals[: i + 1][keys[: i + 1] == keys[i]].sum() for i in range(50)])
    assert np.array_equal(grouped_cumsum(keys, vals), ref)
