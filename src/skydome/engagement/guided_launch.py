"""Launch geometry of the guided flyout: pointed or vertical launch, turn-over, lofted aim points.

`skydome.engagement.guided` flies the missiles; this module says where a
missile points when it leaves its launcher and where it aims in a lofted
midcourse (see that module's docstring for the phases of a flight).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.engagement.guidance import MissileState
from skydome.engagement.params import TypePhysics

__all__ = [
    "LAUNCH_HEIGHT_M",
    "LAUNCH_SPEED_MPS",
    "LOFT_LEAD_M",
    "MIN_LAUNCH_ELEVATION_RAD",
    "launch_velocity",
    "lofted",
    "pointed",
    "turn_over",
]

B = NDArray[np.bool_]

LAUNCH_SPEED_MPS = 50.0
"""Speed of a missile leaving its launcher, m/s."""

LAUNCH_HEIGHT_M = 5.0
"""A missile leaves its launcher at least this high, m."""

MIN_LAUNCH_ELEVATION_RAD = float(np.radians(10.0))
"""Lowest initial flight-path angle, rad."""

LOFT_LEAD_M = 5_000.0
"""Cruising at the loft ceiling, the aim point is at least this far ahead, m."""


def lofted(aim: F64, pos: F64, loft_rad: F64, ceiling_m: F64) -> tuple[F64, B]:
    """Midcourse aim point of a lofted trajectory (K, 3).

    Far from the target the missile aims at a point at `ceiling_m` altitude
    ahead of it along the ground track, as far ahead as a climb at `loft_rad`
    needs (at least `LOFT_LEAD_M`): it climbs at that angle, then cruises.
    Once a descent at the same angle would reach the target, it aims at the
    target itself. `loft_rad` 0 (or a target above the ceiling): the target.

    Returns:
        The aim points and whether each is the target itself (not a loft point).
    """
    d = aim[:, :2] - pos[:, :2]
    ground = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)
    tan = np.tan(loft_rad)
    descend = (loft_rad <= 0.0) | (ground * tan <= ceiling_m - aim[:, 2])
    lead = np.clip((ceiling_m - pos[:, 2]) / np.maximum(tan, 1e-9), LOFT_LEAD_M, ground)
    out = aim.copy()
    ahead = pos[:, :2] + d * (lead / ground)[:, None]
    up = ~descend
    out[up, :2] = ahead[up]
    out[up, 2] = ceiling_m[up]
    return out, descend


def pointed(aim_m: F64, start_m: F64, tp: TypePhysics, m: I64) -> F64:
    """Unit launch direction (K, 3) of a pointed launch.

    Towards the first (lofted) aim point, at least `MIN_LAUNCH_ELEVATION_RAD`
    above the horizon (a low target is met by a dive, not by skimming the ground).
    """
    first, _ = lofted(aim_m, start_m, tp.loft_rad[m], tp.loft_ceiling_m[m])
    d = first - start_m
    ground = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)
    el = np.maximum(np.arctan2(d[:, 2], ground), MIN_LAUNCH_ELEVATION_RAD)
    out: F64 = np.column_stack(
        [np.cos(el) * d[:, 0] / ground, np.cos(el) * d[:, 1] / ground, np.sin(el)]
    )
    return out


def launch_velocity(pip_m: F64, start_m: F64, tp: TypePhysics, m: I64) -> F64:
    """Launch velocity (K, 3), m/s.

    `LAUNCH_SPEED_MPS` along the pointed direction (`pointed`), or straight up
    for a type that launches vertically (it then turns over, `turn_over`).
    """
    u = pointed(pip_m, start_m, tp, m)
    u[tp.vertical_launch[m]] = (0.0, 0.0, 1.0)
    out: F64 = LAUNCH_SPEED_MPS * u
    return out


def turn_over(s: MissileState, aim_m: F64, tp: TypePhysics, m: I64, h: float) -> MissileState:
    """The turn-over of vertically launched missiles, after a step of `h` s.

    A vertical launch (`TypePhysics.vertical_launch`) leaves the launcher straight
    up; gas-dynamic or thrust-vector control then turns the velocity at
    `turnover_rad_s` towards the pointed launch direction (`pointed`, from the
    missile's position to its first aim point) -- kinematically: the direction
    is turned, the speed kept. The turn-over lasts at most (pi/2) / rate after
    launch (plus one step); guidance takes over from there (the achieved lateral
    acceleration starts from zero). Rows of other types are returned unchanged.

    Args:
        s: the missiles after the step (K rows).
        aim_m: (K, 3) each missile's aim point.
        tp: the library's physics.
        m: (K,) each missile's type.
        h: the step just taken, s.
    """
    rate = tp.turnover_rad_s[m]
    turning = tp.vertical_launch[m] & ~s.done & (s.t_s - h < 0.5 * np.pi / rate)
    if not turning.any():
        return s
    r = np.flatnonzero(turning)
    v = s.vel_mps[r]
    speed = np.maximum(np.linalg.norm(v, axis=1), 1e-9)
    u = v / speed[:, None]
    want = pointed(aim_m[r], s.pos_m[r], tp, m[r])
    cos = np.clip(np.sum(u * want, axis=1), -1.0, 1.0)
    angle = np.arccos(cos)
    turn = np.minimum(angle, rate[r] * h)
    # Rotate u towards `want` by `turn` in their plane.
    perp = want - cos[:, None] * u
    pn = np.linalg.norm(perp, axis=1)
    e2 = np.where(pn[:, None] > 1e-12, perp / np.maximum(pn, 1e-12)[:, None], 0.0)
    new_u = np.cos(turn)[:, None] * u + np.sin(turn)[:, None] * e2
    vel = s.vel_mps.copy()
    vel[r] = new_u * speed[:, None]
    acc = s.acc_mps2.copy()
    acc[r] = 0.0
    return replace(s, vel_mps=vel, acc_mps2=acc)
