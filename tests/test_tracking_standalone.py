"""The stand-alone tracker: DataFrame API and `skydome track`, good and bad input."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from skydome.errors import ScenarioError, UserError
from skydome.trackfile import TRACK_COLUMNS, TrackConfig, track_detections, track_file
from skydome.tracking.metrics import gospa_table, track_continuity
from skydome.tracking.synthetic import SyntheticData, cv_targets_in_square
from tests.cli import sky


def frames(data: SyntheticData, sensor: str | None = None) -> pd.DataFrame:
    parts = []
    for det in data.scans:
        d = {"time_s": det.time_s, "x_m": det.pos_m[:, 0], "y_m": det.pos_m[:, 1],
             "z_m": det.pos_m[:, 2]}  # fmt: skip
        if sensor is not None:
            d["sensor"] = sensor
        parts.append(pd.DataFrame(d))
    return pd.concat(parts, ignore_index=True)


def truth_table(data: SyntheticData) -> pd.DataFrame:
    t, n = data.truth_pos_m.shape[:2]
    p = data.truth_pos_m.reshape(-1, 3)
    return pd.DataFrame(
        {
            "time_s": np.repeat(data.times_s, n),
            "truth_id": np.tile(np.arange(n), t),
            "x_m": p[:, 0],
            "y_m": p[:, 1],
            "z_m": p[:, 2],
        }
    )


CFG = TrackConfig(process_noise_mps2=1.0, init_velocity_sigma_mps=300.0, delete_misses=4)


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return cv_targets_in_square(15, 30, clutter_per_scan=5.0, seed=5)


def test_dataframe_api_tracks_every_target(data: SyntheticData) -> None:
    tracks = track_detections(frames(data), CFG)
    assert tuple(tracks.columns) == TRACK_COLUMNS
    assert tracks["time_s"].is_monotonic_increasing
    g = gospa_table(truth_table(data), tracks, c=500.0)
    late = g[g["time_s"] >= 10.0]
    assert (late["n_missed"] == 0).all() and (late["n_false"] == 0).all()
    assert late["gospa_m"].max() < 15 * 60.0  # 15 targets, ~50 m errors each
    cont = track_continuity(truth_table(data), tracks, c=500.0)
    assert (cont["id_swaps"] == 0).all() and (cont["n_tracks"] == 1).all()
    conf_only = track_detections(frames(data), CFG, confirmed_only=True)
    assert conf_only["confirmed"].all()
    assert len(conf_only) < len(tracks)


def test_two_sensors_with_different_rates_and_accuracies_fuse(data: SyntheticData) -> None:
    """A coarse fast sensor (every scan, 150 m) and a precise slow one (every 5th scan, 10 m)
    labelled in the `sensor` column with per-axis sigmas: the fused picture is more
    accurate than the coarse sensor alone, with one track per target."""
    rng = np.random.default_rng(0)
    truth = truth_table(data)
    rows = []
    for sensor, every, sigma in (("fast", 1, 150.0), ("precise", 5, 10.0)):
        sel = truth[truth["time_s"] % every == 0]
        noise = rng.normal(0.0, sigma, (len(sel), 3))
        rows.append(
            pd.DataFrame(
                {
                    "time_s": sel["time_s"].to_numpy(),
                    "x_m": sel["x_m"].to_numpy() + noise[:, 0],
                    "y_m": sel["y_m"].to_numpy() + noise[:, 1],
                    "z_m": sel["z_m"].to_numpy() + noise[:, 2],
                    "sensor": sensor,
                    "sigma_x_m": sigma,
                    "sigma_y_m": sigma,
                    "sigma_z_m": sigma,
                }
            )
        )
    both = pd.concat(rows).sort_values("time_s", kind="stable", ignore_index=True)
    fast = rows[0]
    g_both = gospa_table(truth, track_detections(both, CFG), c=1000.0)
    g_fast = gospa_table(truth, track_detections(fast, CFG), c=1000.0)
    late = g_both["time_s"] >= 10
    assert (g_both.loc[late, "n_false"] == 0).all() and (g_both.loc[late, "n_missed"] == 0).all()
    assert g_both.loc[late, "gospa_m"].mean() < 0.7 * g_fast.loc[late, "gospa_m"].mean()


def test_polar_columns_use_the_unbiased_conversion(data: SyntheticData) -> None:
    """Range/azimuth/elevation with their sigmas: the sensor position is recovered from the
    two coordinate sets and the tracks follow the targets."""
    rng = np.random.default_rng(1)
    truth = truth_table(data)
    sensor = np.array([-120e3, -80e3, 30.0])
    d = truth[["x_m", "y_m", "z_m"]].to_numpy() - sensor
    r = np.linalg.norm(d, axis=1)
    az = np.arctan2(d[:, 0], d[:, 1])
    el = np.arcsin(d[:, 2] / r)
    sr, sa, se = 30.0, 2e-3, 2e-3
    rm, am, em = (
        r + rng.normal(0, sr, r.size),
        az + rng.normal(0, sa, r.size),
        el + rng.normal(0, se, r.size),
    )
    ce = np.cos(em)
    xyz = sensor + np.column_stack([rm * ce * np.sin(am), rm * ce * np.cos(am), rm * np.sin(em)])
    df = pd.DataFrame(
        {
            "time_s": truth["time_s"],
            "x_m": xyz[:, 0],
            "y_m": xyz[:, 1],
            "z_m": xyz[:, 2],
            "range_m": rm,
            "azimuth_rad": am,
            "elevation_rad": em,
            "sigma_range_m": sr,
            "sigma_azimuth_rad": sa,
            "sigma_elevation_rad": se,
        }
    )
    tracks = track_detections(df, CFG)
    g = gospa_table(truth, tracks, c=2000.0)
    late = g["time_s"] >= 10
    assert (g.loc[late, "n_missed"] == 0).all() and (g.loc[late, "n_false"] == 0).all()


def _write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


def test_cli_tracks_csv_and_parquet(tmp_path: Path, data: SyntheticData) -> None:
    det = frames(data, sensor="r1")
    det.to_csv(tmp_path / "det.csv", index=False)
    det.to_parquet(tmp_path / "det.parquet")
    cfg = _write(tmp_path, "cfg.yaml", "process_noise_mps2: 1.0\ninit_velocity_sigma_mps: 300\n")
    res = sky("track", str(tmp_path / "det.csv"), "--out", str(tmp_path / "t.parquet"),
              "--config", str(cfg))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "30 scans" in res.stdout and "1 sensor" in res.stdout
    res = sky("track", str(tmp_path / "det.parquet"), "--out", str(tmp_path / "t.csv"),
              "--confirmed-only")  # fmt: skip
    assert res.returncode == 0, res.stderr
    a = pd.read_parquet(tmp_path / "t.parquet")
    b = pd.read_csv(tmp_path / "t.csv")
    assert tuple(a.columns) == tuple(b.columns) == TRACK_COLUMNS
    assert b["confirmed"].all() and not a["confirmed"].all()
    # Same data, same settings: the API and the CLI agree.
    api = track_detections(det, TrackConfig(process_noise_mps2=1.0, init_velocity_sigma_mps=300))
    pd.testing.assert_frame_equal(a, api)


BAD_CSV = {
    "missing column": ("time_s,x_m,y_m\n0,1,2\n", "z_m: required column missing"),
    "nan": ("time_s,x_m,y_m,z_m\n0,1,2,3\n1,,2,3\n", "x_m: missing value (NaN) at line 3"),
    "unsorted": (
        "time_s,x_m,y_m,z_m\n0,1,2,3\n2,1,2,3\n1,1,2,3\n",
        "time_s: not sorted: time goes backwards at line 4",
    ),
    "header only": ("time_s,x_m,y_m,z_m\n", "no detections"),
    "empty file": ("", "the file is empty"),
    "text in numbers": ("time_s,x_m,y_m,z_m\n0,1,2,abc\n", "z_m: not a number at line 2"),
    "infinity": ("time_s,x_m,y_m,z_m\n0,1,2,inf\n", "z_m: infinite value at line 2"),
    "bad sigma": (
        "time_s,x_m,y_m,z_m,sigma_x_m,sigma_y_m,sigma_z_m\n0,1,2,3,5,0,5\n",
        "sigma_y_m: must be > 0 at line 2",
    ),
    "half a group": (
        "time_s,x_m,y_m,z_m,range_m\n0,1,2,3,4\n",
        "comes as a group: also give azimuth_rad, elevation_rad",
    ),
    "sensor missing": ("time_s,x_m,y_m,z_m,sensor\n0,1,2,3,\n", "sensor: missing value"),
}


@pytest.mark.parametrize("case", list(BAD_CSV), ids=list(BAD_CSV))
def test_malformed_detections_give_one_clear_error(tmp_path: Path, case: str) -> None:
    """What `skydome track` reports for each malformed file (in-process: the API raises the
    `UserError` the CLI turns into its message and exit code 2)."""
    text, expect = BAD_CSV[case]
    src = _write(tmp_path, "det.csv", text)
    out = tmp_path / "t.parquet"
    with pytest.raises(UserError) as e:
        track_file(src, out)
    assert expect in str(e.value) and str(src) in str(e.value), str(e.value)
    assert not out.exists()


@pytest.mark.parametrize("case", ["missing column", "empty file"])
def test_cli_malformed_detections_exit_2_without_traceback(tmp_path: Path, case: str) -> None:
    text, expect = BAD_CSV[case]
    src = _write(tmp_path, "det.csv", text)
    out = tmp_path / "t.parquet"
    res = sky("track", str(src), "--out", str(out))
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert expect in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert not out.exists()


def test_bad_paths_and_config(tmp_path: Path) -> None:
    good = _write(tmp_path, "det.csv", "time_s,x_m,y_m,z_m\n0,1,2,3\n")
    t = tmp_path / "t.csv"
    cases = [
        ((tmp_path / "nope.csv", t, None), "no such file"),
        ((good, tmp_path / "t.txt", None), "unknown file type .txt"),
        ((good, tmp_path / "no" / "t.csv", None), "does not exist"),
        ((_write(tmp_path, "d.txt", "x"), t, None), "unknown file type .txt"),
        ((good, t, _write(tmp_path, "c.yaml", "confirm_m: 3\nprocess_noise: 2\n")),
         "line 2: process_noise: unknown field"),
        ((good, t, _write(tmp_path, "d.yaml", "confirm_m: 5\nconfirm_n: 3\n")),
         "confirm_m must not exceed confirm_n"),
        ((good, t, _write(tmp_path, "e.yaml", "gate_probability: [1\n")), "invalid YAML"),
        ((good, t, _write(tmp_path, "f.yaml", "- 1\n")), "expected a mapping"),
        ((good, t, tmp_path / "missing.yaml"), "no such file"),
    ]  # fmt: skip
    for (src, out, cfg), expect in cases:
        with pytest.raises(UserError) as e:
            track_file(src, out, cfg)
        assert expect in str(e.value), (src, out, cfg, str(e.value))
    assert not t.exists()
    res = sky("track", str(good), "--out", str(t), "--config", str(tmp_path / "c.yaml"))
    assert res.returncode == 2 and "process_noise: unknown field" in res.stderr
    assert "Traceback" not in res.stderr and not t.exists()


def test_api_raises_scenario_error_listing_every_problem() -> None:
    df = pd.DataFrame({"time_s": [0.0, 2.0, 1.0], "x_m": [0.0, np.nan, 1.0], "y_m": 0.0})
    with pytest.raises(ScenarioError) as e:
        track_detections(df)
    msg = str(e.value)
    assert "(3 problems)" in msg
    assert "z_m: required column missing" in msg
    assert "x_m: missing value (NaN) at line 3" in msg
    assert "time_s: not sorted" in msg


def test_scan_window_groups_staggered_detections() -> None:
    """A sensor reporting targets at slightly different times within a 1 s sweep: with
    `scan_window_s` they form one scan each sweep (one track per target); without it
    every distinct time is a scan."""
    rng = np.random.default_rng(4)
    n, sweeps = 5, 20
    start = rng.uniform(-5e4, 5e4, (n, 3))
    start[:, 2] = 5e3
    vel = rng.uniform(-200, 200, (n, 3))
    vel[:, 2] = 0
    rows = []
    for k in range(sweeps):
        for i in range(n):
            t = k + 0.1 * i
            p = start[i] + vel[i] * t + rng.normal(0, 30.0, 3)
            rows.append((t, *p))
    df = pd.DataFrame(rows, columns=["time_s", "x_m", "y_m", "z_m"])
    cfg = TrackConfig(process_noise_mps2=1.0, init_velocity_sigma_mps=300.0, scan_window_s=0.9)
    tracks = track_detections(df, cfg)
    assert tracks["time_s"].nunique() == sweeps
    last = tracks[tracks["time_s"] == tracks["time_s"].max()]
    assert last["confirmed"].sum() == n


def _base() -> pd.DataFrame:
    t = np.repeat(np.arange(5.0), 2)
    return pd.DataFrame(
        {"time_s": t, "x_m": 1e3 * np.tile([1.0, 5.0], 5) + 100.0 * t, "y_m": 2e3, "z_m": 3e3}
    )


def _with(**cols: Any) -> pd.DataFrame:
    df = _base()
    for name, value in cols.items():
        df[name] = value
    return df


def _times(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    if kind == "timestamp":
        df["time_s"] = pd.Timestamp("2024-05-01T12:00:00") + pd.to_timedelta(df["time_s"], "s")
    elif kind == "timestamp-utc":
        df["time_s"] = pd.to_datetime(df["time_s"], unit="s", utc=True)
    else:
        df["time_s"] = pd.to_timedelta(df["time_s"], "s")
    return df


TYPED = {
    # A timestamp time_s was read as microseconds (silently): now refused, with the fix.
    "timestamp": (
        lambda: _times(_base(), "timestamp"),
        "time_s: is a timestamp column; expected seconds as a number "
        "(convert with (t - t0).dt.total_seconds())",
    ),
    "timestamp-utc": (lambda: _times(_base(), "timestamp-utc"), "time_s: is a timestamp column"),
    "timedelta": (
        lambda: _times(_base(), "timedelta"),
        "time_s: is a duration (timedelta) column; expected seconds as a number "
        "(convert with t.dt.total_seconds())",
    ),
    "bool": (lambda: _with(z_m=True), "z_m: is a true/false (boolean) column"),
    "text": (
        lambda: _with(y_m=["7"] * 10),
        "y_m: is a text column (e.g. '7'); expected numbers",
    ),
    "text-time": (
        lambda: _with(time_s=[str(float(i // 2)) for i in range(10)]), "time_s: is a text column"
    ),
    "huge coordinate": (
        lambda: _with(y_m=[2e3] * 3 + [1e300] + [2e3] * 6),
        "y_m: beyond ±1e+08 m (expected metres) at line 5",
    ),
    "coordinates beyond 1e8": (
        lambda: _with(z_m=[-2e8] * 7 + [3e3] * 3),
        "z_m: beyond ±1e+08 m (expected metres) at lines 2, 3, 4, 5, 6 and 2 more",
    ),
    "epoch nanoseconds": (
        lambda: _with(time_s=1.7e18 + np.repeat(np.arange(5.0), 2)),
        "time_s: beyond ±1e+11 s",
    ),
    "nan time": (
        lambda: _with(time_s=[0.0, np.nan] + [1.0] * 8), "time_s: missing value (NaN) at line 3"
    ),
    "inf time": (lambda: _with(time_s=[0.0] * 9 + [np.inf]), "time_s: infinite value at line 11"),
    "nan sigma": (
        lambda: _with(sigma_x_m=[5.0, np.nan] + [5.0] * 8, sigma_y_m=5.0, sigma_z_m=5.0),
        "sigma_x_m: missing value (NaN) at line 3",
    ),
    "negative sigma": (
        lambda: _with(sigma_x_m=5.0, sigma_y_m=[5.0] * 9 + [-1.0], sigma_z_m=5.0),
        "sigma_y_m: must be > 0 at line 11",
    ),
    "huge sigma": (
        lambda: _with(sigma_x_m=5.0, sigma_y_m=5.0, sigma_z_m=[1e300] + [5.0] * 9),
        "sigma_z_m: must be in [1e-06, 1e+08 m] at line 2",
    ),
    "degrees": (
        lambda: _with(range_m=1e4, azimuth_rad=90.0, elevation_rad=0.1),
        "azimuth_rad: beyond ±2π rad (given in degrees?)",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(TYPED), ids=list(TYPED))
def test_column_types_and_absurd_values_are_refused_naming_the_column(
    tmp_path: Path, case: str
) -> None:
    """Through a Parquet file, which keeps column types: one problem, the column named."""
    make, expect = TYPED[case]
    src = tmp_path / "det.parquet"
    make().to_parquet(src)
    with pytest.raises(UserError) as e:
        track_file(src, tmp_path / "t.csv")
    assert expect in str(e.value), str(e.value)
    assert "(1 problem)" in str(e.value), str(e.value)
    assert not (tmp_path / "t.csv").exists()


def test_mixed_object_column_names_each_kind_of_bad_row() -> None:
    df = _base()
    df["x_m"] = df["x_m"].astype(object)
    df.loc[1, "x_m"] = True
    df.loc[2, "x_m"] = "abc"
    df.loc[3, "x_m"] = None
    df.loc[4, "x_m"] = [1.0]
    with pytest.raises(ScenarioError) as e:
        track_detections(df)
    msg = str(e.value)
    assert "x_m: true/false value at line 3" in msg
    assert "x_m: not a number at lines 4, 6" in msg
    assert "x_m: missing value (NaN) at line 5" in msg
    with pytest.raises(ScenarioError, match="x_m: is a complex-number column"):
        track_detections(_with(x_m=np.full(10, 1 + 1j)))


def test_repeated_and_unhashable_columns() -> None:
    df = pd.concat([_base(), _base()[["x_m"]]], axis=1)
    with pytest.raises(ScenarioError, match="x_m: column appears more than once"):
        track_detections(df)
    with pytest.raises(ScenarioError, match="sensor: labels must be text or numbers"):
        track_detections(_with(sensor=[[1]] * 10))


def test_extreme_but_valid_input_tracks_without_numpy_warnings() -> None:
    """At the edges of every accepted range the arithmetic stays finite, and silent."""
    df = _with(
        x_m=np.tile([9.9e7, -9.9e7], 5),
        time_s=np.linspace(-9e10, 9e10, 10),
        sigma_x_m=1e-6,
        sigma_y_m=1e8,
        sigma_z_m=1.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracks = track_detections(df)
    assert np.isfinite(tracks[["x_m", "y_m", "z_m", "sigma_m"]].to_numpy()).all()


def test_happy_path_under_warnings_as_errors(tmp_path: Path, data: SyntheticData) -> None:
    """`python -W error -m skydome track`: no warning of numpy or pandas on good input."""
    det = frames(data, sensor="r1")
    det["sigma_x_m"] = det["sigma_y_m"] = det["sigma_z_m"] = 50.0
    det.to_parquet(tmp_path / "det.parquet")
    res = subprocess.run(
        [sys.executable, "-W", "error", "-m", "skydome", "track", str(tmp_path / "det.parquet"),
         "--out", str(tmp_path / "t.parquet")],
        capture_output=True, text=True, timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert res.returncode == 0 and res.stderr == "", res.stderr


CONFIGS = {
    "truncated json": (
        "c.json",
        '{"confirm_m": 3,\n  "confirm_n": ',
        "line 2: (file): invalid JSON: Expecting value",
    ),
    "yaml in a .json": ("c.json", "confirm_m: 3\n", "invalid JSON"),
    "json typo": (
        "c.json",
        '{"confirm_m": 3,\n "confim_n": 4}',
        "line 2: confim_n: unknown field 'confim_n' (did you mean 'confirm_n'? "
        "tracker config fields: motion_model, ",
    ),
    "yaml typo": ("c.yaml", "gate_probabilty: 0.9\n", "did you mean 'gate_probability'?"),
    "deep json": ("c.json", "[" * 100_000 + "]" * 100_000, "nested more than 32 levels deep"),
    "deep yaml": ("c.yaml", "a: " + "[" * 50_000 + "]" * 50_000, "nested more than 32 levels deep"),
    "deep yaml blocks": (
        "c.yaml",
        "".join(f"{'  ' * i}k{i}:\n" for i in range(40)) + "  " * 40 + "1\n",
        "nested more than 32 levels deep",
    ),
    "huge": ("c.yaml", "confirm_m: 3\n#" + "x" * 300_000 + "\n", "at most 256 KiB"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CONFIGS), ids=list(CONFIGS))
def test_bad_tracker_configs(tmp_path: Path, case: str) -> None:
    name, text, expect = CONFIGS[case]
    good = _write(tmp_path, "det.csv", "time_s,x_m,y_m,z_m\n0,1,2,3\n")
    with pytest.raises(UserError) as e:
        track_file(good, tmp_path / "t.csv", _write(tmp_path, name, text))
    msg = str(e.value)
    assert expect in msg, msg
    assert "skydome schema" not in msg and "invalid YAML" not in msg, msg


def test_unknown_fields_list_the_tracker_fields_once(tmp_path: Path) -> None:
    cfg = _write(tmp_path, "c.yaml", "zzz: 1\nconfirm_mm: 2\n")
    good = _write(tmp_path, "det.csv", "time_s,x_m,y_m,z_m\n0,1,2,3\n")
    with pytest.raises(UserError) as e:
        track_file(good, tmp_path / "t.csv", cfg)
    msg = str(e.value)
    assert "line 1: zzz: unknown field 'zzz' (tracker config fields: motion_model," in msg
    assert "line 2: confirm_mm: unknown field 'confirm_mm' (did you mean 'confirm_m'? " in msg
    assert msg.count("scan_window_s") == 1, msg


def test_tracker_config_duplicate_keys_are_refused_with_both_lines(tmp_path: Path) -> None:
    from skydome.trackfile import load_config

    cfg = tmp_path / "c.yaml"
    cfg.write_text("confirm_m: 2\nconfirm_n: 4\nconfirm_m: 3\n")
    with pytest.raises(ScenarioError) as e:
        load_config(cfg)
    msg = str(e.value)
    assert "line 3" in msg and "confirm_m" in msg and "duplicate" in msg


def test_track_output_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    from skydome.trackfile import write_tracks

    out = tmp_path / "t.csv"
    out.write_text("old\n")
    bad = pd.DataFrame({"x": [1.0]})
    bad.to_csv = None  # the writer fails mid-way
    with pytest.raises(TypeError):
        write_tracks(bad, out)
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]  # no temp file left
