"""Stone Soup adapters: skydome detections and tracks to and from Stone Soup objects.

Stone Soup (https://stonesoup.readthedocs.io) keeps one Python object per
detection and per track state; skydome keeps struct-of-arrays. The adapters
convert between the two at a scan's boundary:

- `to_stonesoup_detections` / `from_stonesoup_detections`: a skydome
  `Detections` scan to a list of Stone Soup `Detection`s and back. Each
  detection carries its own `LinearGaussian` measurement model whose noise is
  that detection's covariance, so a Stone Soup updater weights every detection
  as skydome's tracker does. The round trip is exact (positions, covariances,
  the time in seconds, radar index, polar measurement, truth id).
- `to_stonesoup_tracks` / `from_stonesoup_tracks`: a skydome `TrackState` (the
  air picture) to Stone Soup `Track`s and back.
- `StoneSoupTracker`: a Stone Soup tracker (Kalman predictor and updater,
  Mahalanobis `DistanceHypothesiser`, `GNNWith2DAssignment`,
  `SimpleMeasurementInitiator`) as skydome's tracker stage, implementing the
  `skydome.tracking.Tracker` protocol and passing `check_tracker`.

State order: skydome's is [x, y, z, vx, vy, vz], Stone Soup's
constant-velocity models use [x, vx, y, vy, z, vz]; the adapters permute.
Times: skydome counts seconds from the scenario start, Stone Soup uses
`datetime`s; `epoch` (default `EPOCH`) is the datetime of t = 0. A `datetime`
has microsecond resolution, so the exact float time also travels in each
detection's metadata (``"time_s"``).

Stone Soup is an optional dependency (``pip install 'skydome[interop]'``),
imported when an adapter is first called.
"""

from __future__ import annotations

import datetime
import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.errors import UserError
from skydome.sensors.base import Detections
from skydome.tracking.base import CoverageFn, ScanReport, TrackState
from skydome.tracking.gating import gate_threshold
from skydome.tracking.management import close_scan, manage, score_increment
from skydome.tracking.params import TrackerParams

__all__ = [
    "EPOCH",
    "SS_FROM_SKYDOME",
    "SKYDOME_FROM_SS",
    "StoneSoupTracker",
    "from_stonesoup_detections",
    "from_stonesoup_tracks",
    "seconds_to_datetime",
    "to_stonesoup_detections",
    "to_stonesoup_tracks",
]

EPOCH = datetime.datetime(2000, 1, 1)
"""The datetime of skydome's t = 0 s unless an adapter is given another."""

SS_FROM_SKYDOME = np.array([0, 3, 1, 4, 2, 5])
"""Stone Soup state [x, vx, y, vy, z, vz] = skydome state [x, y, z, vx, vy, vz][this]."""
SKYDOME_FROM_SS = np.argsort(SS_FROM_SKYDOME)
"""The inverse permutation: skydome state = Stone Soup state[this]."""

POSITION_MAPPING = (0, 2, 4)
"""Where the (x, y, z) measurement sits in Stone Soup's constant-velocity state."""


def _ss(module: str) -> Any:
    """Import ``stonesoup.<module>``, or raise a `UserError` saying how to install it."""
    try:
        return importlib.import_module(f"stonesoup.{module}")
    except ImportError as e:
        raise UserError(
            "the Stone Soup adapters need the optional dependency stonesoup "
            f"({e}); install it with: pip install 'skydome[interop]'"
        ) from None


def seconds_to_datetime(t_s: float, epoch: datetime.datetime = EPOCH) -> datetime.datetime:
    """Skydome time (s from the scenario start) as a Stone Soup timestamp (µs resolution)."""
    return epoch + datetime.timedelta(seconds=float(t_s))


def _datetime_to_seconds(ts: datetime.datetime, epoch: datetime.datetime) -> float:
    return (ts - epoch).total_seconds()


def _state_to_ss(x: F64, P: F64) -> tuple[F64, F64]:
    """One skydome (6,) state and (6, 6) covariance in Stone Soup's order, (6, 1) and (6, 6)."""
    p = SS_FROM_SKYDOME
    return x[p].reshape(6, 1), P[np.ix_(p, p)]


def _state_from_ss(sv: Any, covar: Any) -> tuple[F64, F64]:
    """A Stone Soup (6, 1) state vector and covariance in skydome's order."""
    p = SKYDOME_FROM_SS
    x = np.asarray(sv, dtype=np.float64).reshape(6)[p]
    P = np.asarray(covar, dtype=np.float64)[np.ix_(p, p)]
    return x, 0.5 * (P + P.T)


def _measurement_model(cov_m2: F64) -> Any:
    lin = _ss("models.measurement.linear")
    return lin.LinearGaussian(ndim_state=6, mapping=POSITION_MAPPING, noise_covar=cov_m2)


def to_stonesoup_detections(det: Detections, epoch: datetime.datetime = EPOCH) -> list[Any]:
    """One scan as Stone Soup `Detection`s, in row order.

    Each detection's state vector is its (3, 1) ENU position, its measurement
    model a `LinearGaussian` on [x, vx, y, vy, z, vz] (mapping (0, 2, 4)) with
    that detection's covariance as noise; its metadata holds the exact time
    (``time_s``), the ``radar`` index, the ``polar`` measurement (range m,
    azimuth rad, elevation rad) and the ``truth`` id (bookkeeping only).

    Args:
        det: the scan, M detections.
        epoch: datetime of t = 0.
    """
    detection = _ss("types.detection")
    ts = seconds_to_datetime(det.time_s, epoch)
    return [
        detection.Detection(
            det.pos_m[i].reshape(3, 1),
            timestamp=ts,
            measurement_model=_measurement_model(det.cov_m2[i]),
            metadata={
                "time_s": float(det.time_s),
                "radar": int(det.radar),
                "polar": tuple(float(v) for v in det.polar[i]),
                "truth": int(det.truth[i]),
            },
        )
        for i in range(det.n)
    ]


def from_stonesoup_detections(
    detections: Sequence[Any],
    epoch: datetime.datetime = EPOCH,
    *,
    time_s: float | None = None,
    radar: int = 0,
) -> Detections:
    """Stone Soup detections of one scan (all at one time) as a skydome `Detections`.

    Metadata written by `to_stonesoup_detections` is used when present
    (exact time, radar, polar, truth); otherwise the time comes from the
    timestamps, the radar from `radar`, polar is NaN and truth -1. A detection
    without a measurement model has no covariance: refused.

    Args:
        detections: M Stone Soup detections of a Cartesian (x, y, z) position.
        epoch: datetime of t = 0.
        time_s: the scan time, s; taken from the detections if None (required
            when there are none).
        radar: radar index for detections without one in their metadata.
    """
    m = len(detections)
    pos = np.zeros((m, 3))
    cov = np.zeros((m, 3, 3))
    polar = np.full((m, 3), np.nan)
    truth = np.full(m, -1, dtype=np.int64)
    times = set()
    radars = set()
    for i, d in enumerate(detections):
        if d.measurement_model is None:
            raise ValueError(f"detection {i} has no measurement model (no covariance)")
        pos[i] = np.asarray(d.state_vector, dtype=np.float64).reshape(3)
        cov[i] = np.asarray(d.measurement_model.covar(), dtype=np.float64)
        md = d.metadata
        times.add(
            float(md["time_s"]) if "time_s" in md else _datetime_to_seconds(d.timestamp, epoch)
        )
        radars.add(int(md.get("radar", radar)))
        if "polar" in md:
            polar[i] = md["polar"]
        truth[i] = int(md.get("truth", -1))
    if time_s is None:
        if len(times) != 1:
            raise ValueError(f"expected detections of one time, got {len(times)} times")
        time_s = times.pop()
    if len(radars) > 1:
        raise ValueError(f"expected detections of one radar, got radars {sorted(radars)}")
    return Detections(float(time_s), radars.pop() if radars else radar, pos, cov, polar, truth)


def to_stonesoup_tracks(state: TrackState, epoch: datetime.datetime = EPOCH) -> list[Any]:
    """The air picture as Stone Soup `Track`s, one per row, each with its state at `time_s`.

    A track's id is the skydome track id (as text) and its metadata holds the
    bookkeeping fields (``track_id, hits, opportunities, misses, confirmed,
    born_s, last_update_s, truth, quality``).
    """
    track_t = _ss("types.track")
    st = _ss("types.state")
    ts = seconds_to_datetime(state.time_s, epoch)
    out = []
    for i in range(state.n):
        sv, covar = _state_to_ss(state.x[i], state.P[i])
        out.append(
            track_t.Track(
                [st.GaussianState(sv, covar, timestamp=ts)],
                id=str(int(state.track_id[i])),
                init_metadata=_bookkeeping(state, i),
            )
        )
    return out


_BOOKKEEPING = (
    "track_id",
    "hits",
    "opportunities",
    "misses",
    "confirmed",
    "born_s",
    "last_update_s",
    "truth",
    "quality",
)
"""The `TrackState` fields a Stone Soup track carries in its metadata."""


def _bookkeeping(state: TrackState, i: int) -> dict[str, Any]:
    return {
        "track_id": int(state.track_id[i]),
        "hits": int(state.hits[i]),
        "opportunities": int(state.opportunities[i]),
        "misses": int(state.misses[i]),
        "confirmed": bool(state.confirmed[i]),
        "born_s": float(state.born_s[i]),
        "last_update_s": float(state.last_update_s[i]),
        "truth": int(state.truth[i]),
        "quality": float(state.quality[i]),
    }


def from_stonesoup_tracks(
    tracks: Sequence[Any],
    time_s: float,
    epoch: datetime.datetime = EPOCH,
    *,
    next_id: int | None = None,
) -> TrackState:
    """Stone Soup tracks as skydome's air picture, valid at `time_s`.

    Each track's latest state is taken as its estimate (predict the tracks to
    `time_s` first if they are not there). Bookkeeping fields come from the
    track's metadata when `to_stonesoup_tracks` wrote them; otherwise the
    track id is the row number, the track counts as confirmed, its hits are
    its updates (states with a hypothesis), born and last-update times come
    from its first state and last update.

    Args:
        tracks: N Stone Soup tracks with Gaussian [x, vx, y, vy, z, vz] states.
        time_s: the time of the picture, s.
        epoch: datetime of t = 0.
        next_id: the next track id; one past the largest id if None.
    """
    n = len(tracks)
    x = np.zeros((n, 6))
    P = np.zeros((n, 6, 6))
    book: dict[str, list[Any]] = {k: [] for k in _BOOKKEEPING}
    for i, tr in enumerate(tracks):
        x[i], P[i] = _state_from_ss(tr.state_vector, tr.covar)
        md = tr.metadata
        updates = [s for s in tr.states if hasattr(s, "hypothesis")]
        hits = len(updates)
        last = _datetime_to_seconds(updates[-1].timestamp, epoch) if updates else float(time_s)
        default = {
            "track_id": i,
            "hits": hits,
            "opportunities": max(hits, 1),
            "misses": 0,
            "confirmed": True,
            "born_s": _datetime_to_seconds(tr.states[0].timestamp, epoch),
            "last_update_s": last,
            "truth": -1,
            "quality": 0.0,
        }
        for k in book:
            book[k].append(md.get(k, default[k]))

    def col(name: str, dtype: Any) -> NDArray[Any]:
        return np.asarray(book[name], dtype=dtype).reshape(n)

    ids = col("track_id", np.int64)
    if next_id is None:
        next_id = int(ids.max()) + 1 if n else 0
    return TrackState(
        time_s=float(time_s),
        next_id=int(next_id),
        x=x,
        P=P,
        track_id=ids,
        hits=col("hits", np.int64),
        opportunities=col("opportunities", np.int64),
        misses=col("misses", np.int64),
        confirmed=col("confirmed", np.bool_),
        born_s=col("born_s", np.float64),
        last_update_s=col("last_update_s", np.float64),
        truth=col("truth", np.int64),
        quality=col("quality", np.float64),
    )


@dataclass(frozen=True)
class StoneSoupTracker:
    """A Stone Soup tracker as skydome's tracker stage (the `Tracker` protocol).

    One `step` converts the air picture and the scan to Stone Soup objects,
    lets Stone Soup predict, hypothesise (Mahalanobis distance, gate = the
    square root of skydome's chi-square gate), associate (`GNNWith2DAssignment`,
    confirmed tracks first, then tentative tracks on the detections left, as
    Stone Soup's `MultiTargetTracker` with a `MultiMeasurementInitiator` does),
    update (Kalman) and initiate (`SimpleMeasurementInitiator`: at the
    detection, zero velocity, velocity standard deviation
    `init_velocity_sigma_mps`), and converts the result back. Track management
    (M-of-N confirmation, deletion after missed looks inside the radar's
    coverage, the track score) is skydome's `manage`, so a track is only
    charged a miss where the radar looked; Stone Soup's deleters know no
    coverage. Nothing is kept between steps: the step is a pure function of
    its inputs, deterministic.

    The motion model is Stone Soup's constant velocity with noise diffusion
    `params.q_mps2` ** 2 per axis (skydome's `CvModel`); the other filter
    choices of `TrackerParams.motion_model` are not mapped.

    Attributes:
        params: skydome's tracker settings (gate, confirmation, deletion, priors).
        epoch: datetime of t = 0 for Stone Soup's timestamps.
        predictor: a Stone Soup predictor; a `KalmanPredictor` with the
            constant-velocity model if None.
        updater: a Stone Soup updater; a `KalmanUpdater` if None (each
            detection brings its own measurement model).
    """

    params: TrackerParams
    epoch: datetime.datetime = EPOCH
    predictor: Any = None
    updater: Any = None
    _parts: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        p = self.params
        lin_t = _ss("models.transition.linear")
        predictor = self.predictor
        if predictor is None:
            cv = lin_t.ConstantVelocity(p.q_mps2**2)
            transition = lin_t.CombinedLinearGaussianTransitionModel([cv, cv, cv])
            predictor = _ss("predictor.kalman").KalmanPredictor(transition)
        updater = self.updater
        if updater is None:
            updater = _ss("updater.kalman").KalmanUpdater(_measurement_model(np.eye(3)))
        hypothesiser = _ss("hypothesiser.distance").DistanceHypothesiser(
            predictor,
            updater,
            measure=_ss("measures").Mahalanobis(),
            missed_distance=float(np.sqrt(gate_threshold(p.gate_probability))),
        )
        vs2 = p.init_velocity_sigma_mps**2
        prior = _ss("types.state").GaussianState(
            np.zeros((6, 1)), np.diag([0.0, vs2, 0.0, vs2, 0.0, vs2])
        )
        self._parts.update(
            predictor=predictor,
            updater=updater,
            associator=_ss("dataassociator.neighbour").GNNWith2DAssignment(hypothesiser),
            initiator=_ss("initiator.simple").SimpleMeasurementInitiator(prior_state=prior),
        )

    def predict(self, state: TrackState, t_s: float, rows: I64) -> F64:
        """(K, 6) track rows `rows` extrapolated to `t_s` by the Stone Soup predictor (means)."""
        out = state.x[rows].copy()
        if t_s == state.time_s or out.shape[0] == 0:
            return out
        st = _ss("types.state")
        ts = seconds_to_datetime(t_s, self.epoch)
        t0 = seconds_to_datetime(state.time_s, self.epoch)
        for a, i in enumerate(np.asarray(rows, dtype=np.int64).reshape(-1).tolist()):
            sv, covar = _state_to_ss(state.x[i], state.P[i])
            pred = self._parts["predictor"].predict(st.GaussianState(sv, covar, timestamp=t0), ts)
            out[a] = _state_from_ss(pred.state_vector, pred.covar)[0]
        return out

    def step(
        self, state: TrackState, det: Detections, coverage: CoverageFn
    ) -> tuple[TrackState, ScanReport]:
        """Process one radar scan: predict, associate, update, manage, initiate."""
        p = self.params
        t = det.time_s
        if state.n and t < state.time_s:
            raise ValueError(f"scan at t={t} s is older than the tracks (t={state.time_s} s)")
        ts = seconds_to_datetime(t, self.epoch)
        tracks = to_stonesoup_tracks(state, self.epoch)
        dets = to_stonesoup_detections(det, self.epoch)
        row = {id(d): j for j, d in enumerate(dets)}
        n = state.n
        x = state.x.copy()
        P = state.P.copy()
        dj = np.full(n, -1, dtype=np.int64)
        d2 = np.zeros(n)
        logdet = np.zeros(n)
        free = set(range(det.n))
        for group in (np.flatnonzero(state.confirmed), np.flatnonzero(~state.confirmed)):
            if group.size == 0:
                continue
            pool = {dets[j] for j in free}
            hyps = self._parts["associator"].associate({tracks[i] for i in group}, pool, ts)
            for i in group.tolist():  # tracks: Stone Soup is one object per track
                h = hyps[tracks[i]]
                if h:
                    post = self._parts["updater"].update(h)
                    j = row[id(h.measurement)]
                    dj[i] = j
                    free.discard(j)
                    d2[i] = float(h.distance) ** 2
                    S = np.asarray(h.measurement_prediction.covar, dtype=np.float64)
                    logdet[i] = float(np.linalg.slogdet(S)[1])
                else:
                    post = h.prediction
                x[i], P[i] = _state_from_ss(post.state_vector, post.covar)
        hit = dj >= 0
        expected = coverage(x[:, :3]) | hit if n else hit
        quality = state.quality + score_increment(
            hit, expected, d2, logdet, p.detection_probability, p.false_alarm_density_m3
        )
        truth = state.truth.copy()
        truth[hit] = det.truth[dj[hit]]
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
            x,
            P,
            quality,  # the SPRT confirmation threshold, as in the GNN tracker
        )
        nu = np.array(sorted(free), dtype=np.int64)
        k = nu.size
        bx = np.zeros((k, 6))
        bP = np.zeros((k, 6, 6))
        init = self._parts["initiator"]
        for a, j in enumerate(nu.tolist()):  # new tracks: one Stone Soup object each
            (born,) = init.initiate({dets[j]}, ts)
            bx[a], bP[a] = _state_from_ss(born.state_vector, born.covar)
        out, report = close_scan(
            state, m, t, p.confirm_m, truth, quality,
            np.concatenate([x[m.keep], bx]), np.concatenate([P[m.keep], bP]), det.truth[nu],
        )  # fmt: skip
        return out, report
