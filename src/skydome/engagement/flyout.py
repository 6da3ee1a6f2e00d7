"""Interceptor flyout, kinematic level: average speed along a straight line.

A missile launched at t_launch flies at its type's average speed to the
predicted intercept point (PIP) computed from the track at decision time; it
arrives at t_intercept, known at launch, so no integration is needed. Midcourse
guidance keeps moving the aim point to the fire-control track's latest
estimate (`midcourse_update`); if the track is lost the missile flies to its
last aim point. Terminal homing is summarised by the type's homing basket: the
aim-point error it can still remove.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64, concat_rows, find_ids, take_rows
from skydome.engagement.geometry import time_of_flight
from skydome.tracking.base import TrackState

__all__ = ["InFlight", "kinematic_flyout", "midcourse_update", "track_status"]


@dataclass(frozen=True)
class InFlight:
    """Missiles launched and not yet resolved, struct of arrays (K missiles).

    Attributes:
        missile_id: (K,) unique id of each missile in the run.
        battery: (K,) firing battery.
        mtype: (K,) missile type.
        track_id: (K,) track engaged.
        threat: (K,) threat the track follows (-1: none; bookkeeping only).
        t_launch_s: (K,) launch time.
        t_intercept_s: (K,) arrival at the PIP.
        pip_m: (K, 3) predicted intercept point, map frame.
    """

    missile_id: I64
    battery: I64
    mtype: I64
    track_id: I64
    threat: I64
    t_launch_s: F64
    t_intercept_s: F64
    pip_m: F64

    @staticmethod
    def empty() -> InFlight:
        """No missiles in flight."""
        i = np.zeros(0, dtype=np.int64)
        f = np.zeros(0)
        return InFlight(i, i, i, i, i, f, f, np.zeros((0, 3)))

    @property
    def n(self) -> int:
        """Number of missiles."""
        return int(self.battery.shape[0])

    def take(self, sel: NDArray[np.bool_] | I64) -> InFlight:
        """The missiles selected by a mask or index array."""
        return take_rows(self, sel)

    def concat(self, other: InFlight) -> InFlight:
        """These missiles followed by `other`'s."""
        return concat_rows(self, other)


def kinematic_flyout(
    t_now_s: float,
    track_pos_m: F64,
    track_vel_mps: F64,
    launch_pos_m: F64,
    launch_delay_s: F64,
    speed_mps: F64,
) -> tuple[F64, F64, F64]:
    """Launch and intercept times and PIPs for K missiles, one per row.

    Args:
        t_now_s: decision time, s.
        track_pos_m: (K, 3) engaged track's position at decision time.
        track_vel_mps: (K, 3) its velocity.
        launch_pos_m: (K, 3) launcher position.
        launch_delay_s: (K,) decision-to-launch delay (reaction + launcher queue).
        speed_mps: (K,) missile average speed.

    Returns:
        (t_launch_s, t_intercept_s, pip_m): (K,), (K,), (K, 3); t_intercept is
        inf where the missile can no longer catch the track.
    """
    d = track_pos_m + track_vel_mps * launch_delay_s[:, None] - launch_pos_m
    tof = time_of_flight(d, track_vel_mps, speed_mps)
    t_launch = t_now_s + launch_delay_s
    t_int = t_launch + tof
    dt = np.where(np.isfinite(tof), launch_delay_s + tof, 0.0)
    pip = track_pos_m + track_vel_mps * dt[:, None]
    return t_launch, t_int, pip


def track_status(track_id: I64, tracks: TrackState) -> tuple[NDArray[np.bool_], I64, I64]:
    """Which fire-control tracks are still held, and what they follow.

    Args:
        track_id: (K,) track each missile was fired at.
        tracks: the current air picture.

    Returns:
        (held, row, truth): (K,) the track is in the picture; its row there
        (0 where not held); the threat it follows now (its truth label,
        bookkeeping only; -1 where not held or a false track).
    """
    held, row = find_ids(tracks.track_id, track_id)
    truth = np.full(track_id.shape[0], -1, dtype=np.int64)
    truth[held] = tracks.truth[row[held]]
    return held, row, truth


def midcourse_update(due: InFlight, tracks: TrackState) -> InFlight:
    """Move each missile's aim point to its track's estimate at intercept time.

    The track state (valid at `tracks.time_s`) is extrapolated at constant
    velocity to each missile's intercept time. Missiles whose track no longer
    exists keep their previous aim point.

    Args:
        due: missiles about to reach their aim points.
        tracks: the current air picture.

    Returns:
        `due` with `pip_m` replaced where the track is still held.
    """
    held, row, _ = track_status(due.track_id, tracks)
    x = tracks.x[row[held]]
    dt = due.t_intercept_s[held] - tracks.time_s
    pip = due.pip_m.copy()
    pip[held] = x[:, :3] + x[:, 3:] * dt[:, None]
    return InFlight(
        due.missile_id,
        due.battery,
        due.mtype,
        due.track_id,
        due.threat,
        due.t_launch_s,
        due.t_intercept_s,
        pip,
    )
