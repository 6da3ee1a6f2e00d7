"""Tracker interfaces and the track table handed to engagement planning."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.sensors.base import Detections

__all__ = [
    "CoverageFn",
    "Kinematics",
    "MotionFilter",
    "ScanReport",
    "TrackState",
    "Tracker",
]

B = NDArray[np.bool_]

CoverageFn = Callable[[F64], B]
"""Maps (N, 3) predicted positions to (N,) "the scanning radar should see it"."""


def _unset() -> F64:
    """Marker default of an optional array field: filled in by `__post_init__`."""
    return np.zeros(0)


@dataclass(frozen=True)
class Kinematics:
    """The filter part of N tracks: the estimate and each filter's own arrays.

    Attributes:
        x: (N, 6) combined estimate [x, y, z, vx, vy, vz], map frame, m and m/s.
        P: (N, 6, 6) its covariance.
        mode_x: (N, K, D) per-mode states of a multiple-model filter (K modes of
            dimension D), or the full state of a filter whose state is not
            [position, velocity] (K = 1, e.g. D = 9 with acceleration); K = 0
            when `x, P` are the whole filter state.
        mode_P: (N, K, D, D) their covariances.
        mode_prob: (N, K) mode probabilities (sum to 1 over K when K > 0).
    """

    x: F64
    P: F64
    mode_x: F64
    mode_P: F64
    mode_prob: F64

    @property
    def n(self) -> int:
        """Number of tracks."""
        return int(self.x.shape[0])

    @staticmethod
    def from_positions(z: F64, R: F64, velocity_sigma_mps: float) -> Kinematics:
        """Single-point initiation: at the measured position, zero velocity.

        Args:
            z: (M, 3) measured positions.
            R: (M, 3, 3) their covariances.
            velocity_sigma_mps: prior velocity standard deviation per axis.
        """
        m = z.shape[0]
        x = np.zeros((m, 6))
        x[:, :3] = z
        P = np.zeros((m, 6, 6))
        P[:, :3, :3] = R
        vs2 = velocity_sigma_mps**2
        P[:, 3, 3] = P[:, 4, 4] = P[:, 5, 5] = vs2
        return Kinematics(x, P, np.zeros((m, 0, 6)), np.zeros((m, 0, 6, 6)), np.zeros((m, 0)))

    def take(self, idx: B | I64) -> Kinematics:
        """The tracks at `idx` (indices or mask)."""
        return Kinematics(
            self.x[idx], self.P[idx], self.mode_x[idx], self.mode_P[idx], self.mode_prob[idx]
        )

    def put(self, idx: I64, part: Kinematics) -> Kinematics:
        """A copy with the tracks at `idx` replaced by `part` (same mode layout)."""
        out = []
        for a, b in zip(
            (self.x, self.P, self.mode_x, self.mode_P, self.mode_prob),
            (part.x, part.P, part.mode_x, part.mode_P, part.mode_prob),
            strict=True,
        ):
            if a.size:  # an empty mode array (a single-model filter) stays as it is
                a = a.copy()
                a[idx] = b
            out.append(a)
        return Kinematics(*out)

    @staticmethod
    def concat(a: Kinematics, b: Kinematics) -> Kinematics:
        """Tracks of `a` then tracks of `b`; an empty side adopts the other's layout."""
        if a.n == 0 and a.mode_x.shape[1:] != b.mode_x.shape[1:]:
            a = Kinematics(a.x, a.P, b.mode_x[:0], b.mode_P[:0], b.mode_prob[:0])
        if b.n == 0 and a.mode_x.shape[1:] != b.mode_x.shape[1:]:
            b = Kinematics(b.x, b.P, a.mode_x[:0], a.mode_P[:0], a.mode_prob[:0])
        return Kinematics(
            np.concatenate([a.x, b.x]),
            np.concatenate([a.P, b.P]),
            np.concatenate([a.mode_x, b.mode_x]),
            np.concatenate([a.mode_P, b.mode_P]),
            np.concatenate([a.mode_prob, b.mode_prob]),
        )


class MotionFilter(Protocol):
    """A batched filter for N tracks: pure functions of `Kinematics`.

    Implementations: `skydome.tracking.kalman.KalmanFilter` (one motion model)
    and `skydome.tracking.imm.ImmFilter` (interacting multiple models).
    """

    @property
    def n_modes(self) -> int:
        """K, the number of per-mode arrays the filter keeps in `Kinematics`."""
        ...

    def initiate(self, z: F64, R: F64, velocity_sigma_mps: float) -> Kinematics:
        """New tracks from (M, 3) positions with (M, 3, 3) covariances."""
        ...

    def predict(self, k: Kinematics, dt_s: float) -> Kinematics:
        """Every track `dt_s` ahead; `x, P` become the combined prediction."""
        ...

    def update(self, k: Kinematics, z: F64, R: F64) -> Kinematics:
        """Track i updated with position measurement i: z (N, 3), R (N, 3, 3)."""
        ...


@dataclass(frozen=True)
class TrackState:
    """Every track, struct of arrays (N tracks), all valid at `time_s`.

    Attributes:
        time_s: common time of all states, s.
        next_id: the id the next new track will get.
        x: (N, 6) state [x, y, z, vx, vy, vz], map frame, m and m/s.
        P: (N, 6, 6) state covariance.
        track_id: (N,) stable ids, never reused.
        hits: (N,) detections associated so far.
        opportunities: (N,) scans that should have seen the track.
        misses: (N,) consecutive missed opportunities.
        confirmed: (N,) passed M-of-N confirmation.
        born_s: (N,) time of the first detection.
        last_update_s: (N,) time of the last associated detection.
        truth: (N,) threat id of the last associated detection (bookkeeping only).
        quality: (N,) track score: the log-likelihood ratio of "target" against
            "false alarms" accumulated over the track's looks (Blackman & Popoli,
            *Design and Analysis of Modern Tracking Systems*, sec. 6.2); zeros
            when omitted.
        mode_x: (N, K, D) filter-specific per-mode states (see `Kinematics`);
            K = 0 when omitted.
        mode_P: (N, K, D, D) their covariances.
        mode_prob: (N, K) mode probabilities (IMM).
    """

    time_s: float
    next_id: int
    x: F64
    P: F64
    track_id: I64
    hits: I64
    opportunities: I64
    misses: I64
    confirmed: B
    born_s: F64
    last_update_s: F64
    truth: I64
    quality: F64 = field(default_factory=_unset)
    mode_x: F64 = field(default_factory=_unset)
    mode_P: F64 = field(default_factory=_unset)
    mode_prob: F64 = field(default_factory=_unset)

    def __post_init__(self) -> None:
        n = int(self.track_id.shape[0])
        # Fill the optional fields a caller left out (older code builds TrackState
        # from the first twelve fields only).
        if self.quality.shape != (n,):
            object.__setattr__(self, "quality", np.zeros(n))
        if self.mode_x.ndim != 3 or self.mode_x.shape[0] != n:
            object.__setattr__(self, "mode_x", np.zeros((n, 0, 6)))
            object.__setattr__(self, "mode_P", np.zeros((n, 0, 6, 6)))
            object.__setattr__(self, "mode_prob", np.zeros((n, 0)))

    @staticmethod
    def empty(time_s: float = 0.0) -> TrackState:
        """No tracks."""
        z = np.zeros(0, dtype=np.int64)
        return TrackState(
            time_s=time_s,
            next_id=0,
            x=np.zeros((0, 6)),
            P=np.zeros((0, 6, 6)),
            track_id=z,
            hits=z,
            opportunities=z,
            misses=z,
            confirmed=np.zeros(0, dtype=bool),
            born_s=np.zeros(0),
            last_update_s=np.zeros(0),
            truth=z,
        )

    @property
    def n(self) -> int:
        """Number of tracks."""
        return int(self.track_id.shape[0])

    @property
    def kinematics(self) -> Kinematics:
        """The filter arrays of every track."""
        return Kinematics(self.x, self.P, self.mode_x, self.mode_P, self.mode_prob)

    def select(self, keep: B | I64) -> TrackState:
        """The tracks where `keep` is True (or at the given indices)."""
        return replace(
            self,
            x=self.x[keep],
            P=self.P[keep],
            track_id=self.track_id[keep],
            hits=self.hits[keep],
            opportunities=self.opportunities[keep],
            misses=self.misses[keep],
            confirmed=self.confirmed[keep],
            born_s=self.born_s[keep],
            last_update_s=self.last_update_s[keep],
            truth=self.truth[keep],
            quality=self.quality[keep],
            mode_x=self.mode_x[keep],
            mode_P=self.mode_P[keep],
            mode_prob=self.mode_prob[keep],
        )


@dataclass(frozen=True)
class ScanReport:
    """What one scan changed, for the event log.

    Attributes:
        confirmed_ids: tracks confirmed by this scan.
        confirmed_truth: their truth ids.
        deleted_ids: tracks dropped by this scan (confirmed ones only).
        deleted_truth: their truth ids.
    """

    confirmed_ids: I64
    confirmed_truth: I64
    deleted_ids: I64
    deleted_truth: I64

    @staticmethod
    def of_scan(
        prev_ids: I64,
        prev_truth: I64,
        newly: NDArray[np.bool_],
        dropped: NDArray[np.bool_],
        born_ids: I64,
        born_truth: I64,
        born_confirmed: NDArray[np.bool_],
    ) -> ScanReport:
        """The report of a scan that managed the previous tracks and initiated new ones.

        Args:
            prev_ids: (T,) the tracks before the scan.
            prev_truth: (T,) their truth ids.
            newly: (T,) previous tracks this scan confirmed.
            dropped: (T,) previous tracks this scan deleted.
            born_ids: (K,) tracks initiated by this scan.
            born_truth: (K,) their truth ids.
            born_confirmed: (K,) confirmed at birth (M-of-N with M = 1), all or none.
        """
        conf_ids = [prev_ids[newly]]
        conf_truth = [prev_truth[newly]]
        if born_confirmed.any():
            conf_ids.append(born_ids)
            conf_truth.append(born_truth)
        return ScanReport(
            confirmed_ids=np.concatenate(conf_ids),
            confirmed_truth=np.concatenate(conf_truth),
            deleted_ids=prev_ids[dropped],
            deleted_truth=prev_truth[dropped],
        )


class Tracker(Protocol):
    """A multi-target tracker: one pure step per radar scan."""

    def step(
        self, state: TrackState, det: Detections, coverage: CoverageFn
    ) -> tuple[TrackState, ScanReport]:
        """Predict every track to `det.time_s`, associate, update, manage, initiate."""
        ...

    def predict(self, state: TrackState, t_s: float, rows: NDArray[np.int64]) -> F64:
        """(K, 6) position and velocity of the track rows `rows` extrapolated to `t_s`.

        The engine never extrapolates a track itself: threat evaluation, planning
        and recording ask the tracker, which knows its motion model. Must not
        change `state`; `t_s` may equal `state.time_s` (no motion).
        """
        ...
