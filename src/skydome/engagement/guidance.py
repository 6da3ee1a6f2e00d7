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

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.constants import G0_MPS2, RHO0_KG_M3, SCALE_HEIGHT_M
from skydome.engagement.guidance_constants import (
    APN,
    BLIND_STEPS,
    CPA_NEWTON,
    ENDGAME_TGO_S,
    JERK_NONE,
    KERNEL_COLUMNS,
    LAWS,
    PN,
    PRESERVE_MIN_COS,
    TPN,
    VC_MIN_MPS,
    ZEM,
)

__all__ = [
    "APN",
    "BLIND_STEPS",
    "CPA_NEWTON",
    "ENDGAME_TGO_S",
    "G0",
    "JERK_NONE",
    "LAWS",
    "PN",
    "PRESERVE_MIN_COS",
    "TPN",
    "VC_MIN_MPS",
    "ZEM",
    "MissilePhysics",
    "MissileState",
    "air_density",
    "guidance_command",
    "lateral_limit",
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

    @functools.cached_property
    def kernel_law(self) -> I64:
        """`laws()`, cached for the compiled kernel (a step reuses it)."""
        return self.laws()

    @functools.cached_property
    def _kernel_params_by_dt(self) -> dict[float, F64]:
        return {}

    def kernel_params(self, dt_s: float) -> F64:
        """(K, 14) the compiled kernel's parameter rows for step `dt_s`, columns `KERNEL_COLUMNS`.

        Finite sentinels instead of nan and inf (fastmath assumes neither): lift
        area -1 for "none", jerk `JERK_NONE`; 1 / (Isp g0) and the lag factors
        (`_lag_factors`) precomputed. Cached per step size: a step reuses them.
        """
        cache = self._kernel_params_by_dt
        prm = cache.get(dt_s)
        if prm is not None:
            return prm
        k = np.asarray(self.nav_gain).shape[0]
        lift = (
            np.full(k, -1.0)
            if self.lift_area_m2 is None
            else np.nan_to_num(np.asarray(self.lift_area_m2, dtype=np.float64), nan=-1.0)
        )
        tau = self.taus()
        inv_ve = 1.0 / (np.asarray(self.isp_s, dtype=np.float64) * G0)
        # In the order of KERNEL_COLUMNS.
        prm = np.ascontiguousarray(
            np.column_stack(
                [self.boost_thrust_n, self.boost_s, self.sustain_thrust_n, self.sustain_s, inv_ve]
                + [self.cd_area_m2, self.a_limit_mps2, self.a_limit_floor_mps2, lift, self.nav_gain]
                + [tau, np.minimum(self.jerks(), JERK_NONE), *_lag_factors(tau, dt_s)]
            ),
            dtype=np.float64,
        )
        assert prm.shape[1] == len(KERNEL_COLUMNS)
        cache[dt_s] = prm
        return prm


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
    tpos = _f64(target_pos_m)
    *fields, alat = _kernel()(
        s.t_s, s.pos_m, s.vel_mps, s.mass_kg, s.done, s.miss_m, s.t_end_s,
        _f64(s.acc_mps2), tpos, _f64(target_vel_mps), _f64(target_acc_mps2),
        tpos if guide is target_pos_m else _f64(guide),
        phys.kernel_params(dt_s), phys.kernel_law, phys.gravity,
        phys.gravity_bias and phys.gravity, float(dt_s),
    )  # fmt: skip
    return _state(fields), alat


_FLOAT64 = np.dtype(np.float64)


def _f64(x: Any) -> F64:
    """`x` as a float64 array: itself if it is one (80 ns; np.asarray takes 240)."""
    if type(x) is np.ndarray and x.dtype is _FLOAT64:
        return x
    out: F64 = np.asarray(x, dtype=np.float64)
    return out


_STATE_FIELDS = tuple(f.name for f in dataclasses.fields(MissileState))


def _state(fields: list[Any]) -> MissileState:
    """A `MissileState` of these field values (in field order).

    Without the frozen dataclass's `__init__`: one `object.__setattr__` per
    field costs ~2 us, 3 % of a 1,000-row step.
    """
    out = object.__new__(MissileState)
    out.__dict__.update(zip(_STATE_FIELDS, fields, strict=True))
    return out


@functools.cache
def _kernel() -> Callable[..., tuple[Any, ...]]:
    """The compiled step (numba imported on first use: kinematic runs never do)."""
    from skydome.engagement.guidance_kernel import step_kernel

    kernel: Callable[..., tuple[Any, ...]] = step_kernel
    return kernel


def _lag_factors(tau_s: F64, dt_s: float) -> tuple[F64, F64]:
    """First-order lag over one step: exp(-dt/T) and the mean factor (T/dt)(1 - exp(-dt/T)).

    Both 0 where T = 0 (the command achieved at once), the limit T -> 0.
    """
    lag = tau_s > 0.0
    if not lag.any():
        return tau_s, tau_s  # zeros (read-only use)
    t = np.where(lag, tau_s, 1.0)
    e: F64 = np.where(lag, np.exp(-dt_s / t), 0.0)
    f: F64 = np.where(lag, -np.expm1(-dt_s / t) * t / dt_s, 0.0)
    return e, f


def _impulse(phys: MissilePhysics, t0: F64, dt_s: float) -> F64:
    """(K,) motor impulse over [t0, t0 + dt], N s (exact for the two thrust phases)."""
    t1 = t0 + dt_s
    b_end = phys.boost_s
    s_end = b_end + phys.sustain_s
    boost = np.maximum(0.0, np.minimum(t1, b_end) - np.maximum(t0, 0.0))
    sustain = np.maximum(0.0, np.minimum(t1, s_end) - np.maximum(t0, b_end))
    out: F64 = phys.boost_thrust_n * boost + phys.sustain_thrust_n * sustain
    return out


def _stage(
    phys: MissilePhysics, law: I64, pos: F64, vel: F64, mass: F64, thrust: F64,
    guide_rel_m: F64, tvel: F64, tacc: F64, hold: F64, blind_s: float,
) -> tuple[F64, F64, F64, F64]:  # fmt: skip
    """The forces at one state of the missiles.

    Within `blind_s` of closest approach (R < blind_s V_c), or past it, the
    command is `hold` instead of the law's.

    Returns:
        The command, normal to the velocity and limited (K, 3); the velocity
        direction (K, 3); the along-velocity acceleration (K,); the limit (K,).
    """
    speed = np.maximum(np.linalg.norm(vel, axis=1), 1e-9)
    u = vel / speed[:, None]
    rho = air_density(pos[:, 2])
    a = guidance_command(law, guide_rel_m, tvel - vel, vel, phys.nav_gain, tacc)
    if phys.gravity_bias and phys.gravity:
        a[:, 2] += G0
    rn = np.linalg.norm(guide_rel_m, axis=1)
    vc = -_dot(guide_rel_m, tvel - vel) / np.maximum(rn, 1e-6)
    a = np.where(((vc <= 0.0) | (rn < blind_s * vc))[:, None], hold, a)
    a = a - _dot(a, u)[:, None] * u
    limit = lateral_limit(phys, rho, speed, mass)
    along = (thrust - 0.5 * rho * speed * speed * phys.cd_area_m2) / mass
    return _clamp(a, limit), u, along, limit


def _clamp(a: F64, limit: F64) -> F64:
    """Rows of `a` (K, 3) shortened to at most `limit` (K,)."""
    out: F64 = a * np.minimum(1.0, limit / np.maximum(np.linalg.norm(a, axis=1), 1e-12))[:, None]
    return out


def _jerk_limited(a0: F64, a1: F64, mean: F64, jmax: F64) -> tuple[F64, F64]:
    """End value and mean of the achieved acceleration with |a1 - a0| <= jmax."""
    dm = np.linalg.norm(a1 - a0, axis=1)
    jl = dm > jmax
    end = a0 + (a1 - a0) * np.where(jl, jmax / np.maximum(dm, 1e-12), 1.0)[:, None]
    return end, np.where(jl[:, None], 0.5 * (a0 + end), mean)


def _step_numpy(
    s: MissileState,
    phys: MissilePhysics,
    target_pos_m: F64,
    target_vel_mps: F64,
    target_acc_mps2: F64,
    dt_s: float,
    guide_pos_m: F64,
) -> tuple[MissileState, F64]:
    """`step` as numpy array expressions (the reference implementation).

    The command at the start of the step, held, predicts the end of the step.
    In the end game (time to go under `ENDGAME_TGO_S`) the forces are evaluated
    again there (Heun) and the first-order lag integrated exactly under the
    command ramping between the two; elsewhere the start command is held
    (the lag exact for it).
    """
    fly = ~s.done
    law = phys.laws()
    imp = _impulse(phys, s.t_s, dt_s)
    thrust = imp / dt_s
    m1 = s.mass_kg - imp * (1.0 / (phys.isp_s * G0))
    tau = phys.taus()
    e1, f1 = _lag_factors(tau, dt_s)
    e, f, lg = e1[:, None], f1[:, None], tau[:, None]
    jmax = np.minimum(phys.jerks(), JERK_NONE) * dt_s
    grav = np.array([0.0, 0.0, G0 if phys.gravity else 0.0])
    p0, v0 = s.pos_m, s.vel_mps
    g0 = guide_pos_m - p0
    # The blind range: the last BLIND_STEPS steps hold the achieved acceleration.
    blind = BLIND_STEPS * dt_s
    c0, u0, al0, lim0 = _stage(
        phys, law, p0, v0, s.mass_kg, thrust, g0, target_vel_mps, target_acc_mps2,
        s.acc_mps2, blind,
    )  # fmt: skip
    # The achieved acceleration, turned with the velocity.
    b = s.acc_mps2 - _dot(s.acc_mps2, u0)[:, None] * u0
    # Predictor: the start command held over the step.
    a1_p, mean_p = _jerk_limited(b, c0 + (b - c0) * e, c0 + (b - c0) * f, jmax)
    v_p = v0 + (mean_p + al0[:, None] * u0 - grav) * dt_s
    p_p = p0 + 0.5 * (v0 + v_p) * dt_s
    shift = target_vel_mps * dt_s + 0.5 * target_acc_mps2 * dt_s**2
    c1, u1, al1, lim1 = _stage(
        phys, law, p_p, v_p, m1, thrust, guide_pos_m + shift - p_p,
        target_vel_mps + target_acc_mps2 * dt_s, target_acc_mps2, c0, blind,
    )  # fmt: skip
    # Corrector: the lag under the ramp c0 -> c1 (exact): end value and mean.
    k = (c1 - c0) / dt_s
    a1_h, mean_h = _jerk_limited(
        b, c1 - k * lg + (b - c0 + k * lg) * e, 0.5 * (c0 + c1) - k * lg + (b - c0 + k * lg) * f,
        jmax,
    )  # fmt: skip
    vc0 = -_dot(g0, target_vel_mps - v0) / np.maximum(np.linalg.norm(g0, axis=1), 1e-6)
    heun = np.linalg.norm(g0, axis=1) < ENDGAME_TGO_S * vc0
    h = heun[:, None]
    a1 = np.where(h, a1_h, a1_p)
    mean = np.where(h, mean_h, mean_p)
    lim = np.where(heun, lim1, lim0)
    along = np.where(h, 0.5 * (al0[:, None] * u0 + al1[:, None] * u1), al0[:, None] * u0)
    # The mean lateral acceleration is normal to the mean velocity (as the
    # achieved acceleration turns with the velocity): otherwise it changes the
    # speed by |a|^2 dt / (2 V) per step, a first-order error.
    v_m = v0 + v_p
    mean = mean - (_dot(mean, v_m) / np.maximum(_dot(v_m, v_m), 1e-18))[:, None] * v_m
    a1, a_lat = _clamp(a1, lim), _clamp(mean, lim)
    acc = a_lat + along - grav
    vel_new = v0 + acc * dt_s
    pos_new = p0 + v0 * dt_s + 0.5 * acc * dt_s**2
    # Relative motion over the step, as integrated: r(s) = r0 + w s + q s^2 / 2.
    r_rel = target_pos_m - p0
    v_rel = target_vel_mps - v0
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
        mass_kg=np.where(fly, m1, s.mass_kg),
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
