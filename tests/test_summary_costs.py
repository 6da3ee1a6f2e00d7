"""The summary's cost and damage fields, recomputed by hand from the event log (issue 14).

The oracle reads only the scenario data (costs, values, damages, targets by
raid) and the tidy events table: launches per missile type times the type's
cost, and each asset's value times the product of (1 - damage) over the
threats that leaked on it.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from skydome.engine import simulate
from skydome.results import events_table, summarize
from skydome.scenario import compile_scenario, parse_scenario
from tests.conftest import SMALL, dump


def _scenario(costs: tuple[float, float]) -> dict[str, Any]:
    """Two missile types of different cost, two assets, two raids: some are killed, some leak."""
    d: dict[str, Any] = yaml.safe_load(SMALL)
    d["assets"].append(
        {"name": "depot", "position": {"east_km": 10, "north_km": -5}, "value": 7,
         "defended_radius_km": 3}
    )  # fmt: skip
    d["missiles"]["m1"]["cost"] = costs[0]
    d["missiles"]["m2"] = {
        "min_range_km": 1, "max_range_km": 30, "max_altitude_km": 15,
        "average_speed_mps": 700, "max_target_speed_mps": 1000, "pk": 0.6, "cost": costs[1],
    }  # fmt: skip
    d["batteries"][0]["load"] = {"m1": 1, "m2": 2}  # 6 rounds for 9 threats
    d["raids"][0]["damage"] = 0.15
    d["raids"][0]["count"] = 4
    d["raids"].append(
        {
            "name": "drones", "type": "drone", "count": 5, "target": "depot",
            "launch_time_s": 0, "launch_spread_s": 60, "rcs_m2": 0.1, "speed_mps": 60,
            "damage": 0.2,
            "route": [
                {"east_km": -20, "north_km": -5, "altitude_m": 800},
                {"east_km": 10, "north_km": -5, "altitude_m": 0},
            ],
        }
    )  # fmt: skip
    return d


@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**31 - 1),
    costs=st.tuples(st.floats(0.5, 20.0, allow_nan=False), st.floats(0.1, 5.0, allow_nan=False)),
)
def test_cost_and_damage_match_the_event_log(seed: int, costs: tuple[float, float]) -> None:
    d = _scenario(costs)
    r = simulate(compile_scenario(parse_scenario(dump(d))), seed=seed)
    s = summarize(r)
    ev = events_table(r).to_pandas()

    launches = ev[ev.kind == "launch"]
    cost = {name: float(m["cost"]) for name, m in d["missiles"].items()}
    spent = {name: cost[name] * int((launches.missile_type == name).sum()) for name in cost}
    rows = {m["type"]: m for m in s["missiles"]["by_type"]}
    for name in cost:
        assert rows[name]["cost"] == pytest.approx(cost[name])
        assert rows[name]["cost_spent"] == pytest.approx(spent[name], abs=1e-5)
    assert s["missiles"]["cost_spent"] == pytest.approx(sum(spent.values()), abs=1e-5)

    leaks = ev[ev.kind == "leak"]
    raid_of_type = {raid["type"]: raid for raid in d["raids"]}
    left = {a["name"]: float(a["value"]) for a in d["assets"]}
    for threat_type in leaks.threat_type:
        raid = raid_of_type[threat_type]
        left[raid["target"]] *= 1.0 - raid["damage"]
    value = {a["name"]: float(a["value"]) for a in d["assets"]}
    for a in s["assets"]:
        assert a["value_lost"] == pytest.approx(value[a["name"]] - left[a["name"]], abs=1e-5)
    total = sum(value.values())
    lost = total - sum(left.values())
    assert s["damage"]["value"] == pytest.approx(total)
    assert s["damage"]["value_lost"] == pytest.approx(lost, abs=1e-5)
    assert s["damage"]["fraction"] == pytest.approx(lost / total, abs=1e-6)
    # Leakers by threat type agree with the log too (the comparison study reads them).
    for t in s["threats"]["by_type"]:
        assert t["leaked"] == int((leaks.threat_type == t["type"]).sum())


def test_the_oracle_scenario_has_launches_of_both_types_and_leakers() -> None:
    """The scenario above exercises every term: both types fired, both assets hit."""
    d = _scenario((3.0, 1.0))
    seen_types: set[str] = set()
    hit: set[str] = set()
    for seed in range(3):
        s = summarize(simulate(compile_scenario(parse_scenario(dump(d))), seed=seed))
        seen_types |= {m["type"] for m in s["missiles"]["by_type"] if m["fired"]}
        hit |= {a["name"] for a in s["assets"] if a["value_lost"] > 0}
        assert math.isclose(
            s["missiles"]["cost_spent"],
            sum(m["cost_spent"] for m in s["missiles"]["by_type"]),
            abs_tol=1e-5,
        )
    assert seen_types == {"m1", "m2"}
    assert hit == {"base", "depot"}
