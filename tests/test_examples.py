"""The shipped examples work as examples/README.md says, and are what the script makes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pandas as pd
from typer.testing import CliRunner

from skydome.cli import app
from skydome.cli.wta_instance import load_instance
from skydome.engagement.wta import solve_heuristic

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _make_examples() -> Any:
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_examples_are_what_the_script_makes() -> None:
    mod = _make_examples()
    assert (EXAMPLES / "detections.csv").read_text() == mod.detections_csv()
    assert (EXAMPLES / "wta_instance.json").read_text() == mod.wta_instance()


def test_track_example_finds_the_six_aircraft(tmp_path: Path) -> None:
    out = tmp_path / "tracks.parquet"
    r = CliRunner().invoke(
        app,
        ["track", str(EXAMPLES / "detections.csv"), "--config", str(EXAMPLES / "tracker.yaml"),
         "--out", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    t = pd.read_parquet(out)
    conf = t[t["confirmed"]]
    # Six aircraft, no false track from the clutter, each held to the end (120 s).
    assert conf["track_id"].nunique() == 6
    assert (conf.groupby("track_id")["time_s"].max() == 120.0).all()


def test_wta_example_is_solved_to_proven_optimality(tmp_path: Path) -> None:
    inst = EXAMPLES / "wta_instance.json"
    out = tmp_path / "plan.json"
    r = CliRunner().invoke(app, ["wta", str(inst), "--out", str(out)])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["optimal"] is True
    heur = solve_heuristic(load_instance(inst).problem())
    assert res["objective"] <= heur.objective + 1e-9
    counts = json.loads(inst.read_text())["weapon_counts"]
    assert all(sum(row) <= n for row, n in zip(res["allocation"], counts, strict=True))
