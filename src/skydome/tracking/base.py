"""Tracker interface and the track table handed to engagement planning."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from skydome.sensors.base import Detections

__all__ = ["CoverageFn", "ScanReport", "Tracker", "TrackState"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]

CoverageFn = Callable[[F64], B]
"""Maps (N, 3) predicted positions to (N,) "the scanning radar should see it"."""


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


class Tracker(Protocol):
    """A multi-target tracker: one pure step per radar scan."""

    def step(
        self, state: TrackState, det: Detections, coverage: CoverageFn
    ) -> tuple[TrackState, ScanReport]:
        """Predict every track to `det.time_s`, associate, update, manage, initiate."""
        ...
