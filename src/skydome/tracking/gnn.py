"""The multi-target tracker: batched filters, clustered GNN, M-of-N management.

One scan reads as the process (Stone Soup's `MultiTargetTracker` with a
`MultiMeasurementInitiator` in the same order):
predict -> associate confirmed tracks -> associate tentative tracks with a
velocity (two plots or more) with the detections left -> pair one-plot tracks
with second plots (velocity gate, birth prior) -> update -> count looks, score,
confirm, delete -> initiate from the detections still unused.

Confirmed tracks are associated first, so a burst of tentative tracks (clutter,
new targets) never steals a detection from an established track and never
merges the established tracks' small clusters into large ones.

Detections from several radars are fused centrally: each radar's scan is one
`step`, in time order, every track predicted to that scan's time
(sequential measurement fusion; Bar-Shalom, Willett & Tian, *Tracking and Data
Fusion*, 2011, ch. 8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64
from skydome.sensors.base import Detections
from skydome.tracking.association import gnn_assign
from skydome.tracking.base import CoverageFn, Kinematics, MotionFilter, ScanReport, TrackState
from skydome.tracking.gating import Gated, gate_pairs, gate_threshold
from skydome.tracking.imm import ImmFilter
from skydome.tracking.kalman import (
    BallisticModel,
    CaModel,
    CvModel,
    KalmanFilter,
    cv_model,
    model_drift,
)
from skydome.tracking.management import close_scan, manage, score_increment
from skydome.tracking.params import TrackerParams

__all__ = ["GnnTracker", "motion_filter", "predict_mean_cv", "predict_mean_modes"]


def motion_filter(p: TrackerParams) -> MotionFilter:
    """The filter named by `p.motion_model`, with `p`'s noise settings."""
    if p.motion_model == "cv":
        return KalmanFilter(CvModel(p.q_mps2))
    if p.motion_model == "ca":
        return KalmanFilter(CaModel(p.jerk_q_mps3))
    if p.motion_model == "imm":
        return ImmFilter(
            (CvModel(p.q_mps2), CvModel(p.manoeuvre_q_mps2)),
            (p.imm_cruise_s, p.imm_manoeuvre_s),
        )
    if p.motion_model == "ballistic":
        # The IMM's quiet and manoeuvre modes plus a free-fall mode that is a class,
        # not a manoeuvre: entered or left once an hour (nearly a static multiple
        # model), so an aircraft's track drops it within a few scans and keeps it
        # off, and a ballistic threat's keeps it; a new track starts half in it.
        c, m, rare = 1.0 / p.imm_cruise_s, 1.0 / p.imm_manoeuvre_s, 1.0 / 3600.0
        return ImmFilter(
            (CvModel(p.q_mps2), CvModel(p.manoeuvre_q_mps2), BallisticModel(p.q_mps2)),
            (p.imm_cruise_s, p.imm_manoeuvre_s, 3600.0),
            initial_prob=(0.4, 0.1, 0.5),
            rates_per_s=((0.0, c, rare), (m, 0.0, rare), (rare, rare, 0.0)),
        )
    raise ValueError(f"unknown motion model {p.motion_model!r}; expected cv, ca, imm or ballistic")


def predict_mean_cv(state: TrackState, t_s: float, rows: NDArray[np.int64]) -> F64:
    """(K, 6) means of the track rows `rows` extrapolated to `t_s` at constant velocity.

    x(t) = F(t - t_k) x_k with the constant-velocity F (`cv_model`); only the
    mean is extrapolated, so the process noise plays no part. The picture's
    (n, 6) state is position and velocity whatever the filter (for IMM, the
    mode-combined estimate), so this is every built-in filter's mean prediction
    of a non-manoeuvring track. Rows are taken before extrapolating.
    """
    x = state.x[rows]
    dt = t_s - state.time_s
    if dt > 0.0 and x.shape[0]:
        F, _ = cv_model(dt, 0.0)
        x = x @ F.T
    return x


def predict_mean_modes(
    state: TrackState, t_s: float, rows: NDArray[np.int64], drifts: tuple[F64 | None, ...]
) -> F64:
    """(K, 6) means of the track rows `rows` at `t_s`, each IMM mode extrapolated by its model.

    x(t) = sum_j mu_j (F(dt) x_j + d_j(dt)), F the constant-velocity transition
    and d_j mode j's known drift (gravity for `BallisticModel`, zero otherwise);
    no mode is extrapolated below the ground (z = 0): past its impact time it
    holds its impact point and impact velocity (for the free-fall mode, the
    impact-point prediction of the vacuum arc).

    Args:
        state: the picture (its mode arrays from an `ImmFilter` of these modes).
        t_s: time, s.
        rows: (K,) track rows.
        drifts: per mode, its drift over dt = t_s - state.time_s (None: none).
    """
    dt = t_s - state.time_s
    if dt <= 0.0 or rows.size == 0 or state.mode_x.shape[1] != len(drifts):
        return predict_mean_cv(state, t_s, rows)
    mx = state.mode_x[rows, :, :6]
    mu = state.mode_prob[rows]
    out = np.zeros((rows.size, 6))
    for j, d in enumerate(drifts):  # a handful of modes
        x = mx[:, j]
        g = 0.0 if d is None else -2.0 * float(d[2]) / (dt * dt)  # the mode's gravity, m/s^2
        z, vz = np.maximum(x[:, 2], 0.0), x[:, 5]
        if g > 0.0:
            t_ground = (vz + np.sqrt(vz * vz + 2.0 * g * z)) / g
        else:
            t_ground = np.where(vz < 0.0, z / np.maximum(-vz, 1e-9), np.inf)
        tau = np.minimum(dt, t_ground)
        xj = x.copy()
        xj[:, :3] += x[:, 3:] * tau[:, None]
        xj[:, 2] -= 0.5 * g * tau * tau
        xj[:, 5] -= g * tau
        out += mu[:, j, None] * xj
    return out


@dataclass(frozen=True)
class GnnTracker:
    """Global-nearest-neighbour tracker with two-point, velocity-gated initiation.

    New tracks start at the detection with zero velocity and velocity standard
    deviation `init_velocity_sigma_mps`; their second plot is velocity-gated by
    `max_speed_mps` and chosen with a birth prior from the radar's coverage
    (`_pair_initiators`); they are confirmed after `confirm_m` hits within
    their first `confirm_n` opportunities (scans whose coverage holds the
    predicted position) and, if `confirm_llr` is finite, once their score
    reaches it, and dropped after `delete_misses`
    consecutive misses, `max_coast_s` without an update, or when their position
    uncertainty exceeds `max_position_sigma_m`; tentative tracks faster than
    `max_speed_mps` (beyond three sigma) are dropped.

    Attributes:
        params: tracker settings.
        motion: the batched filter; default: the one `params.motion_model` names.
            Swapping the filter is this one argument, e.g.
            ``GnnTracker(params, ImmFilter((CvModel(1), CtModel(0.2, 5), ...), ...))``.
    """

    params: TrackerParams
    motion: MotionFilter = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.motion is None:
            object.__setattr__(self, "motion", motion_filter(self.params))

    def predict(self, state: TrackState, t_s: float, rows: NDArray[np.int64]) -> F64:
        """(K, 6) track rows `rows` extrapolated to `t_s`.

        `predict_mean_cv`, or, for a filter with a mode under gravity
        (`motion_model: ballistic`), `predict_mean_modes`.
        """
        models = getattr(self.motion, "models", ())
        drifts = tuple(model_drift(m, 1.0) for m in models)
        if any(d is not None for d in drifts):
            dt = t_s - state.time_s
            per_dt = tuple(
                None if d is None else model_drift(m, dt)
                for m, d in zip(models, drifts, strict=True)
            )
            return predict_mean_modes(state, t_s, rows, per_dt)
        return predict_mean_cv(state, t_s, rows)

    def step(
        self, state: TrackState, det: Detections, coverage: CoverageFn
    ) -> tuple[TrackState, ScanReport]:
        """Process one radar scan; see the module docstring for the order."""
        p = self.params
        t = det.time_s
        dt = t - state.time_s
        if state.n and dt < 0.0:
            raise ValueError(f"scan at t={t} s is older than the tracks (t={state.time_s} s)")
        kin = state.kinematics
        if state.n:
            kin = self.motion.predict(kin, dt)
        gamma = gate_threshold(p.gate_probability)

        # Confirmed tracks first, then tentative tracks with a velocity (two plots
        # or more), then one-plot tracks (initiators) on the detections left.
        # (`x.nonzero()[0]` rather than np.flatnonzero: the same indices without
        # the wrapper, which costs more than the work on a few dozen tracks.)
        tentative = ~state.confirmed
        free = np.ones(det.n, dtype=bool)
        parts: list[Gated] = []
        for rows in (state.confirmed, tentative & (state.hits >= 2)):
            if not rows.any():  # no tracks of this class: nothing to associate
                continue
            a = _associate(kin, rows.nonzero()[0], det, free.nonzero()[0], gamma)
            free[a.det] = False
            parts.append(a)
        single = (tentative & (state.hits < 2)).nonzero()[0]
        if single.size:
            parts.append(
                _pair_initiators(
                    kin, single, t - state.last_update_s[single], det, free.nonzero()[0],
                    gamma, p, coverage,
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
            kin = kin.put(ti, self.motion.update(kin.take(ti), det.pos_m[dj], det.cov_m2[dj]))
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
            p,
            t,
            hit,
            expected,
            state.hits,
            state.opportunities,
            state.misses,
            state.last_update_s,
            state.confirmed,
            kin.x,
            kin.P,
            quality,
        )
        unused = np.ones(det.n, dtype=bool)
        unused[dj] = False
        nu = unused.nonzero()[0]
        if nu.size or not m.keep.any():
            born = self.motion.initiate(det.pos_m[nu], det.cov_m2[nu], p.init_velocity_sigma_mps)
            kin = Kinematics.concat(kin.take(m.keep), born)
        elif not m.keep.all():  # no new track (most scans): the kept rows as they are
            kin = kin.take(m.keep)
        out, report = close_scan(
            state, m, t, p.confirm_m, truth, quality, kin.x, kin.P, det.truth[nu],
            (kin.mode_x, kin.mode_P, kin.mode_prob),
        )  # fmt: skip
        return out, report


def _associate(
    kin: Kinematics, rows: np.ndarray, det: Detections, cols: np.ndarray, gamma: float
) -> Gated:
    """GNN between the tracks `rows` and the detections `cols`, in global indices."""
    if rows.size == 0 or cols.size == 0:
        return Gated.none()
    g = gate_pairs(kin.x[rows, :3], kin.P[rows, :3, :3], det.pos_m[cols], det.cov_m2[cols], gamma)
    a = gnn_assign(g, rows.size, cols.size)
    return Gated(rows[a.track], cols[a.det], a.d2, a.logdet)


def _pair_initiators(
    kin: Kinematics,
    rows: NDArray[np.int64],
    tau_s: F64,
    det: Detections,
    cols: NDArray[np.int64],
    gamma: float,
    p: TrackerParams,
    coverage: CoverageFn,
) -> Gated:
    """Second plots for one-plot tracks: velocity-gated two-point initiation.

    A one-plot track sits at its plot p1 with zero mean velocity (its velocity
    is unknown), `tau_s` (K,) after that plot. A detection z of the scan may be
    its second plot only if

    - it is inside the chi-square gate of the track's prior (position error of
      p1 plus the velocity prior spread over tau), and
    - the implied speed is possible: |z - p1| <= v_max tau + 3 sigma, sigma the
      standard deviation of the two plots' difference along z - p1; the velocity gate of two-point
      initiation (Blackman & Popoli, *Design and Analysis of Modern Tracking
      Systems*, 1999, ch. 6; Bar-Shalom, Willett & Tian, *Tracking and Data
      Fusion*, 2011, sec. 3.5).

    Among the pairs left, global nearest neighbour chooses with the cost
    d^2 + ln|S| + 2 b, where b = -sum_k ln(1 - Pd c(p1 - k (z - p1))) is the
    birth prior of the scan geometry: c(.) is the radar's coverage, so each of
    the `birth_lookback` earlier revisits at which the hypothesised target
    (p1 reached at velocity (z - p1) / tau) was inside the coverage and yet
    produced no plot costs ln(1 - Pd). A target usually enters coverage (over
    the horizon, through the range or sector limit) just before its first plot;
    the alias that pairs it with the plot of another threat trailing it in the
    same stream flies back the way the stream came, through coverage where it
    would have been seen. Two hypotheses the geometry cannot tell apart keep
    the plain GNN cost.

    Returns:
        The chosen pairs in global indices; `d2` and `logdet` are the chi-square
        gate's (the track score does not see the birth prior).
    """
    if rows.size == 0 or cols.size == 0:
        return Gated.none()
    g = gate_pairs(kin.x[rows, :3], kin.P[rows, :3, :3], det.pos_m[cols], det.cov_m2[cols], gamma)
    if g.n == 0:
        return g
    p1 = kin.x[rows[g.track], :3]
    disp = det.pos_m[cols[g.det]] - p1
    dist = np.sqrt(np.einsum("ki,ki->k", disp, disp))
    u = disp / np.maximum(dist, 1e-9)[:, None]
    tau = tau_s[g.track]
    # Variance of the two plots' difference along u: the second plot's R, plus the
    # first plot's error, which is the track's position variance less the velocity
    # prior's spread over tau (the white-noise part left in: a wider gate).
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
    a = gnn_assign(Gated(g.track, g.det, g.d2 + 2.0 * prior, g.logdet), rows.size, cols.size)
    # The chosen pairs' own gate statistics (g is sorted by track, then detection).
    key = g.track * cols.size + g.det
    idx = np.searchsorted(key, a.track * cols.size + a.det)
    return Gated(rows[a.track], cols[a.det], g.d2[idx], g.logdet[idx])
