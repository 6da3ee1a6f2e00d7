"""Studies (`skydome.study`): seeds, rows, executors, crash safety, sweeps, statistics.

Everything runs on tiny scenarios (one or a few threats, 40 simulated seconds,
about 6 ms a replication) so that the whole file stays well under a minute.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from skydome import compile_scenario, simulate
from skydome.errors import UserError
from skydome.results import events_table, summarize
from skydome.scenario import SimParams, parse_scenario
from skydome.seeding import replication_seed
from skydome.study import (
    MAX_CELLS,
    InlineExecutor,
    OptionError,
    StudyOptions,
    StudyPlan,
    cell_estimates,
    metric_columns,
    parse_setting,
    plan_study,
    replication_row,
    run_study,
)
from skydome.study import options as study_options
from skydome.study import runner as study_runner
from tests import cli

# Studies read the caller's environment (thread and Dask settings).
sky = functools.partial(cli.sky, inherit_env=True, timeout=120)

# One threat, one interceptor with Pk 0.7, salvo of one, a homing basket so wide
# that every shot is a Pk draw, and a radar that cannot miss the target: the
# probability that the raid is annihilated is exactly 0.7.
ONE_SHOT = """
name: one-shot
origin: {lat_deg: 0.0, lon_deg: 0.0}
run: {duration_s: 40, step_s: 4.0, seed: 3}
assets:
  - {name: base, position: {east_km: 0, north_km: 0}, value: 10, defended_radius_km: 5}
radars:
  - name: r1
    position: {east_km: 0, north_km: 0}
    mast_height_m: 20
    detection_range_km: 300
    reference_rcs_m2: 1
    reference_pd: 0.99
    max_range_km: 300
    sigma_range_m: 30
    sigma_azimuth_mrad: 1
    sigma_elevation_mrad: 1
    scan_period_s: 4
missiles:
  m1:
    min_range_km: 1
    max_range_km: 120
    max_altitude_km: 25
    average_speed_mps: 1000
    max_target_speed_mps: 3000
    pk: 0.7
    homing_basket_m: 50000
batteries:
  - name: b1
    position: {east_km: 0, north_km: 0}
    launchers: 1
    load: {m1: 1}
    fire_channels: {targets: 4, missiles: 8}
    reaction_time_s: 2
doctrine: {salvo_size: 1}
raids:
  - name: jet
    type: aircraft
    count: 1
    target: base
    launch_spread_s: 10
    rcs_m2: 10
    speed_mps: 300
    lateral_spacing_km: 1
    route:
      - {east_km: -25, north_km: 0, altitude_m: 5000}
      - {east_km: 0, north_km: 0, altitude_m: 3000}
"""


def write_scenario(path: Path, text: str = ONE_SHOT, **changes: Any) -> Path:
    """Write the scenario, with dotted-path changes (`raids.0.count=3` as raids__0__count)."""
    data = yaml.safe_load(text)
    for key, value in changes.items():
        node: Any = data
        parts = key.split("__")
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node[p]
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def one_shot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scenario(tmp_path_factory.mktemp("scen") / "one-shot.yaml")


@pytest.fixture(scope="module")
def few(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three threats, two missiles: misses and kills both happen.

    The jets fly 5 km apart: 1 km apart, each appearing where the one ahead was a
    scan earlier, their plots alias (a track pairs one jet's plot with the next
    one's), and with kills only of the threat a missile is guided on none is killed.
    """
    return write_scenario(
        tmp_path_factory.mktemp("scen") / "few.yaml", raids__0__count=3,
        batteries__0__launchers=2, raids__0__lateral_spacing_km=5,
    )  # fmt: skip


def where(table: pa.Table, column: str, value: int) -> pa.Table:
    """The rows whose `column` equals `value`."""
    return table.filter(pa.array(table.column(column).to_numpy() == value))


def rows_of(table: pa.Table) -> pa.Table:
    """Everything but wall time, the one column that may differ between runs."""
    return table.drop_columns(["wall_s"])


# --------------------------------------------------------------------------- seeds and rows


def test_replication_seed_is_the_spawned_seed_sequence() -> None:
    children = np.random.SeedSequence(42).spawn(5)
    for i, child in enumerate(children):
        expected = int(child.generate_state(1, np.uint64)[0]) >> 1
        assert replication_seed(42, i) == expected
    seeds = [replication_seed(42, i) for i in range(1000)]
    assert len(set(seeds)) == 1000
    assert all(0 <= s < 2**63 for s in seeds)
    assert replication_seed(43, 0) != replication_seed(42, 0)
    with pytest.raises(ValueError):
        replication_seed(-1, 0)


def test_row_has_exactly_the_declared_columns(default_params: SimParams) -> None:
    summary = summarize(simulate(default_params, seed=11))
    row = replication_row(summary)
    assert list(row) == [c for c, _ in metric_columns(default_params)]
    assert row["killed"] == summary["threats"]["killed"]
    assert row["fired"] == sum(row[f"fired.{m}"] for m in default_params.missiles.names)
    assert row["killed"] == sum(row[f"killed.{t}"] for t in default_params.threats.type_names)
    assert row["kill_fraction"] == pytest.approx(row["killed"] / row["threats"])
    value = default_params.assets.value
    dmg = np.array([row[f"damage.{a}"] for a in default_params.assets.names])
    assert row["damage"] == pytest.approx(float((dmg * value).sum() / value.sum()), abs=1e-6)


def test_study_rows_are_simulate_on_the_replication_seeds(one_shot: Path) -> None:
    plan = plan_study(one_shot, seed=5)
    res = run_study(plan, StudyOptions(n=6, jobs=1))
    params = compile_scenario(plan.cells[0].scenario)
    for r in res.table.to_pylist():
        assert r["seed"] == replication_seed(5, r["replication"])
        again = replication_row(summarize(simulate(params, seed=r["seed"])))
        assert {k: r[k] for k in again} == again
    assert res.table.column("replication").to_pylist() == list(range(6))
    assert "cell" not in res.table.column_names


def test_results_do_not_depend_on_jobs_chunks_or_executor(few: Path) -> None:
    plan = plan_study(few, seed=9)
    ref = rows_of(run_study(plan, StudyOptions(n=40, jobs=1)).table)
    two = run_study(plan, StudyOptions(n=40, jobs=2))
    assert two.workers == 2 and "local processes" in two.executor
    assert rows_of(two.table).equals(ref)
    assert rows_of(run_study(plan, StudyOptions(n=40, jobs=1, chunk_size=7)).table).equals(ref)
    with InlineExecutor() as ex:
        assert rows_of(run_study(plan, StudyOptions(n=40, executor=ex)).table).equals(ref)
    # A study of 40 is the first 40 rows of a study of 60: seeds depend on the index only.
    assert rows_of(run_study(plan, StudyOptions(n=60, jobs=1)).table).slice(0, 40).equals(ref)


def test_options_are_checked_once_and_name_fields_not_flags(one_shot: Path, tmp_path: Path) -> None:
    plan = plan_study(one_shot)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"jobs": 0}, "^jobs: expected at least 1"),
        ({"jobs": 2, "scheduler": "tcp://x:1"}, "at most one"),
        ({"chunk_size": 0}, "^chunk_size: "),
        ({"until_ci": -0.1}, "^until_ci: "),
        ({"confidence": 1.0}, "^confidence: "),
        ({"resume": True}, "^resume: needs the study directory"),
        ({"n": 0}, "^n: expected at least 1"),
    ]
    for kwargs, msg in bad:
        with pytest.raises(OptionError, match=msg) as e:
            StudyOptions(**{"n": 3, **kwargs})
        assert "--" not in str(e.value)
    options = StudyOptions(n=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.n = 4  # type: ignore[misc]
    with pytest.raises(OptionError, match="^ci_metric: unknown metric 'nope'"):
        run_study(plan, StudyOptions(n=3, until_ci=0.1, ci_metric="nope"))
    with pytest.raises(OptionError, match="^n: give the number"):
        run_study(plan, StudyOptions(out_dir=tmp_path / "x"))
    with pytest.raises(OptionError, match="^seed: "):
        plan_study(one_shot, seed=-1)


def test_counts_that_start_processes_or_hold_rows_are_bounded(
    one_shot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--jobs 10000` used to start 10,000 processes: now refused before any starts."""
    monkeypatch.setattr(study_options, "default_jobs", lambda: 2)
    assert study_options.max_jobs() == 8
    started: list[int] = []
    monkeypatch.setattr(study_runner, "local_backend", lambda work, jobs: started.append(jobs))
    plan = plan_study(one_shot)
    with pytest.raises(OptionError, match=r"^jobs 10,000: at most 8 local processes \(4 per CPU"):
        run_study(plan, StudyOptions(n=3, jobs=10_000))
    with pytest.raises(OptionError, match="jobs 9: at most 8"):
        StudyOptions(jobs=9)
    StudyOptions(n=10, jobs=8).check_counts(cells=3)
    with pytest.raises(OptionError, match=r"^n 10,000,001: 10,000,001 replications; at most"):
        run_study(plan, StudyOptions(n=10_000_001))
    with pytest.raises(OptionError, match=r"30,000,000 replications \(3 cells x 10,000,000\)"):
        StudyOptions(n=10_000_000).check_counts(cells=3)
    assert started == []


# --------------------------------------------------------------------------- statistics


def test_kill_probability_interval_covers_the_known_pk(one_shot: Path) -> None:
    """100 independent studies of 20 replications: the 95 % Wilson interval of
    P(raid annihilated) = Pk = 0.7 must cover 0.7 in at least 93 of them.

    The exact coverage of the Wilson interval at n = 20, p = 0.7 is 0.975
    (tests/test_stats.py), so a correct simulator fails this with probability
    0.4 %; a wrong Pk, a missing shot or a Wald interval would fail it.
    """
    covered = 0
    kills = 0
    # Any concurrent.futures executor will do; one pool serves the 100 studies.
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = [
            run_study(plan_study(one_shot, seed=study_seed), StudyOptions(n=20, executor=pool))
            for study_seed in range(100)
        ]
    for res in results:
        est = res.estimates[0]["p_raid_annihilated"]
        assert est.method == "wilson" and est.n == 20
        covered += est.lo <= 0.7 <= est.hi
        kills += int(res.table.column("killed").to_numpy().sum())
        assert set(res.table.column("fired").to_pylist()) == {1}
    assert covered >= 93, covered
    # 2000 Bernoulli(0.7) draws: the pooled estimate is within 4 sigma (0.041).
    assert abs(kills / 2000 - 0.7) < 0.041


def test_one_registry_types_labels_and_estimates_every_metric(
    default_params: SimParams,
) -> None:
    """Columns, summary keys, estimators and labels all come from `skydome.study.metrics`."""
    from skydome.study import COLUMN_METRICS, SUMMARY_METRICS, label

    cols = metric_columns(default_params)
    assert [c for c, _ in cols[:2]] == ["threats", "killed"]
    assert ("fired.40N6-class", pa.int64()) in cols
    for name, _ in cols:
        assert label(name) != name, name  # every column, families included, is labelled
    assert label("fired.40N6-class") == "missiles fired: 40N6-class"
    by_name = {m.name: m for m in (*SUMMARY_METRICS, *COLUMN_METRICS)}
    rows = [replication_row(summarize(simulate(default_params, seed=1)))] * 2
    est = cell_estimates(rows, [c for c, _ in cols])
    assert list(est)[:3] == [m.name for m in SUMMARY_METRICS]
    for name, e in est.items():
        m = by_name.get(name) or by_name[name.partition(".")[0] + ".{}"]
        assert e.method == m.estimator, name
    assert "threats" not in est  # a column the registry does not summarise


def test_summary_metrics(few: Path) -> None:
    plan = plan_study(few, seed=1)
    res = run_study(plan, StudyOptions(n=30, jobs=1))
    est = res.estimates[0]
    t = res.table
    leaked = t.column("leaked").to_numpy()
    killed = t.column("killed").to_numpy()
    fired = t.column("fired").to_numpy()
    assert est["p_no_leaker"].estimate == pytest.approx(np.mean(leaked == 0))
    assert est["p_raid_annihilated"].estimate == pytest.approx(np.mean(killed == 3))
    assert est["leaked"].estimate == pytest.approx(leaked.mean())
    assert est["missiles_per_kill"].estimate == pytest.approx(fired.sum() / killed.sum())
    assert est["leaked"].lo <= leaked.mean() <= est["leaked"].hi
    assert "threats" not in est
    s = res.summary
    assert s["replications"] == 30 and s["seed"] == 1 and s["study"] == "mc"
    m = s["cells"][0]["metrics"]["p_no_leaker"]
    assert m["method"] == "wilson" and m["n"] == 30
    assert cell_estimates(t.to_pylist(), ["leaked"])["leaked"] == est["leaked"]


def test_until_ci_adds_replications_until_the_interval_is_narrow(one_shot: Path) -> None:
    plan = plan_study(one_shot, seed=4)
    metric = "p_raid_annihilated"
    res = run_study(plan, StudyOptions(n=5000, jobs=1, until_ci=0.15, ci_metric=metric))
    est = res.estimates[0][metric]
    assert est.width <= 0.15
    stop = res.summary["stopping"]
    assert stop["reached"] and stop["metric"] == metric and stop["until_ci"] == 0.15
    # For p near 0.7 a 0.15-wide interval needs about 145 replications: it neither
    # stopped at the first look (100 were not enough) nor overshot far.
    assert 100 < res.n < 250
    first_100 = res.table.slice(0, 100).to_pylist()
    assert cell_estimates(first_100, [])[metric].width > 0.15
    # With a cap below the need, the cap wins and the summary says so.
    capped = run_study(plan, StudyOptions(n=120, jobs=1, until_ci=0.01))
    assert capped.n == 120 and capped.summary["stopping"]["reached"] is False
    # The stopping point is a function of the rows, not of timing: the same with J = 2.
    again = run_study(plan, StudyOptions(n=5000, jobs=2, until_ci=0.15, ci_metric=metric))
    assert rows_of(again.table).equals(rows_of(res.table))


# --------------------------------------------------------------------------- study directory


def test_directory_layout_and_files(few: Path, tmp_path: Path) -> None:
    plan = plan_study(few, seed=2)
    out = tmp_path / "study"
    res = run_study(plan, StudyOptions(n=12, jobs=1, out_dir=out, events=True))
    assert {p.name for p in out.iterdir()} >= {
        "manifest.json", "parts", "replications.parquet", "summary.json", "summary.parquet",
        "events.parquet",
    }  # fmt: skip
    assert rows_of(pq.read_table(out / "replications.parquet")).equals(rows_of(res.table))
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(res.summary))
    m = json.loads((out / "manifest.json").read_text())
    assert m["seed"] == 2 and m["n"] == 12 and m["events"] is True and m["study"] == "mc"
    summ = pq.read_table(out / "summary.parquet")
    assert set(summ.column_names) == {"metric", "estimate", "lo", "hi", "n", "method"}
    # Events: the events of replication i are those of `skydome run --seed SEED_i`.
    ev = pq.read_table(out / "events.parquet")
    assert ev.column_names[0] == "replication"
    reps = ev.column("replication").to_numpy()
    assert np.all(np.diff(reps) >= 0) and set(reps.tolist()) <= set(range(12))
    params = plan.cells[0].params
    for i in (0, 7):
        own = where(ev, "replication", i).drop_columns(["replication"])
        assert own.equals(events_table(simulate(params, seed=replication_seed(2, i))))


def test_existing_directory_needs_resume_and_a_matching_study(few: Path, tmp_path: Path) -> None:
    out = tmp_path / "s"
    plan = plan_study(few, seed=3)
    first = run_study(plan, StudyOptions(n=10, jobs=1, out_dir=out))
    before = (out / "replications.parquet").read_bytes()
    with pytest.raises(UserError, match="not empty.*--resume"):
        run_study(plan, StudyOptions(n=10, jobs=1, out_dir=out))
    with pytest.raises(UserError, match=r"different study(.|\n)*seed: 3 in the directory, 4 now"):
        run_study(plan_study(few, seed=4), StudyOptions(n=10, jobs=1, out_dir=out, resume=True))
    changed = write_scenario(
        few.parent / "few-changed.yaml",
        yaml.safe_dump(yaml.safe_load(few.read_text())),
        missiles__m1__pk=0.5,
    )
    with pytest.raises(UserError, match="scenario content"):
        run_study(plan_study(changed, seed=3), StudyOptions(n=10, jobs=1, out_dir=out, resume=True))
    with pytest.raises(UserError, match="--events"):
        run_study(plan, StudyOptions(n=10, jobs=1, out_dir=out, resume=True, events=True))
    assert (out / "replications.parquet").read_bytes() == before
    # Resuming a finished study runs nothing and gives the same table.
    again = run_study(plan, StudyOptions(jobs=1, out_dir=out, resume=True))
    assert again.ran == 0 and again.reused == 10 and again.n == 10
    assert rows_of(again.table).equals(rows_of(first.table))
    # A larger -n extends it: the table equals a fresh study of that size.
    more = run_study(plan, StudyOptions(n=25, jobs=2, out_dir=out, resume=True))
    assert more.ran == 15 and more.reused == 10
    assert rows_of(more.table).equals(rows_of(run_study(plan, StudyOptions(n=25, jobs=1)).table))
    assert json.loads((out / "manifest.json").read_text())["n"] == 25
    # Not a study directory at all.
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not a skydome study directory"):
        run_study(plan, StudyOptions(n=5, out_dir=junk, resume=True))


def test_resume_discards_leftovers_of_an_interrupted_write(few: Path, tmp_path: Path) -> None:
    out = tmp_path / "s"
    plan = plan_study(few, seed=6)
    ref = run_study(plan, StudyOptions(n=20, jobs=1, out_dir=out, events=True, chunk_size=4))
    parts = sorted((out / "parts").glob("part-*.parquet"))
    assert len(parts) == 5
    # A crash between the events part and its rows part: the events are orphans.
    parts[2].unlink()
    # A crash in the middle of writing a part: a temporary file.
    (out / "parts" / ".part-000009.parquet.tmp").write_bytes(b"PAR1 half a file")
    # A damaged part (bad disk, hand edit) is set aside and its replications rerun.
    parts[4].write_bytes(b"not parquet")
    for f in ("replications.parquet", "summary.json", "events.parquet"):
        (out / f).unlink()
    res = run_study(plan, StudyOptions(n=20, jobs=1, out_dir=out, events=True, resume=True))
    assert res.ran == 8 and res.reused == 12
    assert rows_of(res.table).equals(rows_of(ref.table))
    assert not list((out / "parts").glob(".*.tmp"))
    assert list((out / "parts").glob("*.damaged"))
    ev = pq.read_table(out / "events.parquet")
    assert ev.column("replication").to_pylist() == sorted(ev.column("replication").to_pylist())
    assert len(ev.column("replication").unique()) == 20


def test_one_study_at_a_time_per_directory(one_shot: Path, tmp_path: Path) -> None:
    import fcntl

    out = tmp_path / "s"
    plan = plan_study(one_shot)
    run_study(plan, StudyOptions(n=2, jobs=1, out_dir=out))
    fd = os.open(out.parent / f".{out.name}.lock", os.O_CREAT | os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(UserError, match="another skydome study is running"):
            run_study(plan, StudyOptions(n=4, jobs=1, out_dir=out, resume=True))
    finally:
        os.close(fd)


def test_sigkill_then_resume_equals_an_uninterrupted_study(one_shot: Path, tmp_path: Path) -> None:
    """kill -9 of a running study (the whole process group: CLI and workers), then --resume."""
    out = tmp_path / "killed"
    args = ["mc", str(one_shot), "-n", "300", "--seed", "21", "-j", "2", "--chunk-size", "4"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "skydome", *args, "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not list((out / "parts").glob("part-*.parquet")) if out.exists() else True:
            assert proc.poll() is None, "the study ended before it could be killed"
            assert time.monotonic() < deadline, "no part file appeared"
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "replications.parquet").exists()
    saved = sum(pq.read_metadata(p).num_rows for p in (out / "parts").glob("part-*.parquet"))
    assert 0 < saved < 300

    res = sky(*args, "--out", str(out), "--resume")
    assert res.returncode == 0, res.stderr
    assert "found on disk" in res.stdout
    resumed = pq.read_table(out / "replications.parquet")
    assert resumed.column("replication").to_pylist() == list(range(300))
    plan = plan_study(one_shot, seed=21)
    assert rows_of(resumed).equals(rows_of(run_study(plan, StudyOptions(n=300, jobs=1)).table))


# --------------------------------------------------------------------------- sweeps


def test_parse_setting() -> None:
    s = parse_setting("batteries.0.launchers=4,8,12")
    assert s.path == "batteries.0.launchers" and s.values == (4, 8, 12)
    assert parse_setting("missiles.40N6-class.pk=0.6, 0.8").values == (0.6, 0.8)
    assert parse_setting("doctrine.engage_order=range,time_to_go").values == ("range", "time_to_go")
    assert parse_setting("x.route=[1,2],[3,4]").values == ([1, 2], [3, 4])
    assert parse_setting("a.name='x,y',z").values == ("x,y", "z")
    for bad, msg in [
        ("launchers", "expected PATH=VALUE"),
        ("a..b=1", "empty field name"),
        ("a.b=1,,2", "empty value"),
        ("a.b=", "empty value"),
        ("run.seed=1,2", "--seed"),
    ]:
        with pytest.raises(UserError, match=msg):
            parse_setting(bad)


def test_sweep_grid_with_common_random_numbers(few: Path) -> None:
    plan = plan_study(
        few, ["batteries.b1.launchers=1,2", "raids.0.count=1,3", "missiles.m1.pk=0.5,1"], seed=8
    )
    assert len(plan.cells) == 8
    assert [c.values for c in plan.cells[:3]] == [(1, 1, 0.5), (1, 1, 1), (1, 3, 0.5)]
    res = run_study(plan, StudyOptions(n=15, jobs=2))
    t = res.table
    assert t.column_names[:6] == [
        "cell", "batteries.b1.launchers", "raids.0.count", "missiles.m1.pk", "replication", "seed",
    ]  # fmt: skip
    assert t.num_rows == 8 * 15
    assert t.schema.field("missiles.m1.pk").type == pa.float64()
    assert t.schema.field("raids.0.count").type == pa.int64()
    # Common random numbers: replication i has the same seed in every cell.
    seeds = np.array(t.column("seed").to_pylist()).reshape(8, 15)
    assert (seeds == seeds[0]).all()
    # Each cell's rows are a plain study of that cell's scenario.
    for c in (0, 5):
        cell = plan.cells[c]
        alone = run_study(plan_study(cell.scenario, seed=8), StudyOptions(n=15, jobs=1)).table
        mine = where(t, "cell", c).drop_columns(["cell", *(s.path for s in plan.settings)])
        assert rows_of(mine).equals(rows_of(alone))
    # The design shows: with Pk 1 and enough missiles every single threat dies.
    sure = res.estimates[plan.cells.index(next(c for c in plan.cells if c.values == (2, 1, 1)))]
    assert sure["p_raid_annihilated"].estimate == 1.0
    assert res.summary["study"] == "sweep"
    assert res.summary["cells"][3]["values"] == {
        "batteries.b1.launchers": 1, "raids.0.count": 3, "missiles.m1.pk": 1,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("batteries.3.launchers=4", "index 3 is out of range: batteries has 1 item"),
        ("batteries.nope.launchers=4", "no item named 'nope'"),
        ("batteries.0.launchers=4,-1", "value -1.*batteries\\[0\\].launchers"),
        ("batteries.0.lanchers=4", "batteries\\[0\\].lanchers: unknown field"),
        ("missiles.m1.pk=0.5,1.5", "value 1.5.*missiles.m1.pk"),
        ("missiles.m1.pk.x=1", "is a value \\(0.7\\), not a section"),
        ("raids.0.target=base,depot", "asset 'depot' not found"),
        ("missiles.m1.max_range_km=0.5", "max_range_km=0.5 .*min_range_km must be below"),
    ],
    ids=["index", "name", "bound", "typo", "pk", "into-value", "cross-ref", "model-check"],
)
def test_bad_settings_fail_before_anything_runs(few: Path, setting: str, message: str) -> None:
    with pytest.raises(UserError, match="(?s)" + message) as e:
        plan_study(few, [setting])
    assert "--set" in str(e.value)


def test_huge_grids_are_refused_before_planning(few: Path) -> None:
    """A grid's size is known from the --set values alone: refused before any cell is built."""
    many = ",".join(str(i) for i in range(1, 201))
    with pytest.raises(UserError, match=r"the grid has 40,000 cells \(200 x 200 values\)"):
        plan_study(few, [f"batteries.0.launchers={many}", f"raids.0.count={many}"])
    too_many = ",".join(["1"] * (MAX_CELLS + 1))
    with pytest.raises(UserError, match="10,001 values; at most 10,000 cells"):
        parse_setting(f"raids.0.count={too_many}")


def test_planning_reports_progress_per_cell(few: Path) -> None:
    seen: list[tuple[int, int]] = []
    plan = plan_study(
        few,
        ["batteries.0.launchers=1,2", "raids.0.count=1,2,3"],
        progress=lambda done, total: seen.append((done, total)),
    )
    assert len(plan.cells) == 6
    assert seen == [(i, 6) for i in range(7)]


def test_sweep_settings_cannot_repeat(few: Path) -> None:
    with pytest.raises(UserError, match=r"raids\[0\].count, already swept by --set raids.0"):
        plan_study(few, ["raids.0.count=1,2", "raids.jet.count=3"])


# --------------------------------------------------------------------------- the command


def test_cli_mc_and_rerun_of_one_row(few: Path, tmp_path: Path) -> None:
    out = tmp_path / "mc"
    res = sky("mc", str(few), "-n", "8", "--seed", "12", "-j", "1", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "P(no leaker)" in res.stdout and "missiles per kill" in res.stdout
    assert "ran 8 replications" in res.stdout
    row = pq.read_table(out / "replications.parquet").to_pylist()[5]
    # The seed column re-runs that replication with `skydome run`.
    again = sky("run", str(few), "--seed", str(row["seed"]), "--out", str(tmp_path / "one"))
    assert again.returncode == 0, again.stderr
    s = json.loads((tmp_path / "one" / "summary.json").read_text())
    assert s["threats"]["killed"] == row["killed"]
    assert s["threats"]["leaked"] == row["leaked"]
    assert s["missiles"]["fired"] == row["fired"]
    assert s["first_launch_s"] == row["first_launch_s"]
    # Running again into the same directory is an error, exit 2, nothing touched.
    before = (out / "replications.parquet").read_bytes()
    res = sky("mc", str(few), "-n", "8", "--out", str(out))
    assert res.returncode == 2 and "--resume" in res.stderr and "Traceback" not in res.stderr
    assert (out / "replications.parquet").read_bytes() == before


def test_cli_sweep_and_its_errors(few: Path, tmp_path: Path) -> None:
    out = tmp_path / "sw"
    bad = sky("sweep", str(few), "--set", "batteries.0.launchers=1,x", "-n", "3", "--out", str(out))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "--set batteries.0.launchers=1,x" in bad.stderr and not out.exists()
    none = sky("sweep", str(few), "-n", "3", "--out", str(out))
    assert none.returncode == 2 and "--set" in none.stderr
    res = sky(
        "sweep", str(few), "--set", "batteries.0.launchers=1,2", "--set", "raids.0.count=1,3",
        "-n", "4", "-j", "1", "--out", str(out),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "4 cells x 4 replications" in res.stdout
    t = pq.read_table(out / "replications.parquet")
    assert t.num_rows == 16
    assert t.column("batteries.0.launchers").to_pylist() == [1] * 8 + [2] * 8
    # Each cell's scenario is kept: `skydome run cells/cell-0003.yaml --seed SEED` re-runs a row.
    cell3 = parse_scenario((out / "cells" / "cell-0003.yaml").read_text())
    assert cell3.batteries[0].launchers == 2 and cell3.raids[0].count == 3
    row = where(t, "cell", 3).to_pylist()[1]
    again = replication_row(summarize(simulate(compile_scenario(cell3), seed=row["seed"])))
    assert {k: row[k] for k in again} == again


def test_cli_unreachable_scheduler_is_a_clear_error(one_shot: Path, tmp_path: Path) -> None:
    out = tmp_path / "d"
    t0 = time.monotonic()
    res = sky(
        "mc", str(one_shot), "-n", "3", "--scheduler", "tcp://127.0.0.1:9",
        "--connect-timeout", "1", "--out", str(out),
    )  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert "cannot reach a Dask scheduler" in res.stderr and "Traceback" not in res.stderr
    assert time.monotonic() - t0 < 30
    assert not out.exists()


# --------------------------------------------------------------------------- Dask


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c


def test_dask_cluster_gives_the_local_results(cluster: Any, few: Path, tmp_path: Path) -> None:
    plan = plan_study(few, ["missiles.m1.pk=0.5,0.9"], seed=13)
    local = run_study(plan, StudyOptions(n=20, jobs=2))
    remote = run_study(
        plan,
        StudyOptions(
            n=20, scheduler=cluster.scheduler_address, out_dir=tmp_path / "d", events=True
        ),
    )
    assert remote.executor.startswith("Dask cluster") and remote.workers == 2
    assert rows_of(remote.table).equals(rows_of(local.table))
    assert pq.read_table(tmp_path / "d" / "events.parquet").num_rows > 0


def test_dask_study_resumes_locally_and_vice_versa(
    cluster: Any, one_shot: Path, tmp_path: Path
) -> None:
    plan = plan_study(one_shot, seed=14)
    out = tmp_path / "s"
    run_study(plan, StudyOptions(n=30, jobs=1, out_dir=out))
    more = run_study(
        plan, StudyOptions(n=60, scheduler=cluster.scheduler_address, out_dir=out, resume=True)
    )
    assert more.ran == 30 and more.reused == 30
    assert rows_of(more.table).equals(rows_of(run_study(plan, StudyOptions(n=60, jobs=2)).table))


def test_plan_is_validated_once_and_is_immutable(one_shot: Path) -> None:
    plan = plan_study(one_shot)
    assert isinstance(plan, StudyPlan) and not plan.is_sweep
    with pytest.raises(AttributeError):
        plan.seed = 1  # type: ignore[misc]
    assert plan.digest == plan_study(str(one_shot)).digest
    reformatted = yaml.safe_dump(yaml.safe_load(ONE_SHOT), sort_keys=True, indent=4)
    assert plan.digest == plan_study(parse_scenario(reformatted)).digest
