"""The `skydome` command as a user meets it: real processes, real exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from rich.console import Console

from tests.cli import sky
from tests.conftest import SMALL


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default scenario run twice with seed 5 and once with seed 6."""
    d = tmp_path_factory.mktemp("runs")
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        res = sky("run", "--seed", seed, "--out", str(d / name))
        assert res.returncode == 0, res.stderr
    return d


def test_run_writes_summary_and_events(runs: Path) -> None:
    s = json.loads((runs / "a" / "summary.json").read_text())
    assert s["scenario"] == "default" and s["seed"] == 5
    t = pq.read_table(runs / "a" / "events.parquet")
    expected = {"time_s", "kind", "threat_id", "track_id", "battery", "missile_type"}
    assert expected <= set(t.column_names)
    assert "miss_distance_m" in t.column_names
    kinds = set(t.column("kind").to_pylist())
    assert {"detect", "launch", "kill"} <= kinds
    assert t.num_rows == s["events"]
    # Launch events name the battery and missile type; detections name no battery.
    rows = t.to_pylist()
    assert all(r["battery"] and r["missile_type"] for r in rows if r["kind"] == "launch")
    assert all(r["battery"] is None for r in rows if r["kind"] == "detect")
    assert all(r["miss_distance_m"] is not None for r in rows if r["kind"] == "kill")


def test_same_seed_gives_byte_identical_files(runs: Path) -> None:
    files = ("summary.json", "events.parquet", "trajectories.parquet", "tracks.parquet")
    for f in (*files, "scenario.yaml"):
        assert (runs / "a" / f).read_bytes() == (runs / "b" / f).read_bytes(), f


def test_different_seed_gives_different_events(runs: Path) -> None:
    assert (runs / "a" / "events.parquet").read_bytes() != (
        runs / "c" / "events.parquet"
    ).read_bytes()


def test_unwritable_output_is_a_clear_error_before_simulating() -> None:
    res = sky("run", "--out", "/dev/null/x")
    assert res.returncode == 2
    assert "simulating" not in res.stderr
    assert "Traceback" not in res.stderr
    assert "/dev/null/x" in res.stderr


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "no such file"),
        ("name: [unclosed\n", "invalid YAML"),
        (SMALL.replace("launchers: 2", "launchers: -2"), "batteries[0].launchers"),
        (SMALL.replace("load: {m1: 4}", "load: {m7: 4}"), "not in the missiles library"),
        (SMALL.replace("max_range_km: 120", "max_range_km: 120000"), "metres"),
    ],
    ids=["missing", "yaml", "negative", "unknown-type", "unit"],
)
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_scenario_exit_2_no_traceback_no_output(
    tmp_path: Path, content: str | None, needle: str, command: str
) -> None:
    f = tmp_path / "bad.yaml"
    if content is not None:
        f.write_text(content)
    out = tmp_path / "out"
    args = [command, str(f)] + (["--out", str(out)] if command == "run" else [])
    res = sky(*args)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert needle in res.stderr
    assert str(f) in res.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == ([f] if content is not None else [])


def test_validate_ok(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(SMALL)
    res = sky("validate", str(f))
    assert res.returncode == 0
    assert "ok" in res.stdout and "3 threats" in res.stdout


def test_schema_is_json_schema() -> None:
    res = sky("schema")
    assert res.returncode == 0
    schema = json.loads(res.stdout)
    assert schema["title"] == "Scenario"
    assert "raids" in schema["properties"]


def test_scenarios_and_init(tmp_path: Path) -> None:
    res = sky("scenarios")
    assert res.returncode == 0 and "default" in res.stdout and "saturation" in res.stdout
    res = sky("init", "saturation", "mine.yaml", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert sky("validate", str(tmp_path / "mine.yaml")).returncode == 0
    again = sky("init", "saturation", "mine.yaml", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    unknown = sky("init", "nope", cwd=tmp_path)
    assert unknown.returncode == 2 and "not a built-in" in unknown.stderr


def test_usage_error_exit_2() -> None:
    res = sky("run", "--seed", "abc")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr


def many_types_scenario(types: list[str]) -> str:
    d = yaml.safe_load(SMALL)
    raid = d["raids"][0]
    d["raids"] = [{**raid, "name": f"raid{i}", "type": t} for i, t in enumerate(types)]
    return yaml.safe_dump(d, sort_keys=False)


LONG_TYPE = "very long threat type name " + "x" * 33
MARKUP_TYPES = ["cruise [/] missile", "[red]demo", "[bold]"]


def test_user_strings_are_printed_as_text_within_80_columns(tmp_path: Path) -> None:
    assert len(LONG_TYPE) == 60
    f = tmp_path / "odd.yaml"
    f.write_text(many_types_scenario([*MARKUP_TYPES, LONG_TYPE]))
    d = tmp_path / "out [x]"
    res = subprocess.run(
        [sys.executable, "-m", "skydome", "run", str(f), "--out", str(d)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"},
    )
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    for t in MARKUP_TYPES:
        assert t in res.stdout
    assert f"wrote {d}/" in res.stdout
    tables = res.stdout.split("first detection")[0]
    assert max(len(line) for line in tables.splitlines()) <= 80, tables
    s = json.loads((d / "summary.json").read_text())
    assert_rows_complete(res.stdout, s)


def assert_rows_complete(text: str, s: dict[str, Any]) -> None:
    """Each threat type's row shows all its numbers on the row's first line."""
    lines = text.splitlines()
    for row in s["threats"]["by_type"]:
        first = next(ln for ln in lines if ln.strip().startswith(row["type"][:4]))
        km = row["median_detection_range_km"]
        nums = [str(row[c]) for c in COUNT_COLUMNS] + ["-" if km is None else f"{km:.0f}"]
        assert first.split()[-len(nums) :] == nums, first


COUNT_COLUMNS = ("count", "detected", "tracked", "engaged", "killed", "leaked", "airborne_at_end")


def test_summary_table_keeps_every_number_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    from skydome.cli import run as run_cli

    console = Console(width=80, record=True, file=io.StringIO())
    monkeypatch.setattr(run_cli, "out", console)
    by_type = [
        {
            "type": name,
            **{c: 100000 + 11 * i + j for j, c in enumerate(COUNT_COLUMNS)},
            "median_detection_range_km": 1234.0,
        }
        for i, name in enumerate([LONG_TYPE, "[red]demo", "cruise [/] missile"])
    ]
    summary = {
        "scenario": "[bold]" + "s" * 70,
        "seed": 123456789,
        "duration_s": 3600.0,
        "threats": {"count": 3, "by_type": by_type},
        "missiles": {
            "per_kill": 1.5,
            "by_type": [
                {"type": "m" * 60, "start": 123456, "fired": 234567, "kills": 345678, "left": 9}
            ],
        },
        "assets": [
            {"name": "[x]" + "a" * 60, "value": 100.0, "value_left": 50.0, "damage_fraction": 0.5}
        ],
        "first_detection_s": 1.0,
        "first_launch_s": 2.0,
    }
    run_cli._print_summary(summary)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert_rows_complete(text, summary)
    for n in ("123456", "234567", "345678", "50.0", "50%"):
        assert n in text, n
    for markup in ("[red]dem", "[/]", "[bold]", "[x]"):  # printed, not interpreted
        assert markup in text, markup
