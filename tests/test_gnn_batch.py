"""The batched tracker scan equals one `GnnTracker.step` per replication, byte for byte.

Real inputs: the single engine's scans (`simulate(..., record_detections=True)`)
of a few seeds of the built-in scenarios, shortened; every scan is replayed
through `tracker.step` per replication and through `step_batch` on the joined
batch, and every array of the pictures and reports is compared at every scan.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

import numpy as np
import pytest

from skydome.engine.simulate import simulate
from skydome.engine.stages import default_pipeline
from skydome.scenario import compile_scenario, load_scenario
from skydome.sensors.base import Detections
from skydome.tracking import association, gating, gnn_batch
from skydome.tracking.base import ScanReport, TrackState
from skydome.tracking.gnn import GnnTracker
from skydome.tracking.gnn_batch import BatchTracks, join_detections, step_batch, supports_batch

SEEDS = (11, 12, 13, 14, 15)
DURATION_S = {"default": 240.0, "saturation": 160.0}


@cache
def _scenario(name: str) -> tuple[Any, tuple[tuple[Detections, ...], ...]]:
    params = dataclasses.replace(compile_scenario(load_scenario(name)), duration_s=DURATION_S[name])
    pipe = default_pipeline(params)
    runs = tuple(tuple(simulate(params, seed=s, record_detections=True).detections) for s in SEEDS)
    return pipe, runs


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return (
        a.dtype == b.dtype
        and a.shape == b.shape
        and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    )


def _assert_equal(
    bt: BatchTracks, rep: gnn_batch.BatchScanReport, pics: list[TrackState], reps: list[ScanReport]
) -> None:
    ref = BatchTracks.join(pics)
    assert _same(bt.rep, ref.rep)
    assert _same(bt.next_id, ref.next_id)
    for k, (got, want) in enumerate(zip(bt.split(), pics, strict=True)):
        assert got.time_s == want.time_s and got.next_id == want.next_id, k
        for f in gnn_batch._FIELDS:
            assert _same(getattr(got, f), getattr(want, f)), (k, f)
    for f in ("confirmed_ids", "confirmed_truth", "deleted_ids", "deleted_truth"):
        want_rows = np.concatenate([getattr(r, f) for r in reps])
        want_rep = np.repeat(np.arange(len(reps)), [getattr(r, f).size for r in reps])
        assert _same(getattr(rep, f), want_rows), f
        assert _same(getattr(rep, f.split("_")[0] + "_rep"), want_rep), f


def _replay(name: str, n_reps: int, drop: int = 0) -> int:
    """Replay `n_reps` seeds both ways; every `drop`-th scan, replication 1 sees nothing.

    Returns the number of scans compared.
    """
    pipe, runs = _scenario(name)
    runs = runs[:n_reps]
    tracker = pipe.tracker
    pics = [TrackState.empty() for _ in runs]
    bt = BatchTracks.empty(n_reps)
    n_scans = min(len(r) for r in runs)
    for j in range(n_scans):
        ds = [r[j] for r in runs]
        assert len({(d.time_s, d.radar) for d in ds}) == 1  # one radar scan, all replications
        if drop and n_reps > 1 and j % drop == 0:
            d = ds[1]
            ds[1] = dataclasses.replace(
                d, pos_m=d.pos_m[:0], cov_m2=d.cov_m2[:0], polar=d.polar[:0], truth=d.truth[:0]
            )
        cov = pipe.sensor.coverage(ds[0].radar)
        reps = []
        for k in range(n_reps):
            pics[k], r = tracker.step(pics[k], ds[k], cov)
            reps.append(r)
        det, det_rep = join_detections(ds)
        bt, rep = step_batch(tracker, bt, det, det_rep, cov)
        _assert_equal(bt, rep, pics, reps)
    return n_scans


@pytest.mark.parametrize("name", ["default", "saturation"])
@pytest.mark.parametrize("n_reps", [1, 3, 5])
def test_step_batch_equals_single_steps(name: str, n_reps: int) -> None:
    assert _replay(name, n_reps) > 100


def test_matching_and_large_clusters_are_exercised(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scans replayed reach the full matching (not only the one-pair-per-track case)."""
    calls: list[int] = []
    real = association.min_weight_matching

    def spy(*a: Any, **k: Any) -> Any:
        calls.append(a[0].size)
        return real(*a, **k)

    monkeypatch.setattr(gnn_batch, "min_weight_matching", spy)
    _replay("saturation", 3)
    assert len(calls) > 10


def test_single_runs_gating_by_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Single runs gating by k-d tree or dense test scan by scan (per problem size)."""
    monkeypatch.setattr(gating, "DENSE_PAIRS", 60)  # small problems dense, larger by tree
    _replay("default", 3)
    _replay("saturation", 2)


def test_join_detections_rejects_mixed_scans() -> None:
    _, runs = _scenario("default")
    a, b = runs[0][0], runs[0][1]
    assert (a.time_s, a.radar) != (b.time_s, b.radar)
    with pytest.raises(ValueError):
        join_detections([a, b])


def test_replication_without_detections() -> None:
    """A replication with no detection in a scan (every third scan) coasts as alone."""
    _replay("default", 3, drop=3)


def test_join_split_select_roundtrip() -> None:
    pipe, runs = _scenario("default")
    pics = []
    for r in runs[:3]:
        s = TrackState.empty()
        for d in r[:60]:
            s, _ = pipe.tracker.step(s, d, pipe.sensor.coverage(d.radar))
        pics.append(s)
    pics.insert(1, dataclasses.replace(TrackState.empty(pics[0].time_s), next_id=7))
    bt = BatchTracks.join(pics)
    assert bt.n_reps == 4 and bt.tracks.n == sum(s.n for s in pics)
    for got, want in zip(bt.split(), pics, strict=True):
        assert got.next_id == want.next_id and got.time_s == want.time_s
        for f in gnn_batch._FIELDS:
            assert _same(getattr(got, f), getattr(want, f)), f
    keep = bt.tracks.confirmed
    sel = bt.select(keep)
    for got, want in zip(sel.split(), pics, strict=True):
        assert _same(got.track_id, want.track_id[want.confirmed])
    e = BatchTracks.empty(4, 2.0)
    assert e.tracks.n == 0 and e.n_reps == 4 and e.tracks.time_s == 2.0
    assert all(s.n == 0 for s in e.split())


def test_supports_batch_builtins_only() -> None:
    assert supports_batch(_scenario("default")[0].tracker)
    assert supports_batch(_scenario("saturation")[0].tracker)
    imm = GnnTracker(
        dataclasses.replace(_scenario("default")[0].tracker.params, motion_model="imm")
    )
    assert not supports_batch(imm)
    with pytest.raises(TypeError):
        step_batch(imm, BatchTracks.empty(1), _scenario("default")[1][0][0], np.zeros(0), None)  # type: ignore[arg-type]


def test_older_scan_raises() -> None:
    pipe, runs = _scenario("default")
    bt = BatchTracks.empty(1)
    for d in runs[0][:30]:
        rep = np.zeros(d.n, dtype=np.int64)
        bt, _ = step_batch(pipe.tracker, bt, d, rep, pipe.sensor.coverage(d.radar))
    old = dataclasses.replace(runs[0][0], time_s=d.time_s - 1.0)
    assert bt.tracks.n
    with pytest.raises(ValueError):
        step_batch(pipe.tracker, bt, old, np.zeros(old.n, dtype=np.int64), pipe.sensor.coverage(0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pair_mahalanobis_is_mahalanobis_sq_bit_for_bit(seed: int) -> None:
    """The compiled fine gate reads rows in place and gives `mahalanobis_sq`'s d^2 and
    ln|S| of the gathered pairs exactly (ill-conditioned and tiny covariances included)."""
    from skydome.tracking.gating_kernel import pair_mahalanobis
    from skydome.tracking.kalman import mahalanobis_sq

    rng = np.random.default_rng(seed)
    n, m, k = 40, 30, 5000
    pos = rng.normal(size=(n, 3)) * 1e5
    z = pos[rng.integers(0, n, m)] + rng.normal(size=(m, 3)) * 300.0
    a = rng.normal(size=(n, 3, 3)) * rng.uniform(1.0, 1e3, size=(n, 1, 1))
    cov = a @ a.transpose(0, 2, 1)
    cov[0] = np.diag([1e-6, 1e6, 1.0])  # ill-conditioned
    b = rng.normal(size=(m, 3, 3)) * 50.0
    R = b @ b.transpose(0, 2, 1) + np.eye(3)  # noqa: N806
    ti, dj = rng.integers(0, n, k), rng.integers(0, m, k)
    got = pair_mahalanobis(pos, cov, z, R, ti, dj)
    want = mahalanobis_sq(z[dj] - pos[ti], cov[ti] + R[dj])
    assert got[0].tobytes() == want[0].tobytes()
    assert got[1].tobytes() == want[1].tobytes()
    empty = pair_mahalanobis(pos, cov, z, R, ti[:0], dj[:0])
    assert empty[0].shape == empty[1].shape == (0,)
