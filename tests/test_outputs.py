"""Output directories and files: atomic, never mixed, never over a user's files, one writer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from skydome.engine import simulate
from skydome.errors import UserError
from skydome.io import (
    RUN_MARKER,
    atomic_output,
    is_run_dir,
    staged_run_dir,
    target_lock,
    write_atomic_dir,
    write_atomic_file,
)
from skydome.results import DETECTION_COLUMNS, detections_table, write_run
from skydome.scenario import compile_scenario, parse_scenario
from skydome.trackfile import validate_detections
from tests.cli import SKYDOME, sky
from tests.conftest import SMALL


def one_line_error(res: subprocess.CompletedProcess[str], needle: str) -> None:
    """Exit 2, no traceback, one line on stderr that says `needle`."""
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert needle in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture()
def small(tmp_path: Path) -> Path:
    f = tmp_path / "small.yaml"
    f.write_text(SMALL)
    return f


# --- where a run may go --------------------------------------------------------------------


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_out_dot_is_refused_and_nothing_is_touched(small: Path, force: bool) -> None:
    work = small.parent
    (work / "scenario.yaml").write_text("# my edited scenario\n")
    before = snapshot(work)
    res = sky("run", str(small), "--out", ".", *(["--force"] if force else []), cwd=work)
    one_line_error(res, "current directory")
    assert snapshot(work) == before
    assert sorted(p.name for p in work.iterdir()) == ["scenario.yaml", "small.yaml"]


def test_parent_of_the_current_directory_is_refused(small: Path) -> None:
    sub = small.parent / "deep"
    sub.mkdir()
    res = sky("run", str(small), "--out", "..", "--force", cwd=sub)
    one_line_error(res, "current directory")
    assert sorted(p.name for p in small.parent.iterdir()) == ["deep", "small.yaml"]


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_non_empty_directory_that_is_not_a_run_is_refused(small: Path, force: bool) -> None:
    d = small.parent / "mine"
    d.mkdir()
    (d / "notes.txt").write_text("keep me")
    (d / "summary.json").write_text("{}")  # not one of ours
    before = snapshot(d)
    res = sky("run", str(small), "--out", str(d), *(["--force"] if force else []))
    one_line_error(res, "not a skydome run directory")
    assert snapshot(d) == before
    assert [p.name for p in small.parent.iterdir() if p.name.startswith(".")] == []


def test_earlier_run_needs_force_then_is_replaced_as_a_whole(small: Path) -> None:
    d = small.parent / "run"
    assert sky("run", str(small), "--out", str(d), "--seed", "1").returncode == 0
    assert is_run_dir(d) and (d / RUN_MARKER).is_file()
    (d / "report.html").write_text("the first run's report")
    first = snapshot(d)

    again = sky("run", str(small), "--out", str(d), "--seed", "2")
    one_line_error(again, "--force")
    assert snapshot(d) == first

    res = sky("run", str(small), "--out", str(d), "--seed", "2", "--force", "--record-every", "0")
    assert res.returncode == 0, res.stderr
    # Nothing of the first run is left: no trajectories for a later report to animate.
    assert sorted(p.name for p in d.iterdir()) == sorted(
        [RUN_MARKER, "coverage.parquet", "events.parquet", "scenario.yaml", "summary.json"]
    )
    assert json.loads((d / "summary.json").read_text())["seed"] == 2
    assert sorted(p.name for p in small.parent.iterdir()) == ["run", "small.yaml"]


def test_run_without_marker_is_recognised(tmp_path: Path) -> None:
    (tmp_path / "events.parquet").write_bytes(b"")
    (tmp_path / "summary.json").write_text(json.dumps({"scenario": "x", "seed": 1, "events": 0}))
    assert is_run_dir(tmp_path)
    (tmp_path / "manifest.json").write_text("{}")  # a study directory is not a run
    assert not is_run_dir(tmp_path)


def test_empty_existing_directory_is_fine(small: Path) -> None:
    d = small.parent / "empty"
    d.mkdir()
    res = sky("run", str(small), "--out", str(d))
    assert res.returncode == 0, res.stderr
    assert (d / "summary.json").is_file() and (d / RUN_MARKER).is_file()


def test_missing_parents_are_created(small: Path) -> None:
    d = small.parent / "a" / "b" / "run"
    assert sky("run", str(small), "--out", str(d)).returncode == 0
    assert (d / "events.parquet").is_file()


# --- checked before simulating ----------------------------------------------------------


@pytest.fixture()
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """`skydome run` in-process must fail before it simulates."""
    import skydome.engine

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("simulated before checking the output")

    monkeypatch.setattr(skydome.engine, "simulate", boom)


def run_in_process(*args: str) -> UserError:
    from skydome.cli import app

    with pytest.raises(UserError) as e:
        app(list(args), standalone_mode=False)
    assert "\n" not in str(e.value)
    return e.value


@pytest.mark.usefixtures("no_simulation")
def test_output_under_a_file_fails_before_simulating(small: Path) -> None:
    e = run_in_process("run", str(small), "--out", str(small / "sub"))
    assert str(small) in str(e) and "not a directory" in str(e)
    e = run_in_process("run", str(small), "--out", str(small))
    assert "not a directory" in str(e)


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs")
@pytest.mark.usefixtures("no_simulation")
def test_unwritable_parent_fails_before_simulating_even_as_root(small: Path) -> None:
    # sysfs refuses new files to everyone, root included.
    e = run_in_process("run", str(small), "--out", "/sys/skydome-test-run")
    assert "/sys/skydome-test-run" in str(e)
    assert not Path("/sys/skydome-test-run").exists()


def in_mount_namespace(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a shell script in a private mount namespace (its mounts vanish with it)."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount -t tmpfs none {cwd}"], capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip("cannot mount in a private namespace here")
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin:/sbin:/usr/sbin"},
    )


def test_read_only_filesystem_is_a_one_line_error(small: Path) -> None:
    ro = small.parent / "ro"
    ro.mkdir()
    cmd = " ".join(SKYDOME)
    res = in_mount_namespace(
        f"mount -t tmpfs -o ro none {ro} && {cmd} run {small} --out {ro}/run", small.parent
    )
    one_line_error(res, "Read-only file system")
    assert f"{ro}/run" in res.stderr


def test_mount_point_is_refused_before_simulating_and_a_directory_on_it_works(
    small: Path,
) -> None:
    mnt = small.parent / "mnt"
    mnt.mkdir()
    cmd = " ".join(SKYDOME)
    res = in_mount_namespace(
        f"mount -t tmpfs none {mnt} && {cmd} run {small} --out {mnt} --force; echo rc=$?; "
        f"{cmd} run {small} --out {mnt}/run1 && ls -A {mnt}/run1",
        small.parent,
    )
    assert "Traceback" not in res.stderr + res.stdout
    assert "mount point" in res.stderr and "rc=2" in res.stdout, res.stderr
    assert "summary.json" in res.stdout and RUN_MARKER in res.stdout, res.stderr


# --- one writer at a time ----------------------------------------------------------------


def test_second_writer_is_refused_while_the_first_holds_the_lock(small: Path) -> None:
    d = small.parent / "run"
    with staged_run_dir(d) as staging:
        res = sky("run", str(small), "--out", str(d))
        one_line_error(res, "another skydome run is writing")
        (staging.path / "summary.json").write_text(
            json.dumps({"scenario": "x", "seed": 0, "events": 0})
        )
        staging.commit()
    assert sorted(p.name for p in d.iterdir()) == [RUN_MARKER, "summary.json"]
    # The lock file goes with the lock.
    assert sorted(p.name for p in small.parent.iterdir()) == ["run", "small.yaml"]


def test_two_concurrent_runs_never_mix(small: Path) -> None:
    d = small.parent / "run"
    procs = [
        subprocess.Popen(
            [*SKYDOME, "run", str(small), "--out", str(d), "--seed", s],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        )
        for s in ("11", "12")
    ]
    results = [(p.wait(timeout=300), p.communicate()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    loser = next(err for rc, (_, err) in results if rc == 2)
    assert "Traceback" not in loser
    assert "another skydome run is writing" in loser or "--force" in loser
    seed = json.loads((d / "summary.json").read_text())["seed"]
    r = simulate(compile_scenario(parse_scenario(SMALL)), seed=seed, record_every_s=5.0)
    expected = small.parent / "expected"
    write_run(r, expected, scenario_text=SMALL)
    assert snapshot(d) == snapshot(expected)


def test_target_lock_is_exclusive_and_leaves_no_file(tmp_path: Path) -> None:
    t = tmp_path / "x"
    with target_lock(t, "busy"):
        with pytest.raises(UserError, match="busy"), target_lock(t, "busy"):
            pass
    assert list(tmp_path.iterdir()) == []
    with target_lock(t, "busy"):
        pass


# --- what a killed writer leaves ---------------------------------------------------------


def test_leftovers_of_dead_writers_are_removed_by_the_next_run(small: Path) -> None:
    parent = small.parent / "runs"
    parent.mkdir()
    dead = parent / ".run.skydome-tmp-999999-abc123"
    dead.mkdir()
    (dead / "events.parquet").write_bytes(b"half")
    dead_other = parent / ".other.skydome-old-999998-x_y"
    dead_other.mkdir()
    alive = parent / ".busy.skydome-tmp-1-zzz"
    alive.mkdir()
    with target_lock(parent / "busy", "busy"):  # a writer still at work
        res = sky("run", str(small), "--out", str(parent / "run"))
        assert res.returncode == 0, res.stderr
        assert sorted(p.name for p in parent.iterdir()) == [
            ".busy.lock",
            ".busy.skydome-tmp-1-zzz",
            "run",
        ]


def test_a_killed_run_leaves_nothing_the_next_run_keeps(tmp_path: Path) -> None:
    d = tmp_path / "run"
    p = subprocess.Popen(
        [*SKYDOME, "run", "default", "--out", str(d)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".run.skydome-tmp-*")):
            assert p.poll() is None, "finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    assert not d.exists()
    assert list(tmp_path.glob(".run.skydome-tmp-*"))  # what SIGKILL leaves
    small = tmp_path / "small.yaml"
    small.write_text(SMALL)
    assert sky("run", str(small), "--out", str(d)).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "small.yaml"]


# --- single files ------------------------------------------------------------------------


def test_write_atomic_file_fsyncs_and_replaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    f = tmp_path / "a.txt"
    f.write_text("old")
    write_atomic_file(f, "new")
    assert f.read_text() == "new" and synced
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_write_atomic_file_failure_is_one_line_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "a.txt"
    f.write_text("old")

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(UserError, match="No space left on device") as e:
        write_atomic_file(f, "new")
    assert "\n" not in str(e.value) and str(f) in str(e.value)
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"] and f.read_text() == "old"


@pytest.mark.parametrize(
    ("where", "needle"),
    [("missing/a.txt", "does not exist"), ("file/a.txt", "not a directory"), ("", "directory")],
    ids=["missing-dir", "under-a-file", "is-a-dir"],
)
def test_write_atomic_file_user_errors(tmp_path: Path, where: str, needle: str) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match=needle) as e:
        write_atomic_file(tmp_path / where, "text")
    assert "\n" not in str(e.value)


def test_write_atomic_file_removes_a_killed_writers_temp(tmp_path: Path) -> None:
    stale = tmp_path / ".a.txt.skydome-part-999999-abc"
    stale.write_text("half")
    write_atomic_file(tmp_path / "a.txt", "new")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_output_for_library_writers(tmp_path: Path) -> None:
    f = tmp_path / "t.parquet"
    with atomic_output(f) as tmp:
        pd.DataFrame({"a": [1, 2]}).to_parquet(tmp)
    assert pd.read_parquet(f)["a"].tolist() == [1, 2]
    with pytest.raises(RuntimeError), atomic_output(f) as tmp:
        tmp.write_text("half")
        raise RuntimeError("the writer failed")
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]
    assert pd.read_parquet(f)["a"].tolist() == [1, 2]


def test_write_atomic_dir_new_and_existing(tmp_path: Path) -> None:
    d = tmp_path / "figures"
    write_atomic_dir(d, lambda tmp: (tmp / "a.png").write_bytes(b"1"))
    write_atomic_dir(d, lambda tmp: (tmp / "b.png").write_bytes(b"2"))
    assert sorted(p.name for p in d.iterdir()) == ["a.png", "b.png"]

    def fail(tmp: Path) -> None:
        (tmp / "a.png").write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(UserError, match="No space left"):
        write_atomic_dir(d, fail)
    assert (d / "a.png").read_bytes() == b"1"
    assert [p.name for p in tmp_path.iterdir()] == ["figures"]


def test_init_refuses_a_directory_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").mkdir()
    one_line_error(sky("init", "default", "d.yaml", "--force", cwd=tmp_path), "directory")


# --- detections --------------------------------------------------------------------------


def test_recording_detections_changes_no_result() -> None:
    p = compile_scenario(parse_scenario(SMALL))
    a = simulate(p, seed=5)
    b = simulate(p, seed=5, record_detections=True)
    assert a.detections == () and len(b.detections) > 0
    for f in ("time_s", "kind", "threat_id", "track_id", "x_m"):
        np.testing.assert_array_equal(getattr(a.events, f), getattr(b.events, f))
    np.testing.assert_array_equal(a.kill_time_s, b.kill_time_s)


def test_detections_table_is_track_input_with_the_radars_sigmas() -> None:
    p = compile_scenario(parse_scenario(SMALL))
    r = simulate(p, seed=5, record_detections=True)
    t = detections_table(r)
    assert tuple(t.column_names) == DETECTION_COLUMNS
    df = validate_detections(t.to_pandas())
    assert len(df) == sum(d.n for d in r.detections)
    assert set(df["sensor"]) == {"r1"}
    # SMALL: 30 m and 1 mrad at the reference SNR; stronger echoes are measured better.
    assert 0 < df["sigma_range_m"].min() and df["sigma_range_m"].max() < 1e4
    assert df["threat_id"].between(0, 2).all()


def test_save_detections_feeds_skydome_track(small: Path) -> None:
    d = small.parent / "run"
    res = sky("run", str(small), "--out", str(d), "--save-detections")
    assert res.returncode == 0, res.stderr
    plain = small.parent / "plain"
    assert sky("run", str(small), "--out", str(plain)).returncode == 0
    assert not (plain / "detections.parquet").exists()
    for f in ("summary.json", "events.parquet", "trajectories.parquet", "tracks.parquet"):
        assert (d / f).read_bytes() == (plain / f).read_bytes(), f
    assert set(DETECTION_COLUMNS) <= set(pq.read_schema(d / "detections.parquet").names)
    out = small.parent / "t.parquet"
    res = sky("track", str(d / "detections.parquet"), "--out", str(out))
    assert res.returncode == 0, res.stderr
    tracks = pd.read_parquet(out)
    assert tracks.loc[tracks["confirmed"], "track_id"].nunique() >= 3  # SMALL: three jets


def test_record_every_that_would_not_fit_is_refused_before_simulating(tmp_path: Path) -> None:
    import yaml

    d = yaml.safe_load(SMALL)
    d["raids"][0]["count"] = 100_000
    d["run"].update(duration_s=3600, step_s=0.5)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(d))
    t0 = time.perf_counter()
    r = sky("run", "s.yaml", "--record-every", "0.5", "--out", "o", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "--record-every 0.5: 720,000,000 trajectory rows" in r.stderr
    assert "use --record-every 18 or more" in r.stderr
    assert time.perf_counter() - t0 < 60  # refused up front, not after an hour of simulation
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]
