"""The drone-first built-in scenario shows what it was made for (issue 14).

A wave of cheap drones first, tracked beyond the short-range round's reach;
the damaging threats later. The data test checks that design from the YAML
alone; the run test checks the myopic failure it is there to expose: a
greedy planner spends every round that can reach past the short-range type on
the drones before the second wave is launched.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from skydome import compile_scenario, simulate
from skydome.results import events_table
from skydome.scenario import builtin_text, load_scenario
from tests.conftest import RUN_SEEDS

DRONE = "one-way attack drone"


def _data() -> dict[str, Any]:
    d: dict[str, Any] = yaml.safe_load(builtin_text("drone-first"))
    return d


def _route_m(route: list[dict[str, float]]) -> float:
    """Length of a route (3-D polyline), m."""
    pts = [(w["east_km"] * 1e3, w["north_km"] * 1e3, w["altitude_m"]) for w in route]
    return sum(math.dist(a, b) for a, b in zip(pts, pts[1:], strict=False))


def test_the_drones_come_first_out_of_short_range_reach_and_arrive_in_the_run() -> None:
    d = _data()
    (bat,) = d["batteries"]
    bx, by = bat["position"]["east_km"], bat["position"]["north_km"]
    reach = sorted(float(m["max_range_km"]) for m in d["missiles"].values())
    drones = [r for r in d["raids"] if r["type"] == DRONE]
    others = [r for r in d["raids"] if r["type"] != DRONE]
    assert sum(r["count"] for r in drones) >= 30
    assert others
    first_other = min(r["launch_time_s"] for r in others)
    for r in drones:
        w0 = r["route"][0]
        rng_km = math.hypot(w0["east_km"] - bx, w0["north_km"] - by)
        # Beyond the shortest round, within the next: the myopic choice is a long one.
        assert reach[0] < rng_km < reach[1], r["name"]
        assert r["launch_time_s"] + r["launch_spread_s"] < first_other, r["name"]
        assert r["damage"] < min(o["damage"] for o in others), r["name"]
        arrive_s = r["launch_time_s"] + r["launch_spread_s"] + _route_m(r["route"]) / r["speed_mps"]
        assert arrive_s < d["run"]["duration_s"], r["name"]
    # Enough rounds for every threat of the second wave to get a full salvo.
    rounds = bat["launchers"] * sum(bat["load"].values())
    later = sum(r["count"] for r in others)
    assert rounds >= later * d["doctrine"]["salvo_size"]


@RUN_SEEDS
@given(seed=st.integers(0, 2**31 - 1))
def test_greedy_spends_its_long_reaching_rounds_on_the_drones_first(seed: int) -> None:
    d = _data()
    (bat,) = d["batteries"]
    shortest = min(d["missiles"], key=lambda m: d["missiles"][m]["max_range_km"])
    long_reach = {m: bat["launchers"] * n for m, n in bat["load"].items() if m != shortest}
    s = load_scenario("drone-first")
    first_other = min(r.launch_time_s for r in s.raids if r.type != DRONE)
    # Two minutes into the second wave: its threats are tracked, few within 40 km.
    run = s.run.model_copy(update={"duration_s": first_other + 120.0, "flyout": "kinematic"})
    doctrine = s.doctrine.model_copy(update={"planner": "greedy"})
    p = compile_scenario(s.model_copy(update={"run": run, "doctrine": doctrine}))
    ev = events_table(simulate(p, seed=seed)).to_pandas()
    at_drones = ev[(ev.kind == "launch") & (ev.threat_type == DRONE)]
    fired = at_drones.groupby("missile_type").size().to_dict()
    for m, n in long_reach.items():
        assert fired.get(m, 0) == n, (m, fired)
