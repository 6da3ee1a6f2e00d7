"""Reports: figure content, the offline replay in a real browser, GeoJSON/KML export."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from skydome.engine import simulate
from skydome.geo import geodetic_to_map, horizon_range_m
from skydome.report import load_run, write_report
from skydome.report.export import to_geojson, to_kml
from skydome.report.figures import map_figure, timeline_figure
from skydome.results import write_run
from skydome.scenario import compile_scenario, parse_scenario
from skydome.sensors.coverage import coverage
from skydome.sensors.detection import swerling1_pd
from tests.browser import needs_chromium, offline_page
from tests.conftest import SMALL

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small scenario, run with recording, written as a run directory."""
    text = SMALL.replace("count: 3", "count: 6")
    p = compile_scenario(parse_scenario(text))
    r = simulate(p, seed=4, record_every_s=5.0)
    d = tmp_path_factory.mktemp("run") / "small"
    write_run(r, d, scenario_text=text)
    return d


def test_map_has_one_intercept_marker_per_kill_and_one_leak_marker_per_leak(run_dir: Path) -> None:
    d = load_run(run_dir)
    fig = map_figure(d)
    ax = fig.axes[0]
    lines = {ln.get_gid(): ln for ln in ax.get_lines() if ln.get_gid()}
    n_kill = int((d.events["kind"] == "kill").sum())
    n_leak = int((d.events["kind"] == "leak").sum())
    assert n_kill > 0
    assert np.asarray(lines["intercepts"].get_xdata()).size == n_kill
    assert np.asarray(lines["leakers"].get_xdata()).size == n_leak


def test_coverage_of_10_m_radar_against_50_m_target_is_the_horizon() -> None:
    text = (
        SMALL.replace("mast_height_m: 20", "mast_height_m: 10")
        .replace("detection_range_km: 300", "detection_range_km: 3000")
        .replace("max_range_km: 300", "max_range_km: 3000")
    )
    p = compile_scenario(parse_scenario(text))
    c = coverage(p.radars, rcs_m2=1.0, altitude_m=50.0)
    assert c.ground_range_m[0] == pytest.approx(float(horizon_range_m(10.0, 50.0)), rel=1e-9)
    assert c.ground_range_m[0] == pytest.approx(4120.0 * (np.sqrt(10) + np.sqrt(50)), rel=0.01)
    assert c.horizon_limited[0]
    # A small target is range-limited, not horizon-limited: R scales as RCS^(1/4).
    r1 = coverage(p.radars, rcs_m2=1e-4, altitude_m=30_000.0)
    r2 = coverage(p.radars, rcs_m2=16e-4, altitude_m=30_000.0)
    assert r2.ground_range_m[0] / r1.ground_range_m[0] == pytest.approx(2.0, rel=1e-9)
    assert not r1.horizon_limited[0]


def test_coverage_range_is_where_the_detection_model_gives_pd_one_half() -> None:
    """The ring and the detector agree: Pd(ring range) = 0.5 for a Swerling I target."""
    p = compile_scenario(parse_scenario(SMALL))
    c = coverage(p.radars, rcs_m2=0.5, altitude_m=8000.0)
    r = p.radars
    assert not c.horizon_limited[0] and c.ground_range_m[0] < r.max_range_m[0]
    snr = r.ref_snr[0] * (0.5 / r.ref_rcs_m2[0]) * (r.ref_range_m[0] / c.ground_range_m[0]) ** 4
    assert float(swerling1_pd(np.asarray(snr), float(r.pfa[0]))) == pytest.approx(0.5, abs=1e-6)


def test_run_writes_the_coverage_table_and_the_map_draws_it(run_dir: Path) -> None:
    table = pq.read_table(run_dir / "coverage.parquet").to_pandas()
    d = load_run(run_dir)
    assert set(table["radar"]) == set(d.params.radars.names)
    assert (table["rcs_m2"] == 1.0).all() and (table["altitude_m"] == 100.0).all()
    ax = map_figure(d, rcs_m2=1.0, altitude_m=100.0).axes[0]
    ring = next(ln for ln in ax.get_lines() if ln.get_gid() == "coverage-0")
    x, y = np.asarray(ring.get_xdata()), np.asarray(ring.get_ydata())
    r_km = np.hypot(x - d.params.radars.pos_m[0, 0] / 1e3, y - d.params.radars.pos_m[0, 1] / 1e3)
    expect = table.loc[table["radar"] == d.params.radars.names[0], "ground_range_m"].to_numpy()
    assert np.allclose(r_km[r_km > 0], expect[0] / 1e3)


def test_a_run_directory_without_a_coverage_table_still_reports_the_same_rings(
    run_dir: Path, tmp_path: Path
) -> None:
    """Run directories written before `coverage.parquet` existed: the table is rebuilt."""
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    (old / "coverage.parquet").unlink()
    a, b = load_run(run_dir), load_run(old)
    assert a.coverage.equals(b.coverage)
    assert write_report(old).is_file()


def test_timeline_has_a_row_per_threat(run_dir: Path) -> None:
    d = load_run(run_dir)
    ax = timeline_figure(d).axes[0]
    from matplotlib.collections import LineCollection

    bars = ax.collections[0]
    assert isinstance(bars, LineCollection)
    assert len(bars.get_segments()) == d.params.threats.n


def test_report_files(run_dir: Path) -> None:
    html = write_report(run_dir)
    text = html.read_text()
    for name in ("map", "profile", "timeline", "magazines"):
        assert (run_dir / "figures" / f"{name}.png").stat().st_size > 1000
        assert (run_dir / "figures" / f"{name}.svg").is_file()
    # Self-contained: no external URL anywhere in the page.
    for needle in ("http://", "https://", 'src="/', "src='", "<link"):
        assert needle not in text.replace("http://www.w3.org/2000/svg", "")
    assert text.count("data:image/png;base64,") == 4


def test_report_of_a_non_run_directory_is_a_clear_error(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "skydome", "report", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2
    assert "not a run directory" in res.stderr and "Traceback" not in res.stderr


@needs_chromium
def test_replay_plays_offline_in_a_real_browser(run_dir: Path) -> None:
    html = write_report(run_dir)
    ARTIFACTS.mkdir(exist_ok=True)
    with offline_page() as session:
        page = session.page
        page.goto(html.as_uri())
        page.wait_for_function("() => window.__replay && window.__replay.frames > 0")
        clock0 = page.inner_text("#clock")
        state0 = page.evaluate("JSON.stringify(window.__replay.threats)")
        page.click("#play")
        page.wait_for_function("() => window.__replay.t > 60", timeout=20_000)
        page.click("#play")  # pause
        clock1 = page.inner_text("#clock")
        state1 = page.evaluate("JSON.stringify(window.__replay.threats)")
        # Drag the slider to the middle: the picture follows.
        page.eval_on_selector(
            "#slider", "s => { s.value = 500; s.dispatchEvent(new Event('input')); }"
        )
        mid = page.evaluate("window.__replay.t")
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    assert clock0 != clock1
    assert state0 != state1 and len(json.loads(state1)) > 0
    assert mid == pytest.approx(0.5 * load_run(run_dir).params.duration_s)
    assert session.errors == []
    assert session.offline_only(), session.requests
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def test_geojson_is_valid_and_round_trips_to_the_map_frame(run_dir: Path) -> None:
    geojson = pytest.importorskip("geojson")
    d = load_run(run_dir)
    text = to_geojson(d)
    obj = geojson.loads(text)
    assert obj.is_valid, obj.errors()
    paths = [f for f in obj["features"] if f["properties"]["kind"] == "threat_path"]
    assert len(paths) == d.params.threats.n
    first = min(paths, key=lambda f: (f["properties"]["t_start_s"], f["properties"]["threat_id"]))
    lon, lat, alt = first["geometry"]["coordinates"][0]
    lat0, lon0, alt0 = d.params.origin
    enu = geodetic_to_map(np.array([lat]), np.array([lon]), np.array([alt]), lat0, lon0, alt0)[0]
    tid = first["properties"]["threat_id"]
    t0 = first["properties"]["t_start_s"]
    start, _ = d.params.threats.state_at(t0, np.array([tid]))
    assert np.linalg.norm(enu - start[0]) < 1.0
    kinds = {f["properties"]["kind"] for f in obj["features"]}
    assert {"asset", "radar", "battery", "threat_path", "kill"} <= kinds


def test_kml_is_well_formed(run_dir: Path) -> None:
    root = ET.fromstring(to_kml(load_run(run_dir)))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    marks = root.findall(".//k:Placemark", ns)
    assert len(marks) > load_run(run_dir).params.threats.n
    coords = root.find(".//k:LineString/k:coordinates", ns)
    assert coords is not None and coords.text is not None
    lon, lat, alt = map(float, coords.text.split()[0].split(","))
    assert -180 <= lon <= 180 and -90 <= lat <= 90


def test_run_with_report_flag(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(SMALL)
    out = tmp_path / "r"
    res = subprocess.run(
        [sys.executable, "-m", "skydome", "run", str(f), "--out", str(out), "--report"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert res.returncode == 0, res.stderr
    assert (out / "report.html").is_file() and "report:" in res.stdout
    res = subprocess.run(
        [sys.executable, "-m", "skydome", "export", str(out), "--format", "kml"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0 and (out / "run.kml").is_file()
