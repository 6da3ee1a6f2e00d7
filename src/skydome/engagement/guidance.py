"""Guided flyout kernel: 3-DOF point-mass interceptors, a choice of homing laws, autopilot lag.

Every missile in the air is one row; one `step` advances all of them at once.
Forces per missile (map frame, z up, flat earth):

* thrust T along the velocity while the motor burns, with mass flow
  T / (Isp g0) (boost, then an optional sustain phase);
* drag 0.5 rho(h) V^2 Cd A against the velocity, in an exponential atmosphere
  rho(h) = rho0 exp(-h / H), H = 7.2 km;
* gravity -g0 z;
* the achieved lateral acceleration, perpendicular to the velocity: the
  guidance command, limited to a_max(h) = a_max0 * rho(h) / rho0 (aerodynamic
  control weakens with altitude; `a_limit_floor_mps2` keeps some authority
  above the atmosphere), or, where a lift area S C_L,max is given, to the
  aerodynamic limit q S C_L,max / m with q = rho V^2 / 2, capped by the
  structural a_max0; then passed through the flight-control dynamics, a
  first-order lag a' = (a_c - a) / T and a rate (jerk) limit |a'| <= J.

Guidance laws (`LAWS`; r, v the target's position and velocity relative to the
missile, R = |r|, u = r / R the line of sight (LOS), omega = r x v / R^2 its
rate, V_c = -r.v / R the closing speed, a_T the target's acceleration):

* ``pn``, pure PN: a = N' omega x v_M, normal to the missile velocity, |a| =
  N' V_M lambda_dot (Shneydor, *Missile Guidance and Pursuit*, 1998, ch. 5;
  Palumbo, Blauwkamp and Lloyd, "Basic principles of homing guidance",
  Johns Hopkins APL Tech. Digest 29(1), 2010, eq. 6);
* ``tpn``, true PN: a_los = N' V_c omega x u, normal to the LOS (Zarchan,
  *Tactical and Strategic Missile Guidance*, 6th ed., ch. 2), applied normal to
  the missile velocity with command preservation (below);
* ``apn``, augmented true PN: a_los = N' V_c omega x u + N'/2 a_T,perp(LOS)
  (Zarchan ch. 8; Palumbo et al. eq. 18), preserved the same way;
* ``zem``, zero-effort miss: a_los = N' ZEM_perp / t_go^2, t_go = R / V_c,
  ZEM = r + v t_go + a_T t_go^2 / 2 (Zarchan ch. 8; Palumbo et al. eq. 16),
  preserved. With t_go = R / V_c this equals APN; it differs once t_go is
  estimated otherwise.

Command preservation: a missile steers only normal to its own velocity, so an
LOS-normal command a_los cannot be applied as it is at a lead angle. The kernel
applies a = a_los + beta u with beta = -(a_los . u_V) / cos(lead): normal to the
velocity u_V, with exactly the LOS-normal component a_los (|a| = |a_los| /
cos(lead) in the plane). cos(lead) is floored at `PRESERVE_MIN_COS` (60 deg)
and the result projected normal to the velocity: beyond 60 deg the command is
no longer fully preserved but stays bounded. Dropping the along-velocity part
without preservation leaves N' cos^2(lead) V_c lambda_dot normal to the LOS
(Palumbo et al., section on TPN implementation) -- the error this replaces.

Integration: over one step the achieved lateral acceleration, thrust, drag and
gravity are held (the lag's exact mean over the step for the lateral part), the
position advanced exactly for that constant acceleration, p + v h + a h^2/2,
and the target moves with constant acceleration. A flight ends at closest
approach (range rate turning positive); the miss distance and its time are the
minimum of the relative motion within that last step, the same quadratic in
time the step integrated (a cubic root, Newton's method), so the end-game
converges in the step size.

This module is the validated kernel; the engine's `guided` fidelity level is
built on it (see docs/models.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.constants import G0_MPS2, RHO0_KG_M3, SCALE_HEIGHT_M
from skydome.engagement.guidance_kernel import (
    APN,
    CPA_NEWTON,
    PN,
    PRESERVE_MIN_COS,
    TPN,
    VC_MIN_MPS,
    ZEM,
    compiled_kernel,
)

__all__ = [
    "APN",
    "G0",
    "LAWS",
    "PN",
    "PRESERVE_MIN_COS",
    "TPN",
    "ZEM",
    "MissilePhysics",
    "MissileState",
    "air_density",
    "guidance_command",
    "lateral_limit",
    "pn_command",
    "step",
]

B = NDArray[np.bool_]

G0 = G0_MPS2
"""Standard gravity, m/s^2 (`skydome.constants.G0_MPS2`)."""
RHO0 = RHO0_KG_M3
"""Sea-level air density, kg/m^3 (`skydome.constants.RHO0_KG_M3`)."""

LAWS = ("pn", "tpn", "apn", "zem")
"""Guidance laws; `MissilePhysics.law` holds indices into this tuple (PN, TPN, APN, ZEM)."""


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
        augmented: (K,) bool; where `law` is None, "apn" where set, else "tpn".
        gravity: apply gravity (off for the textbook oracles).
        lift_area_m2: S C_L,max per missile (nan or None: the rho-scaled limit).
        gravity_bias: add gravity compensation (+g normal to the velocity) to the
            guidance command, so PN need not first build a heading error to hold
            altitude (Zarchan, ch. on gravity compensation).
        law: (K,) int, index into `LAWS` (None: from `augmented`).
        tau_s: (K,) first-order flight-control time constant T, s (0 or None:
            the command is achieved at once).
        jerk_limit_mps3: (K,) limit on the rate of change of the achieved
            lateral acceleration, m/s^3 (inf or None: none).
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
    law: I64 | None = None
    tau_s: F64 | None = None
    jerk_limit_mps3: F64 | None = None

    def laws(self) -> I64:
        """(K,) law index of every missile (`law`, or APN/TPN from `augmented`)."""
        if self.law is not None:
            return np.asarray(self.law, dtype=np.int64)
        return np.where(np.asarray(self.augmented, dtype=bool), APN, TPN).astype(np.int64)

    def taus(self) -> F64:
        """(K,) lag time constant, s (0: none)."""
        k = np.asarray(self.nav_gain).shape[0]
        return np.zeros(k) if self.tau_s is None else np.asarray(self.tau_s, dtype=np.float64)

    def jerks(self) -> F64:
        """(K,) jerk limit, m/s^3 (inf: none)."""
        k = np.asarray(self.nav_gain).shape[0]
        if self.jerk_limit_mps3 is None:
            return np.full(k, np.inf)
        return np.asarray(self.jerk_limit_mps3, dtype=np.float64)


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
        acc_mps2: (K, 3) achieved lateral acceleration, m/s^2 (the
            flight-control lag's state; normal to the velocity).
    """

    t_s: F64
    pos_m: F64
    vel_mps: F64
    mass_kg: F64
    done: B
    miss_m: F64
    t_end_s: F64
    acc_mps2: F64

    @staticmethod
    def launch(pos_m: F64, vel_mps: F64, mass_kg: F64) -> MissileState:
        """Missiles at launch (t = 0, no lateral acceleration yet)."""
        k = pos_m.shape[0]
        return MissileState(
            t_s=np.zeros(k),
            pos_m=pos_m.astype(np.float64).copy(),
            vel_mps=vel_mps.astype(np.float64).copy(),
            mass_kg=mass_kg.astype(np.float64).copy(),
            done=np.zeros(k, dtype=bool),
            miss_m=np.full(k, np.nan),
            t_end_s=np.full(k, np.nan),
            acc_mps2=np.zeros((k, 3)),
        )


def _cross(a: F64, b: F64) -> F64:
    """Row-wise cross product of (K, 3) arrays (np.cross costs more at small K)."""
    out = np.empty_like(a)
    out[:, 0] = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    out[:, 1] = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    out[:, 2] = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return out


def _dot(a: F64, b: F64) -> F64:
    out: F64 = np.sum(a * b, axis=1)
    return out


def pn_command(
    r_rel_m: F64, v_rel_mps: F64, nav_gain: F64, target_acc_mps2: F64 | None = None
) -> F64:
    """LOS-normal true-PN command (K, 3), before command preservation.

    a_c = N' V_c (omega x u), omega = (r x v) / |r|^2, u = r / |r|,
    V_c = -(r . v) / |r|; with `target_acc_mps2`, plus N'/2 times its part
    normal to the line of sight (augmented PN).

    Args:
        r_rel_m: (K, 3) target position minus missile position.
        v_rel_mps: (K, 3) target velocity minus missile velocity.
        nav_gain: (K,) N'.
        target_acc_mps2: (K, 3) target acceleration, for APN rows (None: PN).
    """
    r2 = np.maximum(_dot(r_rel_m, r_rel_m), 1e-12)
    rn = np.sqrt(r2)
    u = r_rel_m / rn[:, None]
    omega = _cross(r_rel_m, v_rel_mps) / r2[:, None]
    vc = -_dot(r_rel_m, v_rel_mps) / rn
    a: F64 = (nav_gain * vc)[:, None] * _cross(omega, u)
    if target_acc_mps2 is not None:
        at_n = target_acc_mps2 - _dot(target_acc_mps2, u)[:, None] * u
        a = a + 0.5 * nav_gain[:, None] * at_n
    return a


def guidance_command(
    law: I64,
    r_rel_m: F64,
    v_rel_mps: F64,
    vel_mps: F64,
    nav_gain: F64,
    target_acc_mps2: F64,
) -> F64:
    """Lateral acceleration command of each missile's law (K, 3), m/s^2.

    Before gravity bias, the projection normal to the velocity and the limits
    (see the module docstring for the laws and command preservation).

    Args:
        law: (K,) index into `LAWS`.
        r_rel_m: (K, 3) target position (as guidance sees it) minus missile position.
        v_rel_mps: (K, 3) target velocity minus missile velocity.
        vel_mps: (K, 3) missile velocity.
        nav_gain: (K,) N'.
        target_acc_mps2: (K, 3) target acceleration (used by APN and ZEM only).
    """
    r2 = np.maximum(_dot(r_rel_m, r_rel_m), 1e-12)
    rn = np.sqrt(r2)
    u = r_rel_m / rn[:, None]
    omega = _cross(r_rel_m, v_rel_mps) / r2[:, None]
    vc = -_dot(r_rel_m, v_rel_mps) / rn
    speed = np.maximum(np.sqrt(_dot(vel_mps, vel_mps)), 1e-9)
    uv = vel_mps / speed[:, None]
    n = nav_gain[:, None]
    at_n = target_acc_mps2 - _dot(target_acc_mps2, u)[:, None] * u
    tpn = (nav_gain * vc)[:, None] * _cross(omega, u)
    tgo = rn / np.maximum(vc, VC_MIN_MPS)
    zem = r_rel_m + v_rel_mps * tgo[:, None] + 0.5 * target_acc_mps2 * (tgo * tgo)[:, None]
    zem_n = zem - _dot(zem, u)[:, None] * u
    los = np.where(
        (law == APN)[:, None],
        tpn + 0.5 * n * at_n,
        np.where((law == ZEM)[:, None], n * zem_n / (tgo * tgo)[:, None], tpn),
    )
    # Command preservation: add the LOS component that makes it normal to the velocity.
    beta = -_dot(los, uv) / np.maximum(_dot(u, uv), PRESERVE_MIN_COS)
    preserved = los + beta[:, None] * u
    out: F64 = np.where((law == PN)[:, None], n * _cross(omega, vel_mps), preserved)
    return out


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
    """Advance every flying missile by `dt_s`.

    The target is taken to move with constant acceleration over the step (its
    state is given at the start of the step); the missile's accelerations are
    held over the step (module docstring).

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
        The new state and the lateral acceleration achieved this step (K, 3),
        its mean over the step (0 for rows already done).
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
    # ... and a negative jerk limit as "none" (no inf either).
    jerk = phys.jerks()
    jerk = np.where(np.isfinite(jerk), jerk, -1.0)
    out_t = np.empty(k)
    out_pos = np.empty((k, 3))
    out_vel = np.empty((k, 3))
    out_mass = np.empty(k)
    out_done = np.empty(k, dtype=np.bool_)
    out_miss = np.empty(k)
    out_tend = np.empty(k)
    out_acc = np.empty((k, 3))
    out_alat = np.empty((k, 3))
    # numba takes the arrays as they are (any layout); only dtypes must match.
    f64 = np.asarray
    compiled_kernel()(
        s.t_s, s.pos_m, s.vel_mps, s.mass_kg, s.done, s.miss_m, s.t_end_s,
        f64(s.acc_mps2, dtype=np.float64),
        f64(target_pos_m, dtype=np.float64), f64(target_vel_mps, dtype=np.float64),
        f64(target_acc_mps2, dtype=np.float64), f64(guide, dtype=np.float64),
        phys.boost_thrust_n, phys.boost_s, phys.sustain_thrust_n, phys.sustain_s,
        phys.isp_s, phys.cd_area_m2, phys.a_limit_mps2, phys.a_limit_floor_mps2,
        lift, phys.nav_gain, phys.laws(), phys.taus(), jerk, phys.gravity,
        phys.gravity_bias and phys.gravity, float(dt_s),
        out_t, out_pos, out_vel, out_mass, out_done, out_miss, out_tend, out_acc, out_alat,
    )  # fmt: skip
    new = MissileState(out_t, out_pos, out_vel, out_mass, out_done, out_miss, out_tend, out_acc)
    return new, out_alat


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
    law = phys.laws()
    a_cmd = guidance_command(law, guide_pos_m - s.pos_m, v_rel, v, phys.nav_gain, target_acc_mps2)
    if phys.gravity_bias and phys.gravity:
        a_cmd[:, 2] += G0
    a_cmd = a_cmd - _dot(a_cmd, along)[:, None] * along  # normal to velocity
    limit = lateral_limit(phys, rho, speed, s.mass_kg)

    def clamp(a: F64) -> F64:
        out: F64 = (
            a * np.minimum(1.0, limit / np.maximum(np.linalg.norm(a, axis=1), 1e-12))[:, None]
        )
        return out

    a_c = clamp(a_cmd)
    # Flight control: first-order lag (exact over the held command), jerk limit.
    a0 = s.acc_mps2 - _dot(s.acc_mps2, along)[:, None] * along
    tau = phys.taus()
    lag = tau > 0.0
    tau_safe = np.where(lag, tau, 1.0)
    e = np.where(lag, np.exp(-dt_s / tau_safe), 0.0)[:, None]
    f = np.where(lag, -np.expm1(-dt_s / tau_safe) * tau_safe / dt_s, 0.0)[:, None]
    a1 = a_c + (a0 - a_c) * e
    mean = a_c + (a0 - a_c) * f
    jmax = phys.jerks() * dt_s
    dm = np.linalg.norm(a1 - a0, axis=1)
    jl = dm > jmax
    a1_j = a0 + (a1 - a0) * (jmax / np.maximum(dm, 1e-300))[:, None]
    a1 = np.where(jl[:, None], a1_j, a1)
    mean = np.where(jl[:, None], 0.5 * (a0 + a1), mean)
    a1, a_lat = clamp(a1), clamp(mean)
    thrust = _thrust(phys, s.t_s)
    drag = 0.5 * rho * speed * speed * phys.cd_area_m2
    acc = a_lat + ((thrust - drag) / s.mass_kg)[:, None] * along
    if phys.gravity:
        acc[:, 2] -= G0
    vel_new = v + acc * dt_s
    pos_new = s.pos_m + v * dt_s + 0.5 * acc * dt_s**2
    mass_new = s.mass_kg - thrust / (phys.isp_s * G0) * dt_s
    # Relative motion over the step: r(s) = r0 + w s + q s^2 / 2.
    q = target_acc_mps2 - acc
    r1 = r_rel + v_rel * dt_s + 0.5 * q * dt_s**2
    ended = fly & (_dot(r1, v_rel + q * dt_s) >= 0)
    s_cpa = _cpa_time(r_rel, v_rel, q, r1, dt_s)
    r_cpa = r_rel + v_rel * s_cpa[:, None] + 0.5 * q * (s_cpa * s_cpa)[:, None]
    miss = np.linalg.norm(r_cpa, axis=1)
    keep = fly[:, None]
    out = MissileState(
        t_s=np.where(fly, s.t_s + dt_s, s.t_s),
        pos_m=np.where(keep, pos_new, s.pos_m),
        vel_mps=np.where(keep, vel_new, s.vel_mps),
        mass_kg=np.where(fly, mass_new, s.mass_kg),
        done=s.done | ended,
        miss_m=np.where(ended, miss, s.miss_m),
        t_end_s=np.where(ended, s.t_s + s_cpa, s.t_end_s),
        acc_mps2=np.where(keep, a1, s.acc_mps2),
    )
    return out, np.where(keep, a_lat, 0.0)


def _cpa_time(r0: F64, w: F64, q: F64, r1: F64, dt_s: float) -> F64:
    """(K,) time in [0, dt] of the least |r0 + w s + q s^2 / 2| (safeguarded Newton)."""
    d = r1 - r0
    sv = np.clip(-_dot(r0, d) / np.maximum(_dot(d, d), 1e-18), 0.0, 1.0) * dt_s
    lo = np.zeros_like(sv)
    opening = _dot(r0, w) >= 0.0  # already opening at the start of the step
    sv = np.where(opening, 0.0, sv)
    hi = np.where(opening, 0.0, dt_s)
    for _ in range(CPA_NEWTON):
        p = r0 + w * sv[:, None] + 0.5 * q * (sv * sv)[:, None]
        pv = w + q * sv[:, None]
        fv = _dot(p, pv)
        fd = _dot(pv, pv) + _dot(p, q)
        lo = np.where(fv < 0.0, sv, lo)
        hi = np.where(fv < 0.0, hi, sv)
        nxt = np.where(fd > 0.0, sv - fv / np.where(fd > 0.0, fd, 1.0), -1.0)
        sv = np.where((lo <= nxt) & (nxt <= hi), nxt, 0.5 * (lo + hi))
    out: F64 = sv
    return out
