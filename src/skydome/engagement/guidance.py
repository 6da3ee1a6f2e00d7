"""Guided flyout kernel: 3-DOF point-mass interceptors with proportional navigation.

Every missile in the air is one row; one `step` advances all of them at once.
Forces per missile (map frame, z up, flat earth):

* thrust T along the velocity while the motor burns, with mass flow
  T / (Isp g0) (boost, then an optional sustain phase);
* drag 0.5 rho(h) V^2 Cd A against the velocity, in an exponential atmosphere
  rho(h) = rho0 exp(-h / H), H = 7.2 km;
* gravity -g0 z;
* the guidance command, perpendicular to the velocity and limited to
  a_max(h) = a_max0 * rho(h) / rho0 (aerodynamic control weakens with altitude;
  `a_limit_floor_mps2` keeps some authority above the atmosphere).

Guidance is (true) proportional navigation, a_c = N' V_c (omega x u_los), with
omega the line-of-sight rate vector and V_c the closing speed; augmented PN adds
N'/2 times the target acceleration normal to the line of sight (Zarchan,
*Tactical and Strategic Missile Guidance*, 6th ed., ch. 2 and 8). A flight ends
at closest approach (range rate turning positive), and the miss distance is the
closest approach of the straight-line relative motion within that last step.

This module is the validated kernel; the engine's `guided` fidelity level is
built on it (see docs/models.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "G0",
    "MissilePhysics",
    "MissileState",
    "air_density",
    "pn_command",
    "step",
]

F64 = NDArray[np.float64]
B = NDArray[np.bool_]

G0 = 9.80665
"""Standard gravity, m/s^2."""
RHO0 = 1.225
"""Sea-level air density, kg/m^3."""
SCALE_HEIGHT_M = 7200.0
"""Exponential-atmosphere scale height, m."""


def air_density(h_m: F64) -> F64:
    """Exponential atmosphere rho0 exp(-h/H), kg/m^3 (h clipped at 0)."""
    out: F64 = RHO0 * np.exp(-np.maximum(h_m, 0.0) / SCALE_HEIGHT_M)
    return out


@dataclass(frozen=True)
class MissilePhysics:
    """Physical parameters of each missile in flight (K rows).

    Attributes:
        boost_thrust_n, boost_s: first motor phase.
        sustain_thrust_n, sustain_s: second phase (0 for a single-pulse motor).
        isp_s: specific impulse, s (sets the mass flow).
        cd_area_m2: drag coefficient times reference area, m^2 (0: no drag).
        a_limit_mps2: lateral acceleration limit at sea level.
        a_limit_floor_mps2: lateral limit never drops below this.
        nav_gain: effective navigation ratio N'.
        augmented: add N'/2 times the target's normal acceleration (APN).
        gravity: apply gravity (off for the textbook oracles).
    """

    boost_thrust_n: F64
    boost_s: F64
    sustain_thrust_n: F64
    sustain_s: F64
    isp_s: F64
    cd_area_m2: F64
    a_limit_mps2: F64
    a_limit_floor_mps2: F64
    nav_gain: F64
    augmented: B
    gravity: bool = True


@dataclass(frozen=True)
class MissileState:
    """Missiles in flight (K rows).

    Attributes:
        t_s: time since launch, s.
        pos_m: (K, 3) position.
        vel_mps: (K, 3) velocity.
        mass_kg: (K,) current mass.
        done: (K,) flight over (closest approach passed).
        miss_m: (K,) miss distance at closest approach (nan while flying).
        t_end_s: (K,) time of closest approach (nan while flying).
    """

    t_s: F64
    pos_m: F64
    vel_mps: F64
    mass_kg: F64
    done: B
    miss_m: F64
    t_end_s: F64

    @staticmethod
    def launch(pos_m: F64, vel_mps: F64, mass_kg: F64) -> MissileState:
        """Missiles at launch (t = 0)."""
        k = pos_m.shape[0]
        return MissileState(
            t_s=np.zeros(k),
            pos_m=pos_m.astype(np.float64).copy(),
            vel_mps=vel_mps.astype(np.float64).copy(),
            mass_kg=mass_kg.astype(np.float64).copy(),
            done=np.zeros(k, dtype=bool),
            miss_m=np.full(k, np.nan),
            t_end_s=np.full(k, np.nan),
        )


def pn_command(
    r_rel_m: F64, v_rel_mps: F64, nav_gain: F64, target_acc_mps2: F64 | None = None
) -> F64:
    """Proportional-navigation acceleration command (K, 3).

    a_c = N' V_c (omega x u), omega = (r x v) / |r|^2, u = r / |r|,
    V_c = -(r . v) / |r|; with `target_acc_mps2`, plus N'/2 times its part
    normal to the line of sight (augmented PN).

    Args:
        r_rel_m: (K, 3) target position minus missile position.
        v_rel_mps: (K, 3) target velocity minus missile velocity.
        nav_gain: (K,) N'.
        target_acc_mps2: (K, 3) target acceleration, for APN rows (None: PN).
    """
    r2 = np.maximum(np.sum(r_rel_m * r_rel_m, axis=1), 1e-12)
    rn = np.sqrt(r2)
    u = r_rel_m / rn[:, None]
    omega = np.cross(r_rel_m, v_rel_mps) / r2[:, None]
    vc = -np.sum(r_rel_m * v_rel_mps, axis=1) / rn
    a: F64 = (nav_gain * vc)[:, None] * np.cross(omega, u)
    if target_acc_mps2 is not None:
        at_n = target_acc_mps2 - np.sum(target_acc_mps2 * u, axis=1)[:, None] * u
        a = a + 0.5 * nav_gain[:, None] * at_n
    return a


def _thrust(phys: MissilePhysics, t: F64) -> F64:
    boost = t < phys.boost_s
    sustain = ~boost & (t < phys.boost_s + phys.sustain_s)
    out: F64 = np.where(boost, phys.boost_thrust_n, np.where(sustain, phys.sustain_thrust_n, 0.0))
    return out


def step(
    s: MissileState,
    phys: MissilePhysics,
    target_pos_m: F64,
    target_vel_mps: F64,
    target_acc_mps2: F64,
    dt_s: float,
) -> tuple[MissileState, F64]:
    """Advance every flying missile by `dt_s` (semi-implicit Euler).

    The target is taken to move with constant acceleration over the step (its
    state is given at the start of the step).

    Args:
        s: the missiles.
        phys: their physics.
        target_pos_m: (K, 3) each missile's target position now.
        target_vel_mps: (K, 3) its velocity now.
        target_acc_mps2: (K, 3) its acceleration now.
        dt_s: time step, s.

    Returns:
        The new state and the lateral acceleration achieved this step (K, 3).
    """
    fly = ~s.done
    v = s.vel_mps
    speed = np.maximum(np.linalg.norm(v, axis=1), 1e-9)
    along = v / speed[:, None]
    h = s.pos_m[:, 2]
    rho = air_density(h)
    r_rel = target_pos_m - s.pos_m
    v_rel = target_vel_mps - v
    acc_t = np.where(phys.augmented[:, None], target_acc_mps2, 0.0)
    a_cmd = pn_command(r_rel, v_rel, phys.nav_gain, acc_t)
    a_cmd = a_cmd - np.sum(a_cmd * along, axis=1)[:, None] * along  # normal to velocity
    limit = np.maximum(phys.a_limit_mps2 * rho / RHO0, phys.a_limit_floor_mps2)
    mag = np.linalg.norm(a_cmd, axis=1)
    a_lat = a_cmd * np.minimum(1.0, limit / np.maximum(mag, 1e-12))[:, None]
    thrust = _thrust(phys, s.t_s)
    drag = 0.5 * rho * speed * speed * phys.cd_area_m2
    acc = a_lat + ((thrust - drag) / s.mass_kg)[:, None] * along
    if phys.gravity:
        acc[:, 2] -= G0
    vel_new = v + acc * dt_s
    pos_new = s.pos_m + vel_new * dt_s
    mass_new = s.mass_kg - thrust / (phys.isp_s * G0) * dt_s
    # Closest approach within the step: straight-line relative motion.
    tp_new = target_pos_m + target_vel_mps * dt_s + 0.5 * target_acc_mps2 * dt_s**2
    r1 = tp_new - pos_new
    closing_after = np.sum(r1 * (target_vel_mps + target_acc_mps2 * dt_s - vel_new), axis=1) < 0
    ended = fly & ~closing_after
    dr = r1 - r_rel
    tau = np.clip(-np.sum(r_rel * dr, axis=1) / np.maximum(np.sum(dr * dr, axis=1), 1e-18), 0, 1)
    miss = np.linalg.norm(r_rel + dr * tau[:, None], axis=1)
    keep = fly[:, None]
    out = MissileState(
        t_s=np.where(fly, s.t_s + dt_s, s.t_s),
        pos_m=np.where(keep, pos_new, s.pos_m),
        vel_mps=np.where(keep, vel_new, s.vel_mps),
        mass_kg=np.where(fly, mass_new, s.mass_kg),
        done=s.done | ended,
        miss_m=np.where(ended, miss, s.miss_m),
        t_end_s=np.where(ended, s.t_s + tau * dt_s, s.t_end_s),
    )
    return out, np.where(keep, a_lat, 0.0)
