"""`simulate_batch`: every replication of a batch is its single run, byte for byte.

The oracle is `simulate` itself: a batch of R seeds must give, for each seed,
the events table (as Parquet bytes), the summary and every per-threat outcome
the single run gives. Scenarios are cut short (the raids are under way, missiles
fly, kill, miss and leak) to keep the file fast; `benchmarks/bench_batch.py`
and `tools/compare_runs.py` run them whole.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from skydome.engine import RunResult, simulate
from skydome.engine.batch import auto_batch_size, simulate_batch, unbatched_reason
from skydome.engine.batch_step import BatchEventLog, kernels
from skydome.engine.stages import default_pipeline
from skydome.events import EventLog
from skydome.results import events_table, summarize
from skydome.scenario import builtin_text, compile_scenario, load_scenario
from skydome.scenario.compile import SimParams
from skydome.study import StudyOptions, plan_study, run_study
from tests.cli import sky


def _params(name: str, flyout: str = "kinematic", duration_s: float | None = None) -> SimParams:
    s = load_scenario(name)
    run = {"flyout": flyout} | ({} if duration_s is None else {"duration_s": duration_s})
    return compile_scenario(s.model_copy(update={"run": s.run.model_copy(update=run)}))


def _parquet(r: RunResult) -> bytes:
    buf = io.BytesIO()
    pq.write_table(events_table(r), buf)
    return buf.getvalue()


def assert_same_run(a: RunResult, b: RunResult) -> None:
    """Two runs agree byte for byte: events, summary and per-threat outcomes."""
    assert a.seed == b.seed
    assert a.events.n == b.events.n
    assert _parquet(a) == _parquet(b)
    assert json.dumps(summarize(a), sort_keys=True) == json.dumps(summarize(b), sort_keys=True)
    for name in (
        "kill_time_s", "leak_time_s", "first_detect_s", "first_track_s", "engaged",
        "inventory_end", "asset_value_end",
    ):  # fmt: skip
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and x.dtype == y.dtype, name
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name


CASES = [
    ("default", "kinematic", 900.0, (1, 2, 3, 4, 5)),
    ("default", "guided", 700.0, (11, 12, 13)),
    ("saturation", "kinematic", 500.0, (7, 8, 9)),
    ("saturation", "guided", 400.0, (21, 22)),
]


@pytest.mark.parametrize(("name", "flyout", "duration", "seeds"), CASES)
def test_each_replication_of_a_batch_is_its_single_run(
    name: str, flyout: str, duration: float, seeds: tuple[int, ...]
) -> None:
    params = _params(name, flyout, duration)
    pipe = default_pipeline(params)
    assert unbatched_reason(pipe) is None  # these are stepped together, not one by one
    batch = simulate_batch(params, seeds, pipeline=pipe)
    assert [r.seed for r in batch] == list(seeds)
    for r in batch:
        assert_same_run(r, simulate(params, seed=r.seed, pipeline=pipe))
    # The runs did something: launches, kills and misses in every replication.
    for r in batch:
        kinds = set(r.events.kind.tolist())
        assert {3, 4, 5} <= kinds, kinds  # launch, kill, miss
    # Different seeds, different runs (the streams are the replication's own).
    assert len({_parquet(r) for r in batch}) == len(seeds)


def test_a_batch_does_not_depend_on_its_size_or_order() -> None:
    params = _params("default", "kinematic", 600.0)
    seeds = [31, 32, 33, 34]
    whole = simulate_batch(params, seeds)
    rev = simulate_batch(params, seeds[::-1])[::-1]
    one = simulate_batch(params, seeds[1:2])
    dup = simulate_batch(params, [seeds[0], seeds[0]])
    for a, b in zip(whole, rev, strict=True):
        assert_same_run(a, b)
    assert_same_run(one[0], whole[1])
    assert_same_run(dup[0], dup[1])
    assert_same_run(dup[0], whole[0])
    assert simulate_batch(params, []) == []


def test_scenarios_the_batch_does_not_cover_run_one_by_one_with_the_same_results() -> None:
    params = _params("sead", "kinematic", 400.0)
    pipe = default_pipeline(params)
    assert unbatched_reason(pipe) is not None
    assert auto_batch_size(params) == 1
    for r in simulate_batch(params, [5, 6], pipeline=pipe):
        assert_same_run(r, simulate(params, seed=r.seed, pipeline=pipe))


def test_the_batch_log_splits_into_each_replications_sorted_log() -> None:
    rng = np.random.default_rng(0)
    log = BatchEventLog.new()
    singles = [EventLog() for _ in range(3)]
    for _ in range(40):
        k = int(rng.integers(3))
        n = int(rng.integers(0, 4))
        t = rng.integers(0, 5, n).astype(float)  # ties: the order of adds decides
        cols: dict[str, Any] = {
            "threat_id": rng.integers(0, 3, n),
            "battery": rng.integers(0, 9, n),
        }
        kind = ["detect", "launch", "reload"][int(rng.integers(3))]
        log.add(kind, t, rep=k, n=n, **cols)
        singles[k].add(kind, t, n=n, **cols)
    for k, ev in enumerate(log.split(3)):
        ref = singles[k].finish()
        for name in ("time_s", "kind", "threat_id", "battery", "x_m"):
            assert np.array_equal(getattr(ev, name), getattr(ref, name), equal_nan=True)


def test_automatic_batches_are_bounded_by_memory() -> None:
    from skydome.engine.batch import _BATCH_MEMORY_BYTES, AUTO_BATCH_MAX, replication_bytes

    default, saturation = _params("default"), _params("saturation")
    assert auto_batch_size(default) == AUTO_BATCH_MAX  # 60 threats: 256 fit
    assert 1 < auto_batch_size(saturation) <= auto_batch_size(default)
    assert auto_batch_size(saturation) * replication_bytes(saturation) <= _BATCH_MEMORY_BYTES


def test_study_rows_do_not_depend_on_the_batch(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    d = yaml.safe_load(builtin_text("default"))
    d["run"]["duration_s"] = 750.0  # (the last raid launches at 720 s)
    path.write_text(yaml.safe_dump(d))
    plan = plan_study(path, seed=4)

    def rows(**kw: Any) -> Any:
        t = run_study(plan, StudyOptions(n=5, jobs=1, **kw)).table
        return t.drop(["wall_s"])

    one = rows(batch=1)
    assert int(one.column("killed").to_numpy().sum()) > 0  # the runs engaged
    assert rows(batch=4).equals(one)  # batches of 4 and 1
    assert rows().equals(one)  # automatic
    assert rows(batch=3, chunk_size=5).equals(one)  # a chunk of 5: batches of 3 and 2


def test_batch_option_is_checked(tmp_path: Path) -> None:
    res = sky("mc", "default", "-n", "2", "--batch", "0", "--out", str(tmp_path / "s"))
    assert res.returncode == 2
    assert "--batch: expected 1 to 4096, got 0" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "s").exists()


class _Wrapped:
    """A stage the batched kernels do not know: every call goes to the built-in one."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.parametrize("flyout", ["kinematic", "guided"])
def test_stages_without_a_batched_kernel_run_per_replication_inside_the_batch(
    flyout: str,
) -> None:
    params = _params("default", flyout, 500.0)
    base = default_pipeline(params)
    pipe = replace(
        base,
        sensor=_Wrapped(base.sensor),
        tracker=_Wrapped(base.tracker),
        planner=_Wrapped(base.planner),
        flyout=_Wrapped(base.flyout),
    )
    kern = kernels(pipe)
    assert set(kern.looped) == {"flyout", "decision", "sensor", "tracker"}
    assert kernels(base).looped == ()
    assert unbatched_reason(pipe) is None
    seeds = [41, 42]
    for r in simulate_batch(params, seeds, pipeline=pipe):
        assert_same_run(r, simulate(params, seed=r.seed, pipeline=base))
