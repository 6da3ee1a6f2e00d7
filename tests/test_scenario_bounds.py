"""Scenario inputs at the edges: each validates cleanly or fails with one clear line.

Every case here used to validate and then hang or crash, or gave a misleading
message (issue 10). A rejected input must name the field path and the line,
print no traceback, and fail fast in bounded memory.
"""

from __future__ import annotations

import copy
import resource
import subprocess
import sys
import time
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from skydome.errors import ScenarioError
from skydome.scenario import limits, load, schema
from skydome.scenario.load import parse_scenario, problems_from_validation
from skydome.scenario.schema import _base
from tests.conftest import SMALL, dump

SKYDOME = str(Path(sys.executable).with_name("skydome"))


def _error(text: str) -> ScenarioError:
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.yaml")
    assert time.perf_counter() - t0 < 10.0
    return info.value


def _only(err: ScenarioError, path: str) -> str:
    """The message of the problem at `path` (which must exist); no traceback anywhere."""
    text = str(err)
    assert "Traceback" not in text
    found = [p for p in err.problems if p.path == path]
    assert found, text
    return found[0].message


def _raids(small: dict[str, Any], n: int, count: int) -> None:
    raid = small["raids"][0]
    small["raids"] = [dict(copy.deepcopy(raid), name=f"r{i}", count=count) for i in range(n)]


# --------------------------------------------------------------------------- totals


def test_tiny_step_is_rejected_with_the_run_time(small_dict: dict[str, Any]) -> None:
    small_dict["run"]["step_s"] = 1.0e-9
    msg = _only(_error(dump(small_dict)), "run.step_s")
    assert "engine steps" in msg and "1,000,000" in msg
    assert "years" in msg  # 6e11 steps


def test_step_limit_allows_a_long_fine_run(small_dict: dict[str, Any]) -> None:
    small_dict["run"].update({"duration_s": 100_000, "step_s": 0.1})  # exactly 1e6 steps
    parse_scenario(dump(small_dict))


def test_guided_flyout_bounds_its_integration_steps(small_dict: dict[str, Any]) -> None:
    small_dict["run"].update({"duration_s": 86_400, "flyout": "guided", "guidance_step_s": 0.001})
    small_dict["raids"][0]["launch_spread_s"] = 0
    msg = _only(_error(dump(small_dict)), "run.guidance_step_s")
    assert "guidance steps" in msg
    small_dict["run"]["guidance_step_s"] = 1e-9
    msg = _only(_error(dump(small_dict)), "run.guidance_step_s")
    assert "greater than or equal to 0.001" in msg


def test_wta_solver_budget_bounded(small_dict: dict[str, Any]) -> None:
    small_dict["doctrine"] = {"planner": "wta", "wta_time_limit_s": 600, "decision_period_s": 2}
    msg = _only(_error(dump(small_dict)), "doctrine.wta_time_limit_s")
    assert "300 decisions" in msg and "days" in msg
    small_dict["doctrine"]["wta_time_limit_s"] = 1.0
    parse_scenario(dump(small_dict))


def test_total_threats_bounded_before_any_array(small_dict: dict[str, Any]) -> None:
    _raids(small_dict, 50, 200_000)
    msg = _only(_error(dump(small_dict)), "raids")
    assert "10,000,000 threats" in msg and "200,000" in msg and "GB" in msg


def test_threats_at_the_limit_are_accepted(small_dict: dict[str, Any]) -> None:
    _raids(small_dict, 2, 100_000)
    parse_scenario(dump(small_dict))  # validation only: compiling 200,000 is slow here


def test_long_routes_for_many_threats_bounded_by_memory(small_dict: dict[str, Any]) -> None:
    raid = small_dict["raids"][0]
    raid["count"] = 200_000
    raid["route"] = [
        {"east_km": -120 + 0.12 * i, "north_km": i % 2, "altitude_m": 3000} for i in range(1000)
    ]
    msg = _only(_error(dump(small_dict)), "raids[0].route")
    assert "memory" in msg and "GB" in msg
    raid["route"] *= 2
    assert "at most 1000" in _only(_error(dump(small_dict)), "raids[0].route")


def test_threats_times_assets_bounded(small_dict: dict[str, Any]) -> None:
    base = small_dict["assets"][0]
    small_dict["assets"] = [dict(base, name=f"a{i}") for i in range(200)]
    small_dict["raids"][0]["count"] = 100_000
    assert "pairs" in _only(_error(dump(small_dict)), "assets")


def test_launchers_and_interceptors_bounded(small_dict: dict[str, Any]) -> None:
    bat = small_dict["batteries"][0]
    small_dict["batteries"] = [dict(bat, name=f"b{i}", launchers=1000) for i in range(101)]
    msg = _only(_error(dump(small_dict)), "batteries")
    assert "launchers" in msg
    small_dict["batteries"] = [dict(bat, launchers=1000, load={"m1": 1000}, reserve={"m1": 1})]
    msg = _only(_error(dump(small_dict)), "batteries")
    assert "1,000,001 interceptors" in msg


def test_huge_load_is_a_bound_not_an_overflow(small_dict: dict[str, Any]) -> None:
    small_dict["batteries"][0]["load"] = {"m1": 10**29}
    small_dict["batteries"][0]["reserve"] = {"m1": -1}
    err = _error(dump(small_dict))
    assert "less than or equal to 1000" in _only(err, "batteries[0].load.m1")
    assert "greater than or equal to 0" in _only(err, "batteries[0].reserve.m1")


def test_false_alarms_bounded_over_all_radars(small_dict: dict[str, Any]) -> None:
    radar = small_dict["radars"][0]
    small_dict["radars"] = [
        dict(radar, name=f"r{i}", false_alarms_per_scan=100_000) for i in range(3)
    ]
    assert "false alarms" in _only(_error(dump(small_dict)), "radars")


def test_every_number_field_has_both_bounds() -> None:
    for model in _models():
        for name, info in model.model_fields.items():
            tp = schema.unwrap_type(info.annotation)
            if not _base._is_number(tp) or typing.get_origin(tp) is typing.Literal:
                continue
            kinds = {
                k
                for m in info.metadata
                for k in ("ge", "gt", "le", "lt")
                if getattr(m, k, None) is not None
            }
            assert kinds & {"ge", "gt"} and kinds & {"le", "lt"}, f"{model.__name__}.{name}"


def test_absurd_coordinates_rejected(small_dict: dict[str, Any]) -> None:
    small_dict["raids"][0]["route"][0]["east_km"] = 1e300
    msg = _only(_error(dump(small_dict)), "raids[0].route[0].east_km")
    assert "less than or equal to 3000" in msg


# --------------------------------------------------------------------------- YAML


def test_deep_nesting_is_one_line() -> None:
    err = _error("name: " + "[" * 5000 + "]" * 5000 + "\n")
    (p,) = err.problems
    assert "nested more than 32 levels" in p.message and p.line == 1
    assert len(str(err).splitlines()) == 2


@pytest.mark.parametrize("depth", [40, 900])
def test_nesting_below_the_parser_limit_is_checked_too(depth: int) -> None:
    text = "name: x\nrun: " + "[" * depth + "]" * depth + "\n"
    (p,) = _error(text).problems
    assert "nested more than 32 levels" in p.message


def test_pure_python_loader_stops_at_the_depth_limit(
    monkeypatch: pytest.MonkeyPatch, small_dict: dict[str, Any]
) -> None:
    monkeypatch.setattr(load, "_LOADERS", [load._PyLoader])
    (p,) = _error("name: " + "[" * 5000 + "]" * 5000 + "\n").problems
    assert "nested more than 32 levels" in p.message
    assert parse_scenario(SMALL).name == "small"
    assert _only(_error(SMALL + "name: again\n"), "name").startswith("duplicate key")


def test_huge_text_rejected_before_parsing() -> None:
    (p,) = _error("#" * (limits.MAX_FILE_BYTES + 1)).problems
    assert "at most 4 MB" in p.message


def test_huge_file_rejected_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(64 * 2**20)  # sparse: nothing is written
    with pytest.raises(ScenarioError) as info:
        load.load_scenario(big)
    assert "64.0 MB" in str(info.value)


def test_duplicate_keys_name_the_second_line_and_path() -> None:
    text = SMALL.replace("    scan_period_s: 2\n", "    scan_period_s: 2\n    scan_period_s: 4\n")
    err = _error(text)
    msg = _only(err, "radars[0].scan_period_s")
    (p,) = err.problems
    assert "duplicate key 'scan_period_s'" in msg
    assert text.splitlines()[p.line - 1].strip() == "scan_period_s: 4"  # type: ignore[operator]
    assert f"line {p.line - 1}" in msg  # type: ignore[operator]


def test_merge_keys_are_not_duplicates() -> None:
    text = SMALL.replace("assets:\n", "x-common: &pos {east_km: 0, north_km: 0}\nassets:\n")
    text = text.replace(
        "    position: {east_km: 0, north_km: 0}\n    mast_height_m",
        "    position: {<<: *pos, east_km: 1}\n    mast_height_m",
    )
    err = _error(text)
    assert "unknown field" in _only(err, "x-common")
    assert len(err.problems) == 1  # the made-up top-level key only: no duplicate


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    (p,) = _error("\n".join(lines) + "\n").problems
    assert "1,000,000 values" in p.message


def test_recursive_alias_is_refused() -> None:
    (p,) = _error("name: &a [*a]\n").problems
    assert "alias refers to its own anchor" in p.message


@pytest.mark.parametrize(
    ("value", "expect"),
    [("1" * 5000, "cannot read"), ("2024-13-45", "month must be in 1..12")],
    ids=["5000-digit-int", "bad-date"],
)
def test_unreadable_scalars_have_a_line(value: str, expect: str) -> None:
    (p,) = _error(SMALL.replace("name: small", f"name: {value}")).problems
    assert expect in p.message and p.line == 2
    assert len(p.message) < 200


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "nan"])
def test_nan_and_inf_get_their_own_message(value: str) -> None:
    text = SMALL.replace("max_range_km: 120", f"max_range_km: {value}")
    msg = _only(_error(text), "missiles.m1.max_range_km")
    assert msg.startswith("must be a finite number, got ")
    assert "metres" not in msg and "milliseconds" not in msg


def test_nan_in_a_mapping_of_numbers(small_dict: dict[str, Any]) -> None:
    small_dict["doctrine"] = {"type_weights": {"aircraft": float("nan")}}
    assert "finite" in _only(_error(dump(small_dict)), "doctrine.type_weights.aircraft")


def test_every_model_refuses_nan_and_inf() -> None:
    for model in _models():
        assert model.model_config.get("allow_inf_nan") is False, model.__name__


@pytest.mark.parametrize(
    ("old", "new", "path", "expect"),
    [
        ("launchers: 2", "launchers: 1.0e+29", "batteries[0].launchers", "whole number"),
        ("launchers: 2", "launchers: 1e29", "batteries[0].launchers", "whole number"),
        ("launchers: 2", "launchers: 2.5", "batteries[0].launchers", "whole number"),
        (
            "launchers: 2",
            "launchers: true",
            "batteries[0].launchers",
            "expected a number, got true",
        ),
        ("value: 10", "value: false", "assets[0].value", "expected a number, got false"),
        ("load: {m1: 4}", "load: {m1: yes}", "batteries[0].load.m1", "got true"),
        ("count: 3", "count: " + "9" * 60, "raids[0].count", "about 60 digits"),
        (
            "east_km: -120",
            "east_km: " + "9" * 400,
            "raids[0].route[0].east_km",
            "within the bounds",
        ),
        ("seed: 3", "seed: " + "9" * 30, "run.seed", "less than"),
        ("rcs_m2: 3", "rcs_m2: 3\n    swerling: true", "raids[0].swerling", "got true"),
    ],
)
def test_numbers_that_are_not_numbers(old: str, new: str, path: str, expect: str) -> None:
    msg = _only(_error(SMALL.replace(old, new, 1)), path)
    assert expect in msg
    assert len(msg) < 200


def test_booleans_and_literal_numbers_still_work(small_dict: dict[str, Any]) -> None:
    from tests.test_guided import PHYSICS

    small_dict["radars"][0]["reference_swerling"] = 0
    small_dict["missiles"]["m1"]["physics"] = dict(PHYSICS, augmented_pn=True)
    s = parse_scenario(dump(small_dict))
    assert s.missiles["m1"].physics is not None and s.missiles["m1"].physics.augmented_pn


# --------------------------------------------------------------------------- words


def test_name_rule_in_words_not_a_regex() -> None:
    msg = _only(_error(SMALL.replace("name: jets", "name: 'a.b'")), "raids[0].name")
    assert "must not start with a space or contain '.'" in msg and "'a.b'" in msg
    assert "pattern" not in msg and "^" not in msg


def test_bad_mapping_key_is_named() -> None:
    err = _error(SMALL.replace("load: {m1: 4}", "load: {m1: 4, 'x.y': 1}"))
    msg = _only(err, "batteries[0].load")
    assert msg.startswith("key 'x.y': a name must not")


@pytest.mark.parametrize(
    ("old", "new", "path", "suggest"),
    [
        ("mast_height_m", "mast_hieght_m", "radars[0].mast_hieght_m", "mast_height_m"),
        ("pk: 0.8", "pkk: 0.8", "missiles.m1.pkk", "pk"),
        ("route:", "rout:", "raids[0].rout", "route"),
        ("run:", "rn:", "rn", "run"),
    ],
)
def test_unknown_key_suggests_the_nearest(old: str, new: str, path: str, suggest: str) -> None:
    msg = _only(_error(SMALL.replace(old, new, 1)), path)
    assert msg == f"unknown field; did you mean {suggest!r}?"


def test_unknown_key_without_a_near_one_lists_the_fields() -> None:
    msg = _only(_error(SMALL.replace("origin: {", "origin: {zzzzzz: 1, ")), "origin.zzzzzz")
    assert msg == "unknown field; the fields here are: lat_deg, lon_deg, alt_m"


class _Other(BaseModel):
    model_config = {"extra": "forbid"}
    values: list[float]
    pk: list[list[float]]


def _other_error() -> ValidationError:
    with pytest.raises(ValidationError) as info:
        _Other.model_validate({"values": [1.0], "pk": [[0.5]], "valeus": 2})
    return info.value


def test_problems_from_validation_for_other_files() -> None:
    e = _other_error()
    (old,) = problems_from_validation(e)  # the old signature still works
    assert old.path == "valeus" and "unknown field" in old.message
    (p,) = problems_from_validation(e, None, model=_Other, schema_hint=None)
    assert p.message == "unknown field; did you mean 'values'?"
    (q,) = problems_from_validation(e, schema_hint="see docs/wta.md")
    assert "see docs/wta.md" in q.message and "skydome schema" not in q.message
    (r,) = problems_from_validation(e, schema_hint=None)
    assert "skydome schema" not in r.message


def test_user_text_is_verbatim_in_messages(small_dict: dict[str, Any]) -> None:
    small_dict["raids"][0]["type"] = "cruise [/] missile"
    small_dict["doctrine"] = {"type_weights": {"cruise [/] misile": 2.0}}
    msg = _only(_error(dump(small_dict)), "doctrine.type_weights.cruise [/] misile")
    assert "'cruise [/] misile'" in msg and "cruise [/] missile" in msg


def _models() -> list[type[BaseModel]]:
    return [
        m
        for m in vars(schema).values()
        if isinstance(m, type) and issubclass(m, _base._Model) and m is not _base._Model
    ]


# --------------------------------------------------------------------------- the CLI


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    t0 = time.perf_counter()
    r = subprocess.run(
        [SKYDOME, "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
    )
    # Generous for a shared machine (the CLI starts in about 1 s): the old code
    # hung, or crashed after filling memory.
    assert time.perf_counter() - t0 < 30.0
    return r


def _cases() -> dict[str, tuple[str, str]]:
    small = yaml.safe_load(SMALL)
    step = copy.deepcopy(small)
    step["run"]["step_s"] = 1.0e-9
    many = copy.deepcopy(small)
    _raids(many, 50, 200_000)
    return {
        "tiny-step": (dump(step), "run.step_s"),
        "10M-threats": (dump(many), "raids"),
        "deep": ("name: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 32"),
        "duplicate": (SMALL + "name: again\n", "name: duplicate key"),
        "nan": (
            SMALL.replace("max_range_km: 120", "max_range_km: .nan"),
            "max_range_km: must be a finite number, got nan",
        ),
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_cli_validate_fails_cleanly(tmp_path: Path, case: str) -> None:
    text, expect = _cases()[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    r = _validate(path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert expect in r.stderr
    assert len(r.stderr.splitlines()) == 2, r.stderr  # the header and one problem
