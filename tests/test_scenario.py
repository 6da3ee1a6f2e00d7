"""Scenario loading: every bad input gives one clear, located message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skydome.errors import ScenarioError
from skydome.scenario import (
    Scenario,
    builtin_names,
    compile_scenario,
    load_scenario,
    parse_scenario,
)
from tests.conftest import SMALL, dump


def _problems(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.yaml")
    return info.value


def test_small_scenario_is_valid() -> None:
    s = parse_scenario(SMALL, "small.yaml")
    assert s.name == "small"
    p = compile_scenario(s)
    assert p.threats.n == 3
    # SI inside: km in the file, metres in the parameters.
    assert p.missiles.max_range_m[0] == pytest.approx(120_000.0)
    assert p.radars.sigma_az_rad[0] == pytest.approx(1e-3)
    assert p.batteries.inventory.tolist() == [[8]]


@pytest.mark.parametrize("name", builtin_names())
def test_builtins_validate_and_label_their_figures(name: str) -> None:
    s = load_scenario(name)
    assert "approximat" in s.provenance.lower() or "assumed" in s.provenance.lower()
    for m in s.missiles.values():
        assert m.source, "every missile type says where its figures come from"
    compile_scenario(s)


def test_builtin_names_include_default_and_saturation() -> None:
    assert {"default", "saturation"} <= set(builtin_names())


def test_default_matches_public_battalion_figures() -> None:
    s = load_scenario("default")
    (bat,) = s.batteries
    assert bat.launchers == 8
    assert (bat.fire_channels.targets, bat.fire_channels.missiles) == (36, 72)
    ranges = sorted(m.max_range_km for m in s.missiles.values())
    assert ranges == [40, 120, 250, 400]
    assert 50 <= sum(r.count for r in s.raids) <= 70
    assert s.run.duration_s == 1800


def _mutate(small: dict[str, Any], path: str, value: Any) -> str:
    node: Any = small
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if p.isdigit() else node[p]
    last = parts[-1]
    if value is _DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return dump(small)


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field", "expect"),
    [
        ("radars.0.detection_range_km", -5, "radars[0].detection_range_km", "greater than 0"),
        ("batteries.0.launchers", "eight", "batteries[0].launchers", "integer"),
        ("radars.0.bogus_field", 1, "radars[0].bogus_field", "unknown field"),
        ("missiles.m1.max_range_km", 120_000, "missiles.m1.max_range_km", "metres"),
        ("run.duration_s", _DELETE, "run.duration_s", "required"),
        (
            "raids.0.route",
            [{"east_km": 0, "north_km": 0, "altitude_m": 10}],
            "raids[0]",
            "2 waypoints",
        ),
        ("missiles.m1.pk", 1.5, "missiles.m1.pk", "less than or equal to 1"),
        ("missiles.m1.min_range_km", 500, "missiles.m1", "min_range_km must be below"),
        ("batteries.0.load", {"m9": 2}, "batteries[0].load.m9", "not in the missiles library"),
        ("raids.0.target", "nowhere", "raids[0].target", "not found"),
        ("raids.0.speed_mps", _DELETE, "raids[0]", "speed_mps"),
        ("tracker.confirm_m", 5, "tracker", "confirm_m must not exceed confirm_n"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_field_is_named_with_path_and_expectation(
    small_dict: dict[str, Any], path: str, value: Any, field: str, expect: str
) -> None:
    if path.startswith("tracker"):
        small_dict["tracker"] = {}
    err = _problems(_mutate(small_dict, path, value))
    msg = str(err)
    assert msg.startswith("bad.yaml:"), msg
    assert any(p.path == field for p in err.problems), msg
    assert expect.lower() in msg.lower(), msg
    assert "Traceback" not in msg


def test_problem_lines_point_into_the_file(small_dict: dict[str, Any]) -> None:
    small_dict["batteries"][0]["launchers"] = -1
    text = dump(small_dict)
    err = _problems(text)
    (p,) = err.problems
    assert p.line is not None
    assert "launchers" in text.splitlines()[p.line - 1]


def test_all_problems_reported_at_once(small_dict: dict[str, Any]) -> None:
    small_dict["radars"][0]["scan_period_s"] = 0
    small_dict["batteries"][0]["launchers"] = -1
    err = _problems(dump(small_dict))
    assert {p.path for p in err.problems} == {"radars[0].scan_period_s", "batteries[0].launchers"}


def test_duplicate_names_rejected(small_dict: dict[str, Any]) -> None:
    small_dict["radars"].append(dict(small_dict["radars"][0]))
    err = _problems(dump(small_dict))
    assert [p.path for p in err.problems] == ["radars[1].name"]


def test_invalid_yaml_has_a_line() -> None:
    err = _problems("name: x\nradars: [1, 2\nother: 3\n")
    assert err.problems[0].line is not None
    assert "invalid YAML" in str(err)


@pytest.mark.parametrize("text", ["", "- 1\n- 2\n", "just a string\n"])
def test_non_mapping_rejected(text: str) -> None:
    assert "expected a mapping" in str(_problems(text))


def test_missing_file_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(missing)
    assert str(missing) in str(info.value)
    assert "no such file" in str(info.value)


def test_yaml_loader_is_safe() -> None:
    err = _problems("!!python/object/apply:os.system ['echo hi']\n")
    assert "invalid YAML" in str(err)


def test_json_schema_has_units_in_field_names() -> None:
    schema = Scenario.model_json_schema()
    radar = schema["$defs"]["Radar"]["properties"]
    assert "detection_range_km" in radar and "scan_period_s" in radar
    assert schema["additionalProperties"] is False
