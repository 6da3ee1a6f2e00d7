"""Intercept geometry: predicted intercept points for every (track, battery, type).

A missile of average speed s launched after delay tau from battery position b
meets a constant-velocity target (x, v) after flight time T solving
|x + v (tau + T) - b| = s T, i.e. (v.v - s^2) T^2 + 2 (d.v) T + d.d = 0 with
d = x + v tau - b (the classic constant-speed pursuit-intercept quadratic;
Zarchan, *Tactical and Strategic Missile Guidance*, ch. 2 gives the
collision-course geometry). The smallest positive root is taken.

Guided runs plan with each type's own flights instead
(`skydome.engagement.flyout_table.table_intercept_grid`); both check the
envelope with `envelope_grid`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.engagement.params import BatteryParams, MissileParams

__all__ = [
    "InterceptGrid",
    "envelope_grid",
    "intercept_grid",
    "target_speed_limit",
    "time_of_flight",
]

B = NDArray[np.bool_]


def time_of_flight(d_m: F64, v_mps: F64, speed_mps: F64) -> F64:
    """Flight time to meet a constant-velocity target, broadcasting.

    Args:
        d_m: (..., 3) target position at launch relative to the launcher.
        v_mps: (..., 3) target velocity.
        speed_mps: (...) missile average speed.

    Returns:
        (...) smallest non-negative root T of |d + v T| = s T; inf where none.
    """
    vv = np.sum(v_mps * v_mps, axis=-1)
    dv = np.sum(d_m * v_mps, axis=-1)
    dd = np.sum(d_m * d_m, axis=-1)
    a = vv - speed_mps * speed_mps
    disc = dv * dv - a * dd
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        sq = np.sqrt(np.maximum(disc, 0.0))
        # The smallest non-negative root is (-dv - sq) / a, written in the
        # cancellation-free form dd / (sq - dv): exact also for a == 0 (equal
        # speeds) and well-conditioned for |a| << dv^2. It exists when the
        # missile is faster (a < 0) or the target is closing (dv < 0).
        root = np.where((a < 0.0) | (dv < 0.0), dd / (sq - dv), np.inf)
    ok = (disc >= 0.0) & np.isfinite(root) & (root >= 0.0)
    tof: F64 = np.where(dd == 0.0, 0.0, np.where(ok, root, np.inf))
    return tof


@dataclass(frozen=True)
class InterceptGrid:
    """Intercept solutions, each field (N tracks, B batteries, M types).

    Attributes:
        tof_s: missile time of flight, s (inf where no solution).
        t_intercept_rel_s: reaction delay + flight time, s from now.
        pip_m: (N, B, M, 3) predicted intercept point.
        feasible: solution exists and lies inside the type's envelope.
    """

    tof_s: F64
    t_intercept_rel_s: F64
    pip_m: F64
    feasible: B


def intercept_grid(
    pos_m: F64,
    vel_mps: F64,
    batteries: BatteryParams,
    missiles: MissileParams,
    deadline_rel_s: F64,
    threat_type: I64 | None = None,
) -> InterceptGrid:
    """Solve every intercept at each type's average speed and check it against its envelope.

    The envelope (`envelope_grid`): ground range from the battery to the PIP
    in [min, max], PIP altitude in [min, max], target speed below the type's
    limit against the track's threat type, flight time within the type's
    limit, and the intercept before the track's deadline (e.g. its
    time-to-go to the asset).

    Args:
        pos_m: (N, 3) track positions now.
        vel_mps: (N, 3) track velocities.
        batteries: the batteries (B).
        missiles: the missile library (M).
        deadline_rel_s: (N,) latest useful intercept, s from now.
        threat_type: (N,) threat type each track is identified as (-1:
            unknown); None: all unknown (each missile type's default limit).

    Returns:
        The grid of solutions.
    """
    tau = batteries.reaction_s[None, :, None]  # (1, B, 1)
    x = pos_m[:, None, None, :]
    v = vel_mps[:, None, None, :]
    d = x + v * tau[..., None] - batteries.pos_m[None, :, None, :]  # (N, B, 1, 3)
    tof = time_of_flight(d, v, missiles.speed_mps[None, None, :])
    return envelope_grid(
        pos_m, vel_mps, batteries, missiles, deadline_rel_s, tof, threat_type=threat_type
    )


def target_speed_limit(missiles: MissileParams, threat_type: I64 | None, n: int) -> F64:
    """(N, 1, M) fastest target each missile type can engage, per track's threat type.

    Args:
        missiles: the missile library (M).
        threat_type: (N,) threat type of each track (-1: unknown); None: all unknown.
        n: number of tracks N.

    Returns:
        m/s, broadcasting over the (N, B, M) grid.
    """
    tt = np.full(n, -1, dtype=np.int64) if threat_type is None else threat_type
    m = np.arange(missiles.speed_mps.shape[0])
    return missiles.max_target_speed_of(m[None, :], tt[:, None])[:, None, :]


def envelope_grid(
    pos_m: F64,
    vel_mps: F64,
    batteries: BatteryParams,
    missiles: MissileParams,
    deadline_rel_s: F64,
    tof_s: F64,
    reach_m: F64 | None = None,
    threat_type: I64 | None = None,
) -> InterceptGrid:
    """The grid of intercepts given each one's time of flight, checked against the envelope.

    Args:
        pos_m: (N, 3) track positions now.
        vel_mps: (N, 3) track velocities.
        batteries: the batteries (B).
        missiles: the missile library (M).
        deadline_rel_s: (N,) latest useful intercept, s from now.
        tof_s: (N, B, M) missile time of flight (inf: no solution), s.
        reach_m: (N, B, M) farthest ground range the missile reaches at the
            PIP's altitude (its physics; a tighter limit than the tabled max
            range where smaller); None: the tabled max range alone.
        threat_type: (N,) threat type each track is identified as (-1:
            unknown, the missile type's default target speed limit); None: all unknown.

    Returns:
        The grid of solutions.
    """
    tau = batteries.reaction_s[None, :, None]  # (1, B, 1)
    x = pos_m[:, None, None, :]
    v = vel_mps[:, None, None, :]
    vv = np.sum(v * v, axis=3)
    t_rel = tau + tof_s
    finite = np.isfinite(tof_s)
    pip = x + v * np.where(finite, t_rel, 0.0)[..., None]
    dg = pip[..., :2] - batteries.pos_m[None, :, None, :2]
    ground = np.sqrt(np.sum(dg * dg, axis=3))  # np.linalg.norm's arithmetic, without its wrapper
    alt = pip[..., 2]
    speed = np.sqrt(vv)
    max_range = missiles.max_range_m[None, None, :]
    if reach_m is not None:
        max_range = np.minimum(max_range, reach_m)
    feasible = (
        finite
        & (ground >= missiles.min_range_m[None, None, :])
        & (ground <= max_range)
        & (alt >= missiles.min_alt_m[None, None, :])
        & (alt <= missiles.max_alt_m[None, None, :])
        & (speed <= target_speed_limit(missiles, threat_type, pos_m.shape[0]))
        & (t_rel <= deadline_rel_s[:, None, None])
        & (tof_s <= missiles.max_tof_s[None, None, :])
    )
    return InterceptGrid(tof_s=tof_s, t_intercept_rel_s=t_rel, pip_m=pip, feasible=feasible)
