"""The command line at its edges: bad input gives exit code 2 and one clear message.

Real processes (`python -m skydome`): the exit code, stderr and the absence of a
traceback or a numpy warning are what a user sees. Every case fails before any
work starts, so each takes only the interpreter's start-up.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from skydome.cli import app
from skydome.cli import study as study_cli
from tests.cli import sky
from tests.test_study import write_scenario


def detections(**cols: object) -> pd.DataFrame:
    t = np.repeat(np.arange(5.0), 2)
    df = pd.DataFrame({"time_s": t, "x_m": 1e3 * np.tile([1.0, 5.0], 5), "y_m": 2e3, "z_m": 3e3})
    for name, value in cols.items():
        df[name] = value
    return df


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scenario(tmp_path_factory.mktemp("scen") / "one-shot.yaml")


def track_case(tmp: Path, case: str) -> list[str]:
    """Write the inputs of one `skydome track` case; return its arguments."""
    src, cfg = tmp / "det.parquet", None
    if case == "timestamp time_s":
        df = detections()
        df["time_s"] = pd.Timestamp("2024-05-01") + pd.to_timedelta(df["time_s"], "s")
        df.to_parquet(src)
    elif case == "timedelta time_s":
        df = detections()
        df["time_s"] = pd.to_timedelta(df["time_s"], "s")
        df.to_parquet(src)
    elif case == "bool column":
        detections(z_m=True).to_parquet(src)
    elif case == "text column":
        detections(x_m="12").to_parquet(src)
    elif case == "1e300 coordinate":
        detections(y_m=[1e300] + [2e3] * 9).to_parquet(src)
    elif case == "zero sigma":
        detections(sigma_x_m=0.0, sigma_y_m=1.0, sigma_z_m=1.0).to_parquet(src)
    else:
        detections().to_parquet(src)
        cfg = tmp / ("c.json" if "json" in case else "c.yaml")
        cfg.write_text(
            {
                "truncated json": '{"confirm_m": 3,\n  "confirm_n": ',
                "json typo": '{"confirm_mm": 3}',
                "deep yaml": "a: " + "[" * 10_000 + "]" * 10_000,
            }[case]
        )
    args = ["track", str(src), "--out", str(tmp / "t.csv")]
    return [*args, "--config", str(cfg)] if cfg is not None else args


TRACK = {
    "timestamp time_s": "time_s: is a timestamp column; expected seconds as a number "
    "(convert with (t - t0).dt.total_seconds())",
    "timedelta time_s": "time_s: is a duration (timedelta) column",
    "bool column": "z_m: is a true/false (boolean) column",
    "text column": "x_m: is a text column",
    "1e300 coordinate": "y_m: beyond ±1e+08 m (expected metres) at line 2",
    "zero sigma": "sigma_x_m: must be > 0 at lines 2, 3, 4, 5, 6 and 5 more",
    "truncated json": "line 2: (file): invalid JSON: Expecting value",
    "json typo": "confirm_mm: unknown field 'confirm_mm' (did you mean 'confirm_m'? "
    "tracker config fields: motion_model,",
    "deep yaml": "nested more than 32 levels deep",
}


@pytest.mark.parametrize("case", list(TRACK), ids=list(TRACK))
def test_track_edges_exit_2_naming_the_column_or_field(tmp_path: Path, case: str) -> None:
    res = sky(*track_case(tmp_path, case))
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert TRACK[case] in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and "Warning" not in res.stderr, res.stderr
    assert "skydome schema" not in res.stderr and "invalid YAML" not in res.stderr
    assert not (tmp_path / "t.csv").exists()


def study_args(scenario: Path, out: Path, case: str) -> list[str]:
    many = ",".join(str(i) for i in range(1, 201))
    return {
        "jobs 10000": ["mc", str(scenario), "-n", "10", "--jobs", "10000"],
        "jobs 0": ["mc", str(scenario), "-n", "10", "-j", "0"],
        "n 1e11": ["mc", str(scenario), "-n", "100000000000"],
        "huge grid": ["sweep", str(scenario), "--set", f"batteries.0.launchers={many}",
                      "--set", f"raids.0.count={many}", "-n", "5"],
        "n x cells": ["sweep", str(scenario), "--set", "batteries.0.launchers=1,2",
                      "-n", "6000000", "-j", "1"],
    }[case] + ["--out", str(out)]  # fmt: skip


STUDY = {
    "jobs 10000": "--jobs 10,000: at most ",
    "jobs 0": "--jobs: expected at least 1, got 0",
    "n 1e11": "-n 100,000,000,000: 100,000,000,000 replications; at most 10,000,000",
    "huge grid": "--set: the grid has 40,000 cells (200 x 200 values); at most 10,000",
    "n x cells": "-n 6,000,000: 12,000,000 replications (2 cells x 6,000,000); at most 10,000,000",
}


@pytest.mark.parametrize("case", list(STUDY), ids=list(STUDY))
def test_study_counts_exit_2_with_one_line(scenario: Path, tmp_path: Path, case: str) -> None:
    """Refused before planning and before any process starts: one line, nothing written."""
    out = tmp_path / "study"
    res = sky(*study_args(scenario, out, case))
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert res.stderr.startswith(STUDY[case]), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "Traceback" not in res.stderr and not out.exists()


def test_sweep_shows_planning_and_running_progress_on_stderr(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal, planning (cells) and running (replications) each show a bar on the
    error console; stdout keeps only the results."""
    buf = io.StringIO()
    monkeypatch.setattr(
        study_cli, "err", Console(file=buf, force_terminal=True, color_system=None, width=150)
    )
    res = CliRunner().invoke(
        app,
        ["sweep", str(scenario), "--set", "batteries.0.launchers=1,2", "--set",
         "raids.0.count=1,2,3", "-n", "2", "-j", "1", "--out", str(tmp_path / "sw")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    shown = buf.getvalue()
    assert "planning" in shown and "6/6 cells" in shown, shown
    assert "12/12" in shown, shown
    assert ": planning" not in res.stdout and "━" not in res.stdout
    assert "6 cells x 2 replications" in res.stdout
