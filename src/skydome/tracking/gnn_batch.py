"""The GNN tracker's scan for R replications at once (batched Monte Carlo).

`step_batch(tracker, bt, det, det_rep, coverage)` is `GnnTracker.step` run on
the air pictures of R independent replications of one scenario, all scanned by
the same radar at the same time, as one struct-of-arrays program: replication
k's result is byte-identical to `tracker.step(picture_k, det_k, coverage)`.

Layout ("rep-major ragged"): the tracks of every replication in one
`TrackState`, sorted by replication (contiguous blocks, k ascending, within a
block in the single run's order), with `rep` (T,) beside it and the next track
id of each replication in `next_id` (R,); detections the same way (`det_rep`).

Why the results are the single run's bits:

- prediction, update, scoring and management are elementwise over rows
  (`kf_predict`'s matmuls, the 3 x 3 cofactor inverses, the einsums give every
  row the same bits whatever the number of rows);
- gating never pairs rows of different replications: candidate pairs are
  found by one sort of the detections on (replication, east) keys, used
  only to *find* candidates, then the single run's own tests (the coarse
  test of the mode, dense or tree, that replication's problem size takes, and
  the chi-square gate) run on the unshifted numbers;
- global nearest neighbour's weights use each replication's own cost range and
  problem size; the matching (`min_weight_matching`) then solves the union of
  the replications' sparse problems, whose clusters never span replications,
  and solves each cluster exactly as the single run does (the same local row
  and column order, the same enumeration or `linear_sum_assignment` call);
- new tracks take their ids from their replication's `next_id`, and each
  replication's rows stay kept tracks first, then new ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64, rep_offsets
from skydome.sensors.base import Detections
from skydome.tracking import gating
from skydome.tracking.association import min_weight_matching
from skydome.tracking.base import CoverageFn, Kinematics, TrackState
from skydome.tracking.gating import Gated, gate_threshold
from skydome.tracking.gating_kernel import pair_mahalanobis, sweep_coarse_kernel
from skydome.tracking.gnn import GnnTracker
from skydome.tracking.kalman import CvModel, KalmanFilter
from skydome.tracking.management import manage, score_increment
from skydome.tracking.params import TrackerParams

__all__ = ["BatchScanReport", "BatchTracks", "join_detections", "step_batch", "supports_batch"]

B = NDArray[np.bool_]

_FIELDS = (
    "x",
    "P",
    "track_id",
    "hits",
    "opportunities",
    "misses",
    "confirmed",
    "born_s",
    "last_update_s",
    "truth",
    "quality",
    "mode_x",
    "mode_P",
    "mode_prob",
)
"""The per-track array fields of `TrackState`."""


@dataclass(frozen=True)
class BatchTracks:
    """The air pictures of R replications (rows sorted by replication).

    Attributes:
        tracks: every replication's tracks, sorted by replication, within one in
            the single run's order; `tracks.time_s` is the common time of all
            replications; `tracks.next_id` is unused (0).
        rep: (T,) replication of each row, non-decreasing.
        next_id: (R,) the id the next new track of each replication will get.
    """

    tracks: TrackState
    rep: I64
    next_id: I64

    @property
    def n_reps(self) -> int:
        """Number of replications R."""
        return int(self.next_id.shape[0])

    @staticmethod
    def empty(n_reps: int, time_s: float = 0.0) -> BatchTracks:
        """R replications without tracks."""
        return BatchTracks(
            TrackState.empty(time_s),
            np.zeros(0, dtype=np.int64),
            np.zeros(n_reps, dtype=np.int64),
        )

    @staticmethod
    def join(pictures: Sequence[TrackState]) -> BatchTracks:
        """Concatenate single pictures (replication k = pictures[k]).

        Pictures holding tracks must share their time; the batch takes it (or
        the first picture's when none holds a track). An empty picture adopts
        the filter mode layout of the others.
        """
        if not pictures:
            raise ValueError("BatchTracks.join: no pictures")
        full = [s for s in pictures if s.n]
        times = {s.time_s for s in full}
        if len(times) > 1:
            raise ValueError(f"BatchTracks.join: pictures at different times {sorted(times)}")
        time_s = full[0].time_s if full else pictures[0].time_s
        layout = full[0] if full else pictures[0]
        cols = {}
        for f in _FIELDS:
            parts = [getattr(s, f) for s in pictures]
            if f.startswith("mode_"):
                ref = getattr(layout, f)
                parts = [a if a.shape[1:] == ref.shape[1:] else ref[:0] for a in parts]
            cols[f] = np.concatenate(parts)
        rep = np.repeat(np.arange(len(pictures), dtype=np.int64), [s.n for s in pictures])
        next_id = np.array([s.next_id for s in pictures], dtype=np.int64)
        return BatchTracks(TrackState(time_s=time_s, next_id=0, **cols), rep, next_id)

    def split(self) -> list[TrackState]:
        """The single pictures, replication by replication (with their `next_id`)."""
        off = rep_offsets(self.rep, self.n_reps).tolist()
        t = self.tracks
        out = []
        for k in range(self.n_reps):
            s = slice(off[k], off[k + 1])
            cols = {f: getattr(t, f)[s] for f in _FIELDS}
            out.append(TrackState(time_s=t.time_s, next_id=int(self.next_id[k]), **cols))
        return out

    def select(self, keep: B | I64) -> BatchTracks:
        """The rows where `keep` is True (or at increasing indices); ids unchanged."""
        return BatchTracks(self.tracks.select(keep), self.rep[keep], self.next_id)


@dataclass(frozen=True)
class BatchScanReport:
    """The `ScanReport` rows of all replications, each with its replication.

    Rows are grouped by replication (k ascending), within one in the single
    report's order.

    Attributes:
        confirmed_ids, confirmed_truth, confirmed_rep: (C,) tracks confirmed by
            the scan, their truth ids and replications.
        deleted_ids, deleted_truth, deleted_rep: (D,) confirmed tracks dropped.
    """

    confirmed_ids: I64
    confirmed_truth: I64
    confirmed_rep: I64
    deleted_ids: I64
    deleted_truth: I64
    deleted_rep: I64


def join_detections(scans: Sequence[Detections]) -> tuple[Detections, I64]:
    """One radar scan of every replication as one table (replication k = scans[k]).

    Returns:
        (the detections, sorted by replication; (M,) replication of each row).
        Time and radar are the first scan's (all must be the same scan).
    """
    if not scans:
        raise ValueError("join_detections: no scans")
    if len({(d.time_s, d.radar) for d in scans}) > 1:
        raise ValueError("join_detections: scans of different times or radars")
    d0 = scans[0]
    det = Detections(
        d0.time_s,
        d0.radar,
        np.concatenate([d.pos_m for d in scans]),
        np.concatenate([d.cov_m2 for d in scans]),
        np.concatenate([d.polar for d in scans]),
        np.concatenate([d.truth for d in scans]),
    )
    rep = np.repeat(np.arange(len(scans), dtype=np.int64), [d.n for d in scans])
    return det, rep


def supports_batch(tracker: object) -> bool:
    """Whether `step_batch` reproduces `tracker.step`: the GNN tracker with a CV Kalman filter.

    (The built-in scenarios' tracker; others fall back to one `step` per replication.)
    """
    return (
        type(tracker) is GnnTracker
        and type(tracker.motion) is KalmanFilter
        and type(tracker.motion.model) is CvModel
    )


# --- gating -------------------------------------------------------------------------------


def _sweep_windows(pos: F64, trep: I64, z: F64, zrep: I64, radius: F64) -> tuple[I64, I64, I64]:
    """Each track's window of same-replication detections closer than `radius` in east, by one sort.

    Detections are sorted on the key rep * offset + east (the offset larger
    than the data's east extent plus twice the largest radius, so no key window
    reaches another replication); each track's candidates are the detections
    whose key lies within its radius of its own key (two `searchsorted`), the
    window widened by more than the keys' rounding. The keys serve only to
    *find* candidates: every test runs on the unshifted coordinates.

    Returns:
        (order, lo, hi): track t's candidates are detections `order[lo[t]:hi[t]]`
        (a superset: the caller checks the replication).
    """
    x0 = float(min(pos[:, 0].min(), z[:, 0].min()))
    span = float(max(pos[:, 0].max(), z[:, 0].max())) - x0
    off = 2.0 * (span + 2.0 * float(radius.max()) + 1.0)
    zkey = zrep * off + (z[:, 0] - x0)
    order = np.argsort(zkey, kind="stable")
    zs = zkey[order]
    tkey = trep * off + (pos[:, 0] - x0)
    top = float(max(zs[-1], tkey.max()))
    r = radius * (1.0 + 1e-9) + 16.0 * np.finfo(np.float64).eps * top
    lo = np.searchsorted(zs, tkey - r, side="left")
    hi = np.searchsorted(zs, tkey + r, side="right")
    return order, lo, hi


def _gate_batch(
    pos: F64, cov: F64, trep: I64, z: F64, R: F64, zrep: I64, n_reps: int, gamma: float
) -> Gated:
    """`gate_pairs` of every replication at once (pairs never cross replications).

    Args:
        pos: (N, 3) predicted track positions, m, rows sorted by replication.
        cov: (N, 3, 3) their covariances, m^2.
        trep: (N,) their replications.
        z: (M, 3) detection positions, m, sorted by replication.
        R: (M, 3, 3) their covariances, m^2.
        zrep: (M,) their replications.
        n_reps: R.
        gamma: chi-square threshold on d^2.

    Returns:
        The gated pairs of all replications, sorted by track then detection (so
        by replication), with the single run's d^2 and ln|S|.
    """
    n, m = pos.shape[0], z.shape[0]
    if n == 0 or m == 0:
        return Gated.none()
    trP = cov[:, 0, 0] + cov[:, 1, 1] + cov[:, 2, 2]
    trR = R[:, 0, 0] + R[:, 1, 1] + R[:, 2, 2]
    nk = np.bincount(trep, minlength=n_reps)
    mk = np.bincount(zrep, minlength=n_reps)
    dense_rep = nk * mk <= gating.DENSE_PAIRS  # the coarse test each replication's single run takes
    # Candidates within the radius of the single run's k-d tree (its largest trR
    # is its replication's), which bounds its dense test too:
    # |nu|^2 <= gamma trP + gamma trR <= gamma (trP + max trR).
    z_off = rep_offsets(zrep, n_reps)
    has = mk > 0
    tr_max = np.zeros(n_reps)
    tr_max[has] = np.maximum.reduceat(trR, z_off[:-1][has])
    radius = np.sqrt(gamma * (trP + tr_max[trep]))
    order, lo, hi = _sweep_windows(pos, trep, z, zrep, radius)
    # The single run's coarse test per pair, compiled (`sweep_coarse_kernel`): the
    # dense test |nu|^2 <= gamma trP + gamma trR, or in a replication its single
    # run gates by tree, |nu|^2 <= gamma (trP + trR), where einsum's sum (which may
    # differ from (nu0^2 + nu1^2) + nu2^2 in the last bits) decides the pairs
    # within a relative 1e-9 of the bound.
    pos, z = np.ascontiguousarray(pos), np.ascontiguousarray(z)
    ti, dj, near = sweep_coarse_kernel(
        pos, trep, z, zrep, order, lo, hi, gamma * trP, gamma * trR, trP, trR, gamma,
        dense_rep[trep],
    )  # fmt: skip
    if near.any():
        k = near.nonzero()[0]
        nu = z[dj[k]] - pos[ti[k]]
        out = ~(np.einsum("ki,ki->k", nu, nu) <= gamma * (trP[ti[k]] + trR[dj[k]]))
        if out.any():
            keep = np.ones(ti.size, dtype=bool)
            keep[k[out]] = False
            ti, dj = ti[keep], dj[keep]
    if ti.size == 0:
        return Gated.none()
    d2, logdet = pair_mahalanobis(pos, cov, z, R, ti, dj)  # mahalanobis_sq, bit for bit
    ok = d2 <= gamma
    ti, dj, d2, logdet = ti[ok], dj[ok], d2[ok], logdet[ok]
    o = np.argsort(ti * m + dj)  # the single run's order: by track, then detection
    return Gated(ti[o], dj[o], d2[o], logdet[o])


# --- assignment ---------------------------------------------------------------------------


def _gnn_assign_batch(g: Gated, prep: I64, n_tracks: I64, n_dets: I64, n_cols: int) -> Gated:
    """`gnn_assign` of every replication at once.

    Args:
        g: gated pairs of all replications, sorted by track then detection.
        prep: (K,) replication of each pair (non-decreasing).
        n_tracks: (R,) tracks of each replication's problem (the single run's
            `n_tracks`).
        n_dets: (R,) detections of each replication's problem.
        n_cols: number of detection columns the pairs index (all replications).

    Returns:
        The chosen pairs, sorted by track.
    """
    if g.n == 0:
        return g
    cost = g.d2 + g.logdet
    head = np.empty(g.n, dtype=bool)
    head[0] = True
    np.not_equal(prep[1:], prep[:-1], out=head[1:])
    starts = head.nonzero()[0]
    seg = np.cumsum(head) - 1
    hi = np.maximum.reduceat(cost, starts)[seg]
    lo = np.minimum.reduceat(cost, starts)[seg]
    big = (hi - lo + 1.0) * np.minimum(n_tracks, n_dets)[prep]
    w = cost - hi - 1.0 - big
    # Every replication's fast path (no track or detection in two pairs) is the
    # matching's own isolated-pair case, so one matching serves all.
    if (
        (w < 0.0).all()
        and (g.track[1:] != g.track[:-1]).all()
        and int(np.bincount(g.det).max()) <= 1
    ):
        return g
    n_rows = int(g.track.max()) + 1
    rows, cols = min_weight_matching(g.track, g.det, w, n_rows, n_cols)
    key = g.track * n_cols + g.det
    idx = np.searchsorted(key, rows * n_cols + cols)
    return Gated(g.track[idx], g.det[idx], g.d2[idx], g.logdet[idx])


def _associate_batch(
    kin: Kinematics,
    P3: F64,
    rows: I64,
    trep: I64,
    det: Detections,
    cols: I64,
    drep: I64,
    n_reps: int,
    gamma: float,
) -> Gated:
    """GNN between the track rows `rows` and detection rows `cols`, per replication.

    `P3` is (N, 3, 3) `kin.P[:, :3, :3]`, contiguous (gathered once per scan).
    """
    if rows.size == 0 or cols.size == 0:
        return Gated.none()
    rr, cr = trep[rows], drep[cols]
    g = _gate_batch(
        kin.x[rows, :3], P3.take(rows, axis=0), rr, det.pos_m[cols], det.cov_m2[cols], cr,
        n_reps, gamma,
    )  # fmt: skip
    a = _gnn_assign_batch(
        g, rr[g.track], np.bincount(rr, minlength=n_reps), np.bincount(cr, minlength=n_reps),
        cols.size,
    )  # fmt: skip
    return Gated(rows[a.track], cols[a.det], a.d2, a.logdet)


def _pair_initiators_batch(
    kin: Kinematics,
    P3: F64,
    rows: I64,
    trep: I64,
    tau_s: F64,
    det: Detections,
    cols: I64,
    drep: I64,
    n_reps: int,
    gamma: float,
    p: TrackerParams,
    coverage: CoverageFn,
) -> Gated:
    """`gnn._pair_initiators` of every replication at once (same arithmetic per pair)."""
    if rows.size == 0 or cols.size == 0:
        return Gated.none()
    rr, cr = trep[rows], drep[cols]
    g = _gate_batch(
        kin.x[rows, :3], P3.take(rows, axis=0), rr, det.pos_m[cols], det.cov_m2[cols], cr,
        n_reps, gamma,
    )  # fmt: skip
    if g.n == 0:
        return g
    p1 = kin.x[rows[g.track], :3]
    disp = det.pos_m[cols[g.det]] - p1
    dist = np.sqrt(np.einsum("ki,ki->k", disp, disp))
    u = disp / np.maximum(dist, 1e-9)[:, None]
    tau = tau_s[g.track]
    first = np.einsum("ki,kij,kj->k", u, kin.P[rows[g.track], :3, :3], u)
    first = np.maximum(first - (p.init_velocity_sigma_mps * tau) ** 2, 0.0)
    var = np.einsum("ki,kij,kj->k", u, det.cov_m2[cols[g.det]], u) + first
    ok = dist <= p.max_speed_mps * tau + 3.0 * np.sqrt(var)
    g = Gated(g.track[ok], g.det[ok], g.d2[ok], g.logdet[ok])
    if g.n == 0:
        return g
    prior = np.zeros(g.n)
    if p.birth_lookback > 0 and p.detection_probability < 1.0:
        k = np.arange(1, p.birth_lookback + 1, dtype=np.float64)
        back = p1[ok][:, None, :] - k[None, :, None] * disp[ok][:, None, :]  # (K, L, 3)
        seen = np.asarray(coverage(back.reshape(-1, 3)), dtype=bool).reshape(g.n, k.size)
        prior = -math.log1p(-p.detection_probability) * seen.sum(axis=1)
    a = _gnn_assign_batch(
        Gated(g.track, g.det, g.d2 + 2.0 * prior, g.logdet),
        rr[g.track],
        np.bincount(rr, minlength=n_reps),
        np.bincount(cr, minlength=n_reps),
        cols.size,
    )
    key = g.track * cols.size + g.det
    idx = np.searchsorted(key, a.track * cols.size + a.det)
    return Gated(rows[a.track], cols[a.det], g.d2[idx], g.logdet[idx])


# --- the scan -----------------------------------------------------------------------------


def step_batch(
    tracker: GnnTracker, bt: BatchTracks, det: Detections, det_rep: I64, coverage: CoverageFn
) -> tuple[BatchTracks, BatchScanReport]:
    """One radar scan of every replication: `tracker.step` on each replication's slice.

    Args:
        tracker: a tracker `supports_batch` accepts.
        bt: the pictures before the scan.
        det: the scan's detections of all replications (one radar, one time),
            sorted by replication.
        det_rep: (M,) replication of each detection.
        coverage: the radar's coverage predicate on (K, 3) positions (elementwise).

    Returns:
        The pictures after the scan and the scan's reports, equal byte for byte
        to joining the single steps' results.
    """
    if not supports_batch(tracker):
        raise TypeError(f"step_batch: unsupported tracker {tracker!r} (see supports_batch)")
    p = tracker.params
    n_reps = bt.n_reps
    state = bt.tracks
    trep = bt.rep
    t = det.time_s
    dt = t - state.time_s
    if state.n and dt < 0.0:
        raise ValueError(f"scan at t={t} s is older than the tracks (t={state.time_s} s)")
    kin = state.kinematics
    if state.n:
        kin = tracker.motion.predict(kin, dt)
    gamma = gate_threshold(p.gate_probability)
    P3 = np.ascontiguousarray(kin.P[:, :3, :3])

    tentative = ~state.confirmed
    free = np.ones(det.n, dtype=bool)
    parts: list[Gated] = []
    for sel in (state.confirmed, tentative & (state.hits >= 2)):
        if not sel.any():
            continue
        a = _associate_batch(
            kin, P3, sel.nonzero()[0], trep, det, free.nonzero()[0], det_rep, n_reps, gamma
        )
        free[a.det] = False
        parts.append(a)
    single = (tentative & (state.hits < 2)).nonzero()[0]
    if single.size:
        parts.append(
            _pair_initiators_batch(
                kin, P3, single, trep, t - state.last_update_s[single], det, free.nonzero()[0],
                det_rep, n_reps, gamma, p, coverage,
            )
        )  # fmt: skip
    parts = [a for a in parts if a.n]
    n = state.n
    hit = np.zeros(n, dtype=bool)
    d2 = np.zeros(n)
    logdet = np.zeros(n)
    if parts:
        ti = np.concatenate([a.track for a in parts]) if len(parts) > 1 else parts[0].track
        dj = np.concatenate([a.det for a in parts]) if len(parts) > 1 else parts[0].det
        kin = kin.put(ti, tracker.motion.update(kin.take(ti), det.pos_m[dj], det.cov_m2[dj]))
        hit[ti] = True
        d2[ti] = np.concatenate([a.d2 for a in parts])
        logdet[ti] = np.concatenate([a.logdet for a in parts])
    else:
        ti = dj = np.zeros(0, dtype=np.int64)
    expected = coverage(kin.x[:, :3]) | hit if n else hit
    quality = state.quality + score_increment(
        hit, expected, d2, logdet, p.detection_probability, p.false_alarm_density_m3
    )
    truth = state.truth.copy()
    truth[ti] = det.truth[dj]
    m = manage(
        p, t, hit, expected, state.hits, state.opportunities, state.misses,
        state.last_update_s, state.confirmed, kin.x, kin.P, quality,
    )  # fmt: skip
    unused = np.ones(det.n, dtype=bool)
    unused[dj] = False
    nu = unused.nonzero()[0]
    keep = m.keep
    every = bool(keep.all())

    # New tracks: ids from their replication's next id, in detection order.
    brep = det_rep[nu]
    n_born = np.bincount(brep, minlength=n_reps)
    first_born = np.cumsum(n_born) - n_born
    k = int(nu.size)
    new_ids = bt.next_id[brep] + (np.arange(k, dtype=np.int64) - first_born[brep])
    born_truth = det.truth[nu]
    born_confirmed = np.full(k, p.confirm_m <= 1)
    born = tracker.motion.initiate(det.pos_m[nu], det.cov_m2[nu], p.init_velocity_sigma_mps)
    kept_rep = trep if every else trep[keep]
    # Each replication's rows: its kept tracks, then its new ones.
    src: I64 | None = None
    order: I64 | None = None
    if k:
        order = np.argsort(np.concatenate([kept_rep, brep]), kind="stable")
        # Rows of concatenate([old rows, new rows]) in the new table's order: one
        # concatenation and one gather per field (not a selection, then both).
        kept_rows = np.arange(trep.size) if every else keep.nonzero()[0]
        src = np.concatenate([kept_rows, trep.size + np.arange(k)])[order]

    def grow(a: NDArray[Any], tail: NDArray[Any]) -> NDArray[Any]:
        if src is None:
            return a if every else a[keep]
        out: NDArray[Any] = np.concatenate([a, tail])[src]
        return out

    ones = np.ones(k, dtype=np.int64)
    out = TrackState(
        time_s=t,
        next_id=0,
        x=grow(kin.x, born.x),
        P=grow(kin.P, born.P),
        track_id=grow(state.track_id, new_ids),
        hits=grow(m.hits, ones),
        opportunities=grow(m.opportunities, ones),
        misses=grow(m.misses, 0 * ones),
        confirmed=grow(m.confirmed, born_confirmed),
        born_s=grow(state.born_s, np.full(k, t)),
        last_update_s=grow(m.last_update_s, np.full(k, t)),
        truth=grow(truth, born_truth),
        quality=grow(quality, np.zeros(k)),
        mode_x=_grow_modes(kin.mode_x, born.mode_x, keep, every, order),
        mode_P=_grow_modes(kin.mode_P, born.mode_P, keep, every, order),
        mode_prob=_grow_modes(kin.mode_prob, born.mode_prob, keep, every, order),
    )
    new_rep = np.concatenate([kept_rep, brep])[order] if k else kept_rep
    out_bt = BatchTracks(out, new_rep, bt.next_id + n_born)

    # The report: per replication, newly confirmed tracks then (M = 1) the new ones.
    dropped = state.confirmed & ~keep
    newly = m.newly_confirmed & keep
    c_ids, c_truth, c_rep = state.track_id[newly], truth[newly], trep[newly]
    if k and p.confirm_m <= 1:
        c_order = np.argsort(np.concatenate([c_rep, brep]), kind="stable")
        c_ids = np.concatenate([c_ids, new_ids])[c_order]
        c_truth = np.concatenate([c_truth, born_truth])[c_order]
        c_rep = np.concatenate([c_rep, brep])[c_order]
    report = BatchScanReport(
        confirmed_ids=c_ids,
        confirmed_truth=c_truth,
        confirmed_rep=c_rep,
        deleted_ids=state.track_id[dropped],
        deleted_truth=truth[dropped],
        deleted_rep=trep[dropped],
    )
    return out_bt, report


def _grow_modes(a: F64, tail: F64, keep: B, every: bool, order: I64 | None) -> F64:
    """A mode array of the kept rows and the new ones (an empty side takes the other's layout)."""
    kept = a if every else a[keep]
    if order is None:
        return kept
    if kept.shape[1:] != tail.shape[1:]:
        if kept.shape[0] == 0:
            kept = tail[:0]
        elif tail.shape[0] == 0:
            tail = kept[:0]
    out: F64 = np.concatenate([kept, tail])[order]
    return out
