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
  `a_limit_floor_mps2` keeps some authority above the atmosphere), or, where a
  lift area S C_L,max is given, to the aerodynamic limit q S C_L,max / m with
  q = rho V^2 / 2, capped by the structural a_max0.

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

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64
from skydome.constants import G0_MPS2, RHO0_KG_M3, SCALE_HEIGHT_M

__all__ = [
    "G0",
    "MissilePhysics",
    "MissileState",
    "air_density",
    "lateral_limit",
    "pn_command",
    "step",
]

B = NDArray[np.bool_]

G0 = G0_MPS2
"""Standard gravity, m/s^2 (`skydome.constants.G0_MPS2`)."""
RHO0 = RHO0_KG_M3
"""Sea-level air density, kg/m^3 (`skydome.constants.RHO0_KG_M3`)."""


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
        lift_area_m2: S C_L,max per missile (nan or None: the rho-scaled limit).
        gravity_bias: add gravity compensation (+g normal to the velocity) to the
            guidance command, so PN need not first build a heading error to hold
            altitude (Zarchan, ch. on gravity compensation).
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
    lift_area_m2: F64 | None = None
    gravity_bias: bool = False


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


def _cross(a: F64, b: F64) -> F64:
    """Row-wise cross product of (K, 3) arrays (np.cross costs more at small K)."""
    out = np.empty_like(a)
    out[:, 0] = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    out[:, 1] = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    out[:, 2] = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return out


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
    omega = _cross(r_rel_m, v_rel_mps) / r2[:, None]
    vc = -np.sum(r_rel_m * v_rel_mps, axis=1) / rn
    a: F64 = (nav_gain * vc)[:, None] * _cross(omega, u)
    if target_acc_mps2 is not None:
        at_n = target_acc_mps2 - np.sum(target_acc_mps2 * u, axis=1)[:, None] * u
        a = a + 0.5 * nav_gain[:, None] * at_n
    return a


def lateral_limit(phys: MissilePhysics, rho: F64, speed_mps: F64, mass_kg: F64) -> F64:
    """Largest lateral acceleration each missile can pull now, m/s^2 (K,).

    rho-scaled a_max0 rho / rho0, or the aerodynamic q S C_L,max / m capped at
    a_max0 where a lift area is given; never below the floor.
    """
    scaled = phys.a_limit_mps2 * rho / RHO0
    if phys.lift_area_m2 is not None:
        aero = np.minimum(0.5 * rho * speed_mps**2 * phys.lift_area_m2 / mass_kg, phys.a_limit_mps2)
        scaled = np.where(np.isnan(phys.lift_area_m2), scaled, aero)
    out: F64 = np.maximum(scaled, phys.a_limit_floor_mps2)
    return out


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
    backend: str = "numba",
    guide_pos_m: F64 | None = None,
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
        backend: "numba", one compiled loop over the missiles (numpy's per-call
            overhead dominates at a few thousand rows), or "numpy", the same
            equations as array expressions (the reference; tests check that
            the two agree).
        guide_pos_m: (K, 3) the target position the guidance sees (a seeker's
            noisy measurement); None: the true `target_pos_m`. Closest approach
            and the miss distance are always against the true position.

    Returns:
        The new state and the lateral acceleration achieved this step (K, 3).
    """
    guide = target_pos_m if guide_pos_m is None else guide_pos_m
    if backend == "numpy":
        return _step_numpy(s, phys, target_pos_m, target_vel_mps, target_acc_mps2, dt_s, guide)
    k = s.t_s.shape[0]
    # The kernel reads a non-positive lift area as "none" (fastmath assumes no NaN).
    lift = (
        np.full(k, -1.0)
        if phys.lift_area_m2 is None
        else np.nan_to_num(np.asarray(phys.lift_area_m2, dtype=np.float64), nan=-1.0)
    )
    out_t = np.empty(k)
    out_pos = np.empty((k, 3))
    out_vel = np.empty((k, 3))
    out_mass = np.empty(k)
    out_done = np.empty(k, dtype=np.bool_)
    out_miss = np.empty(k)
    out_tend = np.empty(k)
    out_alat = np.empty((k, 3))
    # numba takes the arrays as they are (any layout); only dtypes must match.
    f64 = np.asarray
    _compiled_kernel()(
        s.t_s, s.pos_m, s.vel_mps, s.mass_kg, s.done, s.miss_m, s.t_end_s,
        f64(target_pos_m, dtype=np.float64), f64(target_vel_mps, dtype=np.float64),
        f64(target_acc_mps2, dtype=np.float64), f64(guide, dtype=np.float64),
        phys.boost_thrust_n, phys.boost_s, phys.sustain_thrust_n, phys.sustain_s,
        phys.isp_s, phys.cd_area_m2, phys.a_limit_mps2, phys.a_limit_floor_mps2,
        lift, phys.nav_gain, phys.augmented, phys.gravity,
        phys.gravity_bias and phys.gravity, float(dt_s),
        out_t, out_pos, out_vel, out_mass, out_done, out_miss, out_tend, out_alat,
    )  # fmt: skip
    return MissileState(out_t, out_pos, out_vel, out_mass, out_done, out_miss, out_tend), out_alat


@functools.cache
def _compiled_kernel() -> Callable[..., None]:
    """`_step_kernel` compiled by numba on first use (kinematic runs never import it)."""
    import numba

    kernel: Callable[..., None] = numba.njit(cache=True, fastmath=True, error_model="numpy")(
        _step_kernel
    )
    return kernel


def _step_kernel(
    t: F64, pos: F64, vel: F64, mass: F64, done: B, miss: F64, tend: F64,
    tpos: F64, tvel: F64, tacc: F64, gpos: F64,
    boost_t: F64, boost_s: F64, sus_t: F64, sus_s: F64, isp: F64, cda: F64,
    alim: F64, afloor: F64, lift: F64, nav: F64, aug: B, gravity: bool, gbias: bool, dt: float,
    o_t: F64, o_pos: F64, o_vel: F64, o_mass: F64, o_done: B, o_miss: F64, o_tend: F64,
    o_alat: F64,
) -> None:  # fmt: skip
    """The equations of `_step_numpy`, one missile at a time (compiled by numba)."""
    for i in range(t.shape[0]):
        vx, vy, vz = vel[i, 0], vel[i, 1], vel[i, 2]
        o_done[i] = done[i]
        o_miss[i] = miss[i]
        o_tend[i] = tend[i]
        if done[i]:
            o_t[i] = t[i]
            o_mass[i] = mass[i]
            for j in range(3):
                o_pos[i, j] = pos[i, j]
                o_vel[i, j] = vel[i, j]
                o_alat[i, j] = 0.0
            continue
        speed = max(np.sqrt(vx * vx + vy * vy + vz * vz), 1e-9)
        inv_v = 1.0 / speed
        ux, uy, uz = vx * inv_v, vy * inv_v, vz * inv_v
        rho = RHO0 * np.exp(-max(pos[i, 2], 0.0) / SCALE_HEIGHT_M)
        rx, ry, rz = tpos[i, 0] - pos[i, 0], tpos[i, 1] - pos[i, 1], tpos[i, 2] - pos[i, 2]
        # The guidance sees the target at gpos (= tpos for a perfect seeker).
        gx, gy, gz = gpos[i, 0] - pos[i, 0], gpos[i, 1] - pos[i, 1], gpos[i, 2] - pos[i, 2]
        wx, wy, wz = tvel[i, 0] - vx, tvel[i, 1] - vy, tvel[i, 2] - vz
        r2 = max(gx * gx + gy * gy + gz * gz, 1e-12)
        inv_r2 = 1.0 / r2
        inv_rn = np.sqrt(inv_r2)
        lx, ly, lz = gx * inv_rn, gy * inv_rn, gz * inv_rn
        # omega = (r x v) / |r|^2 ; a = N' Vc (omega x u)
        ox = (gy * wz - gz * wy) * inv_r2
        oy = (gz * wx - gx * wz) * inv_r2
        oz = (gx * wy - gy * wx) * inv_r2
        vc = -(gx * wx + gy * wy + gz * wz) * inv_rn
        g = nav[i] * vc
        ax = g * (oy * lz - oz * ly)
        ay = g * (oz * lx - ox * lz)
        az = g * (ox * ly - oy * lx)
        if aug[i]:
            tax, tay, taz = tacc[i, 0], tacc[i, 1], tacc[i, 2]
            d = tax * lx + tay * ly + taz * lz
            ax += 0.5 * nav[i] * (tax - d * lx)
            ay += 0.5 * nav[i] * (tay - d * ly)
            az += 0.5 * nav[i] * (taz - d * lz)
        if gbias:
            az += G0
        d = ax * ux + ay * uy + az * uz
        ax, ay, az = ax - d * ux, ay - d * uy, az - d * uz
        inv_m = 1.0 / mass[i]
        lim = alim[i] * rho * (1.0 / RHO0)
        if lift[i] > 0.0:
            lim = min(0.5 * rho * speed * speed * lift[i] * inv_m, alim[i])
        lim = max(lim, afloor[i])
        mag = np.sqrt(ax * ax + ay * ay + az * az)
        sc = min(1.0, lim / max(mag, 1e-12))
        ax, ay, az = ax * sc, ay * sc, az * sc
        if t[i] < boost_s[i]:
            thrust = boost_t[i]
        elif t[i] < boost_s[i] + sus_s[i]:
            thrust = sus_t[i]
        else:
            thrust = 0.0
        drag = 0.5 * rho * speed * speed * cda[i]
        along = (thrust - drag) * inv_m
        accx, accy, accz = ax + along * ux, ay + along * uy, az + along * uz
        if gravity:
            accz -= G0
        nvx, nvy, nvz = vx + accx * dt, vy + accy * dt, vz + accz * dt
        npx, npy, npz = pos[i, 0] + nvx * dt, pos[i, 1] + nvy * dt, pos[i, 2] + nvz * dt
        o_mass[i] = mass[i] - thrust / (isp[i] * G0) * dt
        # Closest approach within the step: straight-line relative motion.
        h2 = 0.5 * dt * dt
        r1x = tpos[i, 0] + tvel[i, 0] * dt + tacc[i, 0] * h2 - npx
        r1y = tpos[i, 1] + tvel[i, 1] * dt + tacc[i, 1] * h2 - npy
        r1z = tpos[i, 2] + tvel[i, 2] * dt + tacc[i, 2] * h2 - npz
        closing = (
            r1x * (tvel[i, 0] + tacc[i, 0] * dt - nvx)
            + r1y * (tvel[i, 1] + tacc[i, 1] * dt - nvy)
            + r1z * (tvel[i, 2] + tacc[i, 2] * dt - nvz)
        ) < 0.0
        o_t[i] = t[i] + dt
        o_pos[i, 0], o_pos[i, 1], o_pos[i, 2] = npx, npy, npz
        o_vel[i, 0], o_vel[i, 1], o_vel[i, 2] = nvx, nvy, nvz
        o_alat[i, 0], o_alat[i, 1], o_alat[i, 2] = ax, ay, az
        if not closing:
            dx, dy, dz = r1x - rx, r1y - ry, r1z - rz
            tau = -(rx * dx + ry * dy + rz * dz) / max(dx * dx + dy * dy + dz * dz, 1e-18)
            tau = min(max(tau, 0.0), 1.0)
            mx, my, mz = rx + dx * tau, ry + dy * tau, rz + dz * tau
            o_done[i] = True
            o_miss[i] = np.sqrt(mx * mx + my * my + mz * mz)
            o_tend[i] = t[i] + tau * dt


def _step_numpy(
    s: MissileState,
    phys: MissilePhysics,
    target_pos_m: F64,
    target_vel_mps: F64,
    target_acc_mps2: F64,
    dt_s: float,
    guide_pos_m: F64,
) -> tuple[MissileState, F64]:
    """`step` as numpy array expressions (the reference implementation)."""
    fly = ~s.done
    v = s.vel_mps
    speed = np.maximum(np.linalg.norm(v, axis=1), 1e-9)
    along = v / speed[:, None]
    h = s.pos_m[:, 2]
    rho = air_density(h)
    r_rel = target_pos_m - s.pos_m
    v_rel = target_vel_mps - v
    acc_t = np.where(phys.augmented[:, None], target_acc_mps2, 0.0)
    a_cmd = pn_command(guide_pos_m - s.pos_m, v_rel, phys.nav_gain, acc_t)
    if phys.gravity_bias and phys.gravity:
        a_cmd[:, 2] += G0
    a_cmd = a_cmd - np.sum(a_cmd * along, axis=1)[:, None] * along  # normal to velocity
    limit = lateral_limit(phys, rho, speed, s.mass_kg)
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
