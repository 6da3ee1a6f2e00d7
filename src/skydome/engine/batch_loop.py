"""Reference batch kernels: each replication's slice through the single-run stage.

Every batched kernel of `skydome.engine.batch_step` has the signature of the
function of the same name here, which loops over replications and calls the
single-run stage on each one's rows. These are the kernels' oracles (a kernel
must return exactly what its loop returns) and the fallback for stages
without a vectorised form: correct, not faster than single runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64, concat_rows, rep_offsets, take_rows
from skydome.engagement.assessment import Outcome
from skydome.engagement.flyout import InFlight
from skydome.engagement.launchers import Launchers
from skydome.engagement.params import BatteryParams
from skydome.engine.pipeline import Arrivals, Flyout, KillAssessment, Pipeline
from skydome.engine.state import Missiles, WorldState
from skydome.sensors.base import Detections
from skydome.sensors.jamming import Jammers
from skydome.tracking.base import CoverageFn, ScanReport, Tracker, TrackState
from skydome.tracking.gnn_batch import BatchScanReport, BatchTracks

B = NDArray[np.bool_]


def _reps(n: int, k: int) -> I64:
    return np.full(n, k, dtype=np.int64)


# --- truth and sensing ---------------------------------------------------------------


def _jammers_of(jam: Jammers, rows: B) -> Jammers:
    return Jammers(jam.pos_m[rows], jam.erp_w[rows], jam.bandwidth_hz[rows])


def detect_batch(
    sensor: object,
    radar: int,
    t_s: float,
    pos_m: F64,
    in_sky: B,
    jam: Jammers,
    jam_rep: I64,
    rngs: Sequence[np.random.Generator],
    n_reps: int,
) -> tuple[Detections, I64]:
    """One radar's scan in every replication: detections sorted by replication, and their rep."""
    n = pos_m.shape[0] // n_reps
    dets, reps = [], []
    for k in range(n_reps):
        sl = slice(k * n, (k + 1) * n)
        d = sensor.detect(  # type: ignore[attr-defined]
            radar, t_s, pos_m[sl], in_sky[sl], _jammers_of(jam, jam_rep == k), rngs[k]
        )
        dets.append(d)
        reps.append(_reps(d.n, k))
    return _concat_detections(dets, t_s, radar), np.concatenate(reps)


def _concat_detections(dets: list[Detections], t_s: float, radar: int) -> Detections:
    return Detections(
        time_s=t_s,
        radar=radar,
        pos_m=np.concatenate([d.pos_m for d in dets]),
        cov_m2=np.concatenate([d.cov_m2 for d in dets]),
        polar=np.concatenate([d.polar for d in dets]),
        truth=np.concatenate([d.truth for d in dets]),
    )


# --- tracking --------------------------------------------------------------------------


def step_batch(
    tracker: Tracker, bt: BatchTracks, det: Detections, det_rep: I64, coverage: CoverageFn
) -> tuple[BatchTracks, BatchScanReport]:
    """One scan of one radar in every replication through the tracker."""
    n_reps = bt.next_id.size
    cut = rep_offsets(det_rep, n_reps)
    pics, reports = [], []
    for k, pic in enumerate(bt.split()):
        rows = np.arange(cut[k], cut[k + 1])
        d = Detections(
            det.time_s, det.radar, det.pos_m[rows], det.cov_m2[rows], det.polar[rows],
            det.truth[rows],
        )  # fmt: skip
        p, r = tracker.step(pic, d, coverage)
        pics.append(p)
        reports.append(r)
    return BatchTracks.join(pics), _join_reports(reports)


def _join_reports(reports: list[ScanReport]) -> BatchScanReport:
    def cat(name: str) -> I64:
        return np.concatenate([getattr(r, name) for r in reports]).astype(np.int64)

    def reps(name: str) -> I64:
        return np.concatenate([_reps(getattr(r, name).size, k) for k, r in enumerate(reports)])

    return BatchScanReport(
        confirmed_ids=cat("confirmed_ids"),
        confirmed_truth=cat("confirmed_truth"),
        confirmed_rep=reps("confirmed_ids"),
        deleted_ids=cat("deleted_ids"),
        deleted_truth=cat("deleted_truth"),
        deleted_rep=reps("deleted_ids"),
    )


# --- decisions -----------------------------------------------------------------------


def _launchers_of(ln: Launchers, k: int, n_b: int) -> tuple[Launchers, I64]:
    rows = np.flatnonzero(ln.battery // n_b == k)
    part = Launchers(
        ln.battery[rows] - k * n_b, ln.stock[rows], ln.ready_s[rows],
        ln.reserve[k * n_b : (k + 1) * n_b],
    )  # fmt: skip
    return part, rows


def decide_batch(
    pipe: Pipeline,
    t: float,
    tracks: TrackState,
    trep: I64,
    inflight: InFlight,
    irep: I64,
    waiting: I64,
    wrep: I64,
    launchers: Launchers,
    bat_tiled: BatteryParams,
    first_missile_id: I64,
    n_reps: int,
) -> tuple[InFlight, I64, Launchers, F64, I64, I64]:
    """`step._decide` in every replication.

    Returns:
        The new missiles (sorted by replication) and their replication, the
        launchers after launching, each new missile's score and rank, and (T,)
        the hold reason of every track row.
    """
    from skydome.engine.step import _decide

    n_b = pipe.params.batteries.pos_m.shape[0]
    tcut, icut = rep_offsets(trep, n_reps), rep_offsets(irep, n_reps)
    stock, ready, reserve = launchers.stock.copy(), launchers.ready_s.copy(), launchers.reserve
    reserve = reserve.copy()
    news, reps, scores, ranks, reasons = [], [], [], [], []
    for k in range(n_reps):
        tk = tracks.select(np.arange(tcut[k], tcut[k + 1]))
        ik = inflight.take(np.arange(icut[k], icut[k + 1]))
        lk, rows = _launchers_of(launchers, k, n_b)
        new, lk, score, rank, reason = _decide(
            pipe, t, tk, ik, waiting[wrep == k], lk, int(first_missile_id[k])
        )
        stock[rows], ready[rows] = lk.stock, lk.ready_s
        reserve[k * n_b : (k + 1) * n_b] = lk.reserve
        news.append(new)
        reps.append(_reps(new.n, k))
        scores.append(score)
        ranks.append(rank)
        reasons.append(reason)
    new = news[0]
    for other in news[1:]:
        new = new.concat(other)
    return (
        new,
        np.concatenate(reps),
        Launchers(launchers.battery, stock, ready, reserve),
        np.concatenate(scores),
        np.concatenate(ranks).astype(np.int64),
        np.concatenate(reasons).astype(np.int64),
    )


# --- flyout and assessment -------------------------------------------------------------


def _world_of(w: WorldState, k: int, n: int, n_a: int) -> WorldState:
    th, a = slice(k * n, (k + 1) * n), slice(k * n_a, (k + 1) * n_a)
    return WorldState(w.kill_time_s[th], w.leak_time_s[th], w.evade_start_s[th], w.asset_value[a])


def reads_picture_batch(flyout: Flyout, missiles: Missiles, mrep: I64, t1_s: float) -> bool:
    """Would any replication's flyout read the picture this step."""
    reads = getattr(flyout, "reads_picture", None)
    if reads is None:
        return True
    n_reps = int(mrep.max()) + 1 if mrep.size else 0
    cut = rep_offsets(mrep, n_reps)
    return any(
        bool(reads(missiles.take(np.arange(cut[k], cut[k + 1])), t1_s))
        for k in range(n_reps)
        if cut[k + 1] > cut[k]
    )


def _tracks_of(tracks: TrackState, trep: I64, k: int, n_reps: int) -> TrackState:
    cut = rep_offsets(trep, n_reps)
    return tracks.select(np.arange(cut[k], cut[k + 1]))


def advance_batch(
    flyout: Flyout,
    missiles: Missiles,
    mrep: I64,
    t0_s: float,
    t1_s: float,
    world: WorldState,
    aim: TrackState,
    trep: I64,
    rngs: Sequence[np.random.Generator],
    n_reps: int,
) -> tuple[Missiles, I64, Arrivals | None, I64 | None]:
    """`Flyout.advance` in every replication with missiles in the air."""
    n = world.kill_time_s.shape[0] // n_reps
    n_a = world.asset_value.shape[0] // n_reps
    cut = rep_offsets(mrep, n_reps)
    kept: list[Missiles] = []
    kept_rep, arrived, arr_rep = [], [], []
    for k in range(n_reps):
        if cut[k + 1] == cut[k]:
            continue
        mk = missiles.take(np.arange(cut[k], cut[k + 1]))
        mk, arr = flyout.advance(
            mk, t0_s, t1_s, _world_of(world, k, n, n_a), _tracks_of(aim, trep, k, n_reps), rngs[k]
        )
        kept.append(mk)
        kept_rep.append(_reps(mk.n, k))
        if arr is not None:
            arrived.append(arr)
            arr_rep.append(_reps(arr.due.n, k))
    out = missiles.take(np.zeros(0, dtype=np.int64))
    for m in kept:
        out = out.concat(m)
    rep = np.concatenate(kept_rep) if kept_rep else np.zeros(0, dtype=np.int64)
    if not arrived:
        return out, rep, None, None
    return out, rep, _concat_arrivals(arrived), np.concatenate(arr_rep)


def _concat_arrivals(parts: list[Arrivals]) -> Arrivals:
    out = parts[0]
    for p in parts[1:]:
        out = concat_rows(out, p)
    return out


def assess_batch(
    assessment: KillAssessment,
    arrivals: Arrivals,
    arep: I64,
    world: WorldState,
    rngs: Sequence[np.random.Generator],
    n_reps: int,
) -> Outcome:
    """`KillAssessment.assess` in every replication with arrivals; kill times (R*N,)."""
    n = world.kill_time_s.shape[0] // n_reps
    n_a = world.asset_value.shape[0] // n_reps
    cut = rep_offsets(arep, n_reps)
    kill = world.kill_time_s.copy()
    outs = []
    for k in range(n_reps):
        if cut[k + 1] == cut[k]:
            continue
        rows = np.arange(cut[k], cut[k + 1])
        ak = _take_arrivals(arrivals, rows)
        o = assessment.assess(ak, _world_of(world, k, n, n_a), rngs[k])
        kill[k * n : (k + 1) * n] = o.kill_time_s
        outs.append(o)
    out = outs[0]
    for o in outs[1:]:
        out = concat_rows(out, o)
    return replace(out, kill_time_s=kill)


def _take_arrivals(a: Arrivals, rows: I64) -> Arrivals:
    return take_rows(a, rows)


def launch_batch(
    flyout: Flyout,
    missiles: Missiles,
    mrep: I64,
    new: InFlight,
    new_rep: I64,
    picture: TrackState,
    trep: I64,
) -> tuple[Missiles, I64]:
    """`Flyout.launch` in every replication: rows stay sorted by replication."""
    n_reps = int(max(mrep.max(initial=-1), new_rep.max(initial=-1), trep.max(initial=-1))) + 1
    mcut, ncut = rep_offsets(mrep, n_reps), rep_offsets(new_rep, n_reps)
    out = missiles.take(np.zeros(0, dtype=np.int64))
    reps = []
    for k in range(n_reps):
        mk = missiles.take(np.arange(mcut[k], mcut[k + 1]))
        if ncut[k + 1] > ncut[k]:
            nk = new.take(np.arange(ncut[k], ncut[k + 1]))
            mk = flyout.launch(mk, nk, _tracks_of(picture, trep, k, n_reps))
        out = out.concat(mk)
        reps.append(_reps(mk.n, k))
    return out, np.concatenate(reps) if reps else np.zeros(0, dtype=np.int64)
