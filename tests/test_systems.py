"""System templates (issue 15, item 6): S-400-, Patriot-, SAMP/T- and HQ-9-class units.

Checked here: every template loads and labels its figures; each template's missile
types fly, by their own 3-DOF physics, to their tabled (public) range and ceiling
within the stated tolerances; expanding a template is exactly writing its radars,
missiles and battery inline (hand-placed oracle); replacing `default`'s defence by
the S-400-class template compiles to `default`'s own arrays; bad uses are errors
naming the field path (exit 2 on the command line); the default raid against each
template and a mix passes the engagement invariants over `RUN_SEEDS`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from skydome.engagement.flyout_table import flyout_table
from skydome.engine import simulate
from skydome.errors import ScenarioError
from skydome.scenario import builtin_text, compile_scenario, load_scenario, parse_scenario
from skydome.scenario.system_swap import with_systems
from skydome.scenario.systems import expand_systems, load_template, system_names
from tests.cli import sky
from tests.conftest import RUN_SEEDS, dump
from tests.test_engine import check_invariants

SYSTEMS = ("s400", "patriot", "samp-t", "hq-9")
MIXES = (("s400", "patriot"),)

REACH_TOL = 0.08
"""Reach at 10 km altitude (or half the ceiling, if lower) vs the tabled max range: the
long-range types are capped by max_flight_time_s at the tabled range (within 1 %); the
short-range ones are energy-limited, and the built-in 9M96E-class (issue 12's tuning,
kept in the s400 template) reaches ~37 km of its public 40 km (7.6 % short)."""
CEILING_TOL = 0.10
"""Ceiling flown vs the tabled max altitude: 10 % (the PAC-3-class flies ~21.8 km against
the lower end, 20 km, of the public ~20-24 km)."""
SPEED_TOL = 0.05
"""average_speed_mps vs the physics' average speed to the tabled range at that altitude."""


def _default_dict() -> dict[str, Any]:
    d: dict[str, Any] = yaml.safe_load(builtin_text("default"))
    return d


def test_the_four_templates_are_shipped() -> None:
    assert set(SYSTEMS) <= set(system_names())


@pytest.mark.parametrize("name", SYSTEMS)
def test_template_loads_and_labels_every_missile(name: str) -> None:
    t = load_template(name)
    assert t.system == name and t.title and "public" in t.provenance.lower()
    assert t.radars and t.missiles and t.battery["launchers"] >= 1
    for mtype, m in t.missile_types().items():
        assert "public" in m.source, mtype  # says which figure is public, the rest assumed
        assert m.physics is not None, mtype  # tuned physics, for guided runs and envelopes
    text = (Path(__file__).parents[1] / "src/skydome/scenario/systems" / f"{name}.yaml").read_text()
    assert "assumed" in text and "Tuned" in text


@pytest.mark.parametrize("name", SYSTEMS)
def test_template_missiles_fly_to_their_tabled_range_and_ceiling(name: str) -> None:
    """Each type's own flights (the flyout table behind `skydome missiles`) reach the
    file's max_range_km within REACH_TOL at 10 km altitude, its max_altitude_km within
    CEILING_TOL, and its average_speed_mps is that flight's within SPEED_TOL."""
    s, _ = with_systems(load_scenario("default"), [name])
    mis = compile_scenario(s).missiles
    assert mis.physics is not None
    table = flyout_table(mis.physics, mis.max_range_m, mis.max_alt_m, mis.max_tof_s)
    for m, mtype in enumerate(mis.names):
        r_tab = float(mis.max_range_m[m])
        alt = min(10e3, 0.5 * float(mis.max_alt_m[m]))
        reach = float(table.reach(np.array(m), np.array(alt)))
        assert reach == pytest.approx(r_tab, rel=REACH_TOL), mtype
        assert table.ceiling_m[m] == pytest.approx(mis.max_alt_m[m], rel=CEILING_TOL), mtype
        tof = float(table.tof(np.array(m), np.array(r_tab), np.array(alt)))
        avg = float(np.hypot(r_tab, alt)) / tof
        assert mis.speed_mps[m] == pytest.approx(avg, rel=SPEED_TOL), mtype


def _assert_same(a: Any, b: Any, skip: frozenset[str] = frozenset(), where: str = "") -> None:
    """Deep equality of compiled parameters (dataclasses of arrays), fields in `skip` aside."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            if f.name not in skip:
                _assert_same(getattr(a, f.name), getattr(b, f.name), skip, f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, skip, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], skip, f"{where}[{k}]")
    else:
        assert a == b, where


def test_expanding_templates_is_writing_them_inline() -> None:
    """Oracle: `systems:` with an S-400-class battalion and a Patriot-class battery gives
    the same compiled parameters as the hand-expanded file: each radar renamed NAME/RADAR,
    placed at site + offset (patriot radar: (18 + 0, -12 - 0.5)), its sector centre turned
    by facing_deg (patriot: 0 + 250 = 250 deg; s400 engagement: 0 + 290), the template's
    missile types appended to the library, the battery named and placed at the site."""
    d = _default_dict()
    d["radars"], d["missiles"], d["batteries"] = [], {}, []
    d["systems"] = [
        {"system": "s400", "name": "bn", "position": {"east_km": 2, "north_km": 10},
         "facing_deg": 290},
        {"system": "patriot", "name": "pat", "position": {"east_km": 18, "north_km": -12},
         "facing_deg": 250, "launchers": 6},
    ]  # fmt: skip
    via_templates = compile_scenario(parse_scenario(dump(d)))

    s400, pat = load_template("s400"), load_template("patriot")
    inline = _default_dict()
    radars = copy.deepcopy(list(s400.radars))
    for r, name, pos in zip(
        radars,
        ("bn/surveillance", "bn/all-altitude", "bn/engagement"),
        ((0, 8), (3, 6), (1, 9)),  # the default scenario's own radar sites
        strict=True,
    ):
        r["name"], r["position"] = name, {"east_km": pos[0], "north_km": pos[1]}
    radars[2]["sector"]["center_deg"] = 290
    p_radar = copy.deepcopy(pat.radars[0])
    p_radar.update(name="pat/MPQ-65-class", position={"east_km": 18, "north_km": -12.5})
    p_radar["sector"]["center_deg"] = 250
    inline["radars"] = [*radars, p_radar]
    inline["missiles"] = {**copy.deepcopy(s400.missiles), **copy.deepcopy(pat.missiles)}
    inline["batteries"] = [
        {"name": "bn", "position": {"east_km": 2, "north_km": 10},
         **{**s400.battery, "fire_control_radar": "bn/engagement"}},
        {"name": "pat", "position": {"east_km": 18, "north_km": -12},
         **{**pat.battery, "launchers": 6, "fire_control_radar": "pat/MPQ-65-class"}},
    ]  # fmt: skip
    written = compile_scenario(parse_scenario(dump(inline)))
    _assert_same(via_templates, written)


def test_default_with_the_s400_template_compiles_to_defaults_own_defence() -> None:
    """The s400 template is `default`'s defence with radars as offsets from the battalion:
    swapping it in changes no number, only the names (radars battalion-1/RADAR)."""
    base = load_scenario("default")
    swapped, text = with_systems(base, ["s400"])
    a, b = compile_scenario(base), compile_scenario(swapped)
    _assert_same(a, b, skip=frozenset({"name", "names"}))
    assert b.radars.names == tuple(f"battalion-1/{n}" for n in a.radars.names)
    assert b.name == "default-s400"
    assert base.provenance in swapped.provenance
    assert load_template("s400").provenance in swapped.provenance
    # The text written for a run reads back to the same scenario, without templates.
    assert "systems" not in yaml.safe_load(text)
    assert parse_scenario(text) == swapped


def test_a_scenario_without_systems_is_read_as_before() -> None:
    d = _default_dict()
    same, issues = expand_systems(d)
    assert same is d and issues == []
    assert parse_scenario(builtin_text("default")) == load_scenario("default")


def test_template_threat_keys_the_raid_lacks_are_left_out(small_dict: dict[str, Any]) -> None:
    """`small` has one raid type, 'aircraft': the s400 template's pk_against keys for
    cruise missiles and low-observable aircraft are dropped, 'ballistic' is kept."""
    small_dict["systems"] = [
        {"system": "s400", "name": "bn", "position": {"east_km": 5, "north_km": 0}}
    ]
    s = parse_scenario(dump(small_dict))
    assert dict(s.missiles["40N6-class"].pk_against) == {"ballistic": 0.5}
    assert [b.name for b in s.batteries] == ["b1", "bn"]


def _problems(d: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as e:
        parse_scenario(dump(d), "f.yaml")
    return str(e.value)


@pytest.mark.parametrize(
    ("use", "path", "words"),
    [
        ({"system": "patriott"}, "systems[0].system", ["unknown system", "did you mean 'patriot'"]),
        ({"name": "b1"}, "systems[0].name", ["battery name 'b1'", "batteries[0]"]),
        ({"load": {"m1": 2}}, "systems[0].load.m1", ["not in template 'patriot'", "PAC-2-class"]),
        ({"position": None}, "systems[0].position", []),
        ({"facing_deg": 400}, "systems[0].facing_deg", []),
        ({"launcher": 3}, "systems[0].launcher", ["did you mean 'launchers'"]),
    ],
)
def test_a_bad_use_names_its_field_path(
    small_dict: dict[str, Any], use: dict[str, Any], path: str, words: list[str]
) -> None:
    entry = {"system": "patriot", "name": "p1", "position": {"east_km": 1, "north_km": 2}}
    entry.update(use)
    small_dict["systems"] = [{k: v for k, v in entry.items() if v is not None}]
    msg = _problems(small_dict)
    assert "f.yaml" in msg and path in msg, msg
    for w in words:
        assert w in msg, msg


def test_radar_and_missile_name_clashes_are_errors(small_dict: dict[str, Any]) -> None:
    site = {"east_km": 1, "north_km": 2}
    small_dict["radars"][0]["name"] = "p1/MPQ-65-class"
    small_dict["systems"] = [{"system": "patriot", "name": "p1", "position": site}]
    msg = _problems(small_dict)
    assert "systems[0].name" in msg and "radars[0]" in msg, msg
    small_dict["radars"][0]["name"] = "r1"
    small_dict["missiles"]["PAC-2-class"] = small_dict["missiles"]["m1"]
    msg = _problems(small_dict)
    assert "systems[0].system" in msg and "missiles.PAC-2-class" in msg, msg
    # Two uses of one template share its types; two batteries of one name do not.
    small_dict["missiles"].pop("PAC-2-class")
    small_dict["systems"].append({"system": "patriot", "name": "p1", "position": site})
    msg = _problems(small_dict)
    assert "systems[1].name" in msg and "systems[0]" in msg, msg
    small_dict["systems"][1]["name"] = "p2"
    s = parse_scenario(dump(small_dict))
    assert [b.name for b in s.batteries] == ["b1", "p1", "p2"]
    assert list(s.missiles) == ["m1", "PAC-2-class", "PAC-3-class"]


def test_systems_must_be_a_list(small_dict: dict[str, Any]) -> None:
    small_dict["systems"] = {"system": "patriot"}
    assert "systems: expected a list" in _problems(small_dict)


def test_with_systems_refuses_unknown_and_repeated_names() -> None:
    base = load_scenario("default")
    with pytest.raises(ScenarioError, match="unknown system 'thaad'"):
        with_systems(base, ["thaad"])
    with pytest.raises(ScenarioError, match="more than once"):
        with_systems(base, ["patriot", "patriot"])


@pytest.mark.parametrize("systems", [(s,) for s in SYSTEMS] + list(MIXES), ids="+".join)
@RUN_SEEDS
@given(seed=st.integers(0, 2**31 - 1))
def test_the_default_raid_against_each_template_keeps_the_invariants(
    systems: tuple[str, ...], seed: int
) -> None:
    s, _ = with_systems(load_scenario("default"), systems)
    params = compile_scenario(s)
    r = simulate(params, seed=seed)
    check_invariants(r)
    fired = int((params.batteries.inventory - r.inventory_end).sum())
    assert fired > 0  # every template engages the raid
    if len(systems) > 1:  # a mix: every system's battery takes part
        bats = params.batteries.inventory - r.inventory_end
        assert (bats.sum(axis=1) > 0).all()


@pytest.mark.parametrize("name", [s for s in SYSTEMS if s != "s400"])  # s400: compare_runs
def test_each_template_flies_guided_and_keeps_the_invariants(name: str) -> None:
    """The templates' physics in the engine (`run.flyout: guided`): the planner plans with
    their flyout tables, the missiles fly their 3-DOF physics, and some of them kill."""
    s, _ = with_systems(load_scenario("default"), [name])
    s = s.model_copy(update={"run": s.run.model_copy(update={"flyout": "guided"})})
    r = simulate(compile_scenario(s))
    check_invariants(r)
    assert np.isfinite(r.kill_time_s).any()


# ----------------------------------------------------------------------- command line


def test_systems_lists_every_template_with_its_missile_types() -> None:
    r = sky("systems")
    assert r.returncode == 0, r.stderr
    for name in SYSTEMS:
        assert name in r.stdout
        for mtype, m in load_template(name).missile_types().items():
            assert mtype in r.stdout and f"{m.max_range_km:g} km" in r.stdout


def test_run_with_a_system_writes_a_run_that_reads_back(tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = sky("run", "default", "--system", "samp-t", "--out", str(out), "--record-every", "0")
    assert r.returncode == 0, r.stderr
    assert "default-samp-t" in r.stdout and "Aster-30-class" in r.stdout
    # The run keeps the expanded scenario: it validates without the templates.
    v = sky("validate", str(out / "scenario.yaml"))
    assert v.returncode == 0 and "1 batteries" in v.stdout, v.stderr


def test_a_mix_and_an_unknown_system_on_the_command_line(tmp_path: Path) -> None:
    r = sky("missiles", "--system", "patriot", "--system", "hq-9", "--figure",
            str(tmp_path / "e.png"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    for mtype in ("PAC-2-class", "PAC-3-class", "HQ-9-class"):
        assert mtype in r.stdout
    assert "40N6-class" not in r.stdout  # the scenario's own library was replaced
    bad = sky("run", "default", "--system", "thad", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "--system" in bad.stderr and "thaad" not in bad.stderr
    assert "unknown system 'thad'" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "x").exists()


def test_validate_names_the_field_path_of_a_bad_use(tmp_path: Path) -> None:
    d = _default_dict()
    d["systems"] = [{"system": "hq9", "name": "h", "position": {"east_km": 0, "north_km": 0}}]
    f = tmp_path / "s.yaml"
    f.write_text(dump(d))
    r = sky("validate", str(f))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "systems[0].system" in r.stderr and "did you mean 'hq-9'" in r.stderr
    assert "line " in r.stderr


def test_mc_with_a_system_studies_the_replaced_defence(tmp_path: Path) -> None:
    out = tmp_path / "study"
    r = sky("mc", "default", "--system", "hq-9", "-n", "2", "-j", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert "default-hq-9" in json.dumps(summary)
    assert "fired.HQ-9-class" in pq.read_table(out / "replications.parquet").column_names


def test_the_json_schema_accepts_a_systems_section() -> None:
    r = sky("schema")
    assert r.returncode == 0, r.stderr
    schema = json.loads(r.stdout)
    assert schema["properties"]["systems"]["items"] == {"$ref": "#/$defs/SystemUse"}
    use = schema["$defs"]["SystemUse"]
    assert set(use["required"]) == {"system", "name", "position"}
    assert use["properties"]["position"]["$ref"].removeprefix("#/$defs/") in schema["$defs"]
    # A file may hold its whole defence in `systems:`.
    assert "radars" not in schema["required"] and "raids" in schema["required"]


def test_a_templates_own_radars_are_renamed_with_its_battery() -> None:
    """A template battery naming its own radars (networking, `batteries.radars`) gets them
    renamed NAME/RADAR like its fire-control radar, so the expanded file cross-references."""
    from skydome.scenario.systems import SystemUse, _battery

    t = load_template("s400")
    t = dataclasses.replace(t, battery={**t.battery, "radars": ["engagement", "all-altitude"]})
    use = SystemUse(system="s400", name="bn", position={"east_km": 0, "north_km": 0})
    b = _battery(t, use)
    assert b["radars"] == ["bn/engagement", "bn/all-altitude"]
    assert b["fire_control_radar"] == "bn/engagement"


def test_sweep_with_a_system_sweeps_the_replaced_defence(tmp_path: Path) -> None:
    """--system on sweep: the grid's paths address the swapped scenario (its battery 0 is
    the Patriot-class battery at the default battalion's site)."""
    out = tmp_path / "sweep"
    r = sky(
        "sweep", "default", "--system", "patriot", "--set", "batteries.0.launchers=2,6",
        "-n", "1", "-j", "1", "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = pq.read_table(out / "replications.parquet").to_pandas()
    assert sorted(rows["batteries.0.launchers"]) == [2, 6]
    assert any(c.startswith("fired.PAC-") for c in rows.columns)
    assert not any("40N6" in c for c in rows.columns)


@pytest.mark.parametrize(
    ("scenario", "path"), [("sead", "raids[0].arm"), ("regiment", "batteries[0]")]
)
def test_system_swap_refuses_what_it_would_drop(scenario: str, path: str) -> None:
    """ARMs aim at the scenario's radars; a regiment's battalions name their own radars and
    cue delays: a swap would break or silently drop them, so it is refused, by path."""
    r = sky("run", scenario, "--system", "patriot", "--out", "/nonexistent/never-written")
    assert r.returncode == 2
    assert path in r.stderr and "--system" in r.stderr
    assert "Traceback" not in r.stderr
