"""The guided flyout's compiled step: `guidance.step`'s equations, one missile at a time.

`skydome.engagement.guidance` holds the equations (module docstring), the public
API and the numpy reference implementation (`_step_numpy`) this loop is tested
against. Importing this module imports numba (`guidance.step` does so on first
use, so kinematic runs never do); the functions compile on first call.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.constants import G0_MPS2 as G0
from skydome.constants import RHO0_KG_M3 as RHO0
from skydome.constants import SCALE_HEIGHT_M
from skydome.engagement.guidance_constants import (
    APN,
    BLIND_STEPS,
    CPA_NEWTON,
    ENDGAME_TGO_S,
    JERK_NONE,
    K_AFLOOR,
    K_ALIM,
    K_BOOST_S,
    K_BOOST_T,
    K_CDA,
    K_INV_VE,
    K_JERK,
    K_LAG_E,
    K_LAG_F,
    K_LIFT,
    K_NAV,
    K_SUS_S,
    K_SUS_T,
    K_TAU,
    PN,
    PRESERVE_MIN_COS,
    VC_MIN_MPS,
    ZEM,
)

__all__ = ["step_kernel"]

B = NDArray[np.bool_]

_EXP_STEP = 1.0 / 32.0
_EXP_TABLE = np.exp(-_EXP_STEP * np.arange(2048))
"""exp(-j / 32), j = 0..2047: the knots of `_exp_neg` (a constant array to numba)."""


@numba.njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _exp_neg(x: float) -> float:
    """exp(-x) for x >= 0, inline: a table knot times a Taylor polynomial.

    Relative error 2e-16 against np.exp for x < 63.97 (beyond, exp(-63.97) ~
    2e-28, the atmosphere at 460 km). The loop calls it once or twice per
    missile; the libm call it replaces cost about a tenth of the step (a call
    spills every live register). Knots 1/32 apart keep the polynomial short.
    """
    xc = min(max(x, 0.0), 2047.0 * _EXP_STEP)
    j = int(xc * (1.0 / _EXP_STEP))
    r = xc - j * _EXP_STEP
    # exp(-r), r in [0, 1/32): the Taylor series to r^7 / 7! (truncation < 3e-17).
    p = -1.0 / 5040.0
    p = 1.0 / 720.0 + r * p
    p = -1.0 / 120.0 + r * p
    p = 1.0 / 24.0 + r * p
    p = -1.0 / 6.0 + r * p
    p = 0.5 + r * p
    p = -1.0 + r * p
    p = 1.0 + r * p
    out: float = _EXP_TABLE[j] * p
    return out


@numba.njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _command(
    pz: float, vx: float, vy: float, vz: float, m: float, gx: float, gy: float, gz: float,
    wx: float, wy: float, wz: float, tax: float, tay: float, taz: float,
    n: float, lw: int, thrust: float, par: F64,
    bias: float, hx: float, hy: float, hz: float, blind: float,
) -> tuple[float, float, float, float, float, float, float, float, float, float]:  # fmt: skip
    """One evaluation of the forces (see `guidance._stage`).

    Within `blind` s of closest approach (R < blind V_c), or past it, the
    command is (hx, hy, hz) instead of the law's.

    Returns:
        (ax, ay, az) the command, normal to the velocity and limited; (ux, uy,
        uz) the velocity direction; the along-velocity acceleration; the limit;
        the closing speed V_c; the range.
    """
    v2 = max(vx * vx + vy * vy + vz * vz, 1e-18)
    inv_v = 1.0 / np.sqrt(v2)
    ux, uy, uz = vx * inv_v, vy * inv_v, vz * inv_v
    rho = RHO0 * _exp_neg(pz * (1.0 / SCALE_HEIGHT_M))
    r2 = max(gx * gx + gy * gy + gz * gz, 1e-12)
    inv_rn = 1.0 / np.sqrt(r2)
    inv_r2 = inv_rn * inv_rn
    lx, ly, lz = gx * inv_rn, gy * inv_rn, gz * inv_rn
    vc = -(gx * wx + gy * wy + gz * wz) * inv_rn
    rn = r2 * inv_rn
    if lw == PN:  # pure PN: N' omega x v_M, omega = (r x v) / |r|^2
        ox = (gy * wz - gz * wy) * inv_r2
        oy = (gz * wx - gx * wz) * inv_r2
        oz = (gx * wy - gy * wx) * inv_r2
        ax = n * (oy * vz - oz * vy)
        ay = n * (oz * vx - ox * vz)
        az = n * (ox * vy - oy * vx)
    else:
        if lw == ZEM:  # N' ZEM_perp / t_go^2
            tgo = rn / max(vc, VC_MIN_MPS)
            hg = 0.5 * tgo * tgo
            zx = gx + wx * tgo + tax * hg
            zy = gy + wy * tgo + tay * hg
            zz = gz + wz * tgo + taz * hg
            d = zx * lx + zy * ly + zz * lz
            k = n / (tgo * tgo)
            ax, ay, az = k * (zx - d * lx), k * (zy - d * ly), k * (zz - d * lz)
        else:  # true PN: N' Vc omega x u, + N'/2 a_T,perp for APN
            # omega x u = ((r x v) x r) / R^3 = (v - (v.u) u) / R = (v + V_c u) / R
            g = n * vc * inv_rn
            ax = g * (wx + vc * lx)
            ay = g * (wy + vc * ly)
            az = g * (wz + vc * lz)
            if lw == APN:
                d = tax * lx + tay * ly + taz * lz
                ax += 0.5 * n * (tax - d * lx)
                ay += 0.5 * n * (tay - d * ly)
                az += 0.5 * n * (taz - d * lz)
        # Command preservation: the LOS-normal command, normal to the velocity.
        beta = -(ax * ux + ay * uy + az * uz) / max(lx * ux + ly * uy + lz * uz, PRESERVE_MIN_COS)
        ax, ay, az = ax + beta * lx, ay + beta * ly, az + beta * lz
    az += bias
    if vc <= 0.0 or rn < blind * vc:
        ax, ay, az = hx, hy, hz
    d = ax * ux + ay * uy + az * uz
    ax, ay, az = ax - d * ux, ay - d * uy, az - d * uz
    inv_m = 1.0 / m
    q2 = 0.5 * rho * v2
    alim = par[K_ALIM]
    lim = alim * rho * (1.0 / RHO0)
    lift = par[K_LIFT]
    if lift > 0.0:
        lim = min(q2 * lift * inv_m, alim)
    lim = max(lim, par[K_AFLOOR])
    mag2 = ax * ax + ay * ay + az * az
    if mag2 > lim * lim:
        sc = lim / np.sqrt(mag2)
        ax, ay, az = ax * sc, ay * sc, az * sc
    along = (thrust - q2 * par[K_CDA]) * inv_m
    return ax, ay, az, ux, uy, uz, along, lim, vc, rn


@numba.njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _finish(
    mx: float, my: float, mz: float, cx: float, cy: float, cz: float,
    fx: float, fy: float, fz: float, lim: float,
    v0x: float, v0y: float, v0z: float, vx: float, vy: float, vz: float, gz0: float,
    clamp: bool,
) -> tuple[float, float, float, float, float, float, float, float, float]:  # fmt: skip
    """The step's mean lateral (m) and end achieved (c) accelerations, limited; the total.

    The mean lateral acceleration is made normal to the mean velocity (v0 + v)
    / 2 (as the achieved acceleration turns with the velocity): otherwise it
    changes the speed by |a|^2 dt / (2 V) per step, a first-order error. (f:
    the mean along-velocity acceleration; the total adds it and gravity.)
    `clamp` False: c is already within the limit, so m is too (the projection
    only shortens it); the checks are skipped.
    """
    wmx, wmy, wmz = v0x + vx, v0y + vy, v0z + vz
    d = (mx * wmx + my * wmy + mz * wmz) / max(wmx * wmx + wmy * wmy + wmz * wmz, 1e-18)
    mx, my, mz = mx - d * wmx, my - d * wmy, mz - d * wmz
    if not clamp:
        return mx, my, mz, cx, cy, cz, mx + fx, my + fy, mz + fz - gz0
    lim2 = lim * lim
    mag2 = cx * cx + cy * cy + cz * cz
    if mag2 > lim2:
        sc = lim / np.sqrt(mag2)
        cx, cy, cz = cx * sc, cy * sc, cz * sc
    mag2 = mx * mx + my * my + mz * mz
    if mag2 > lim2:
        sc = lim / np.sqrt(mag2)
        mx, my, mz = mx * sc, my * sc, mz * sc
    return mx, my, mz, cx, cy, cz, mx + fx, my + fy, mz + fz - gz0


@numba.njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _impulse(t0: float, t1: float, par: F64) -> float:
    """Motor impulse over [t0, t1], N s (exact for the piecewise-constant boost/sustain thrust)."""
    b_end = par[K_BOOST_S]
    s_end = b_end + par[K_SUS_S]
    out: float = par[K_BOOST_T] * max(0.0, min(t1, b_end) - max(t0, 0.0)) + par[K_SUS_T] * max(
        0.0, min(t1, s_end) - max(t0, b_end)
    )
    return out


@numba.njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _opening(
    rx: float, ry: float, rz: float, wx: float, wy: float, wz: float,
    qx: float, qy: float, qz: float, dt: float,
) -> bool:  # fmt: skip
    """Whether the range opens at the end of the step: closest approach passed.

    r, w, q: the relative position, velocity and acceleration at the start of
    the step, r(s) = r + w s + q s^2 / 2 as integrated.
    """
    h2 = 0.5 * dt * dt
    r1x = rx + wx * dt + qx * h2
    r1y = ry + wy * dt + qy * h2
    r1z = rz + wz * dt + qz * h2
    out: bool = r1x * (wx + qx * dt) + r1y * (wy + qy * dt) + r1z * (wz + qz * dt) >= 0.0
    return out


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def step_kernel(
    t: F64, pos: F64, vel: F64, mass: F64, done: B, miss: F64, tend: F64, acc: F64,
    tpos: F64, tvel: F64, tacc: F64, gpos: F64, prm: F64, law: I64,
    gravity: bool, gbias: bool, dt: float,
) -> tuple[F64, F64, F64, F64, B, F64, F64, F64, F64]:  # fmt: skip
    """The equations of `guidance._step_numpy`, one missile at a time.

    Written for speed, in three passes over the rows: the common case (no lag,
    no jerk limit, outside the end game: one force evaluation, the start
    command held), then the rows it left (the full step: lag, jerk limit, and
    in the end game a second force evaluation), then the closest-approach
    refinement of the rows that ended. The first loop skips the limit checks
    of the end values (the start command is within the limit, so are they).
    `prm` (K, 14): each missile's parameters, columns `KERNEL_COLUMNS`, with
    lag_e = exp(-dt/T) and lag_f = (T/dt)(1 - exp(-dt/T)) precomputed (0 and 0
    where T = 0), inv_ve = 1 / (Isp g0), the lift area -1 for none and the jerk
    limit finite (`JERK_NONE` for none).

    Returns:
        The new t, pos, vel, mass, done, miss, t_end, achieved acceleration
        (as `MissileState`'s fields) and the step's mean lateral acceleration
        (allocated here: cheaper than nine numpy allocations and arguments).
    """
    h2 = 0.5 * dt * dt
    inv_dt = 1.0 / dt
    gz0 = G0 if gravity else 0.0
    bias = G0 if gbias else 0.0
    blind = BLIND_STEPS * dt
    k = t.shape[0]
    o_t, o_mass, o_miss, o_tend = np.empty(k), np.empty(k), np.empty(k), np.empty(k)
    o_pos, o_vel, o_acc, o_alat = (
        np.empty((k, 3)),
        np.empty((k, 3)),
        np.empty((k, 3)),
        np.empty((k, 3)),
    )
    o_done = np.empty(k, dtype=np.bool_)
    slow = np.zeros(k, dtype=np.bool_)
    n_slow = 0
    n_end = 0
    # First pass: the common case (the full step's equations with no lag, no
    # jerk limit and the start command held); other rows are marked for the second.
    for i in range(k):
        o_done[i] = done[i]
        o_miss[i] = miss[i]
        o_tend[i] = tend[i]
        if done[i]:
            o_t[i] = t[i]
            o_mass[i] = mass[i]
            for j in range(3):
                o_pos[i, j] = pos[i, j]
                o_vel[i, j] = vel[i, j]
                o_acc[i, j] = acc[i, j]
                o_alat[i, j] = 0.0
            continue
        par = prm[i]
        if par[K_TAU] > 0.0 or par[K_JERK] < JERK_NONE:
            slow[i] = True
            n_slow += 1
            continue
        t0 = t[i]
        t1 = t0 + dt
        imp = _impulse(t0, t1, par)
        thrust = imp * inv_dt
        p0x, p0y, p0z = pos[i, 0], pos[i, 1], pos[i, 2]
        v0x, v0y, v0z = vel[i, 0], vel[i, 1], vel[i, 2]
        cx, cy, cz, ux0, uy0, uz0, al0, lim, vc, rn = _command(
            p0z, v0x, v0y, v0z, mass[i],
            gpos[i, 0] - p0x, gpos[i, 1] - p0y, gpos[i, 2] - p0z,
            tvel[i, 0] - v0x, tvel[i, 1] - v0y, tvel[i, 2] - v0z, tacc[i, 0], tacc[i, 1],
            tacc[i, 2], par[K_NAV], law[i], thrust, par, bias,
            acc[i, 0], acc[i, 1], acc[i, 2], blind,
        )  # fmt: skip
        if rn < ENDGAME_TGO_S * vc:
            slow[i] = True
            n_slow += 1
            continue
        fx, fy, fz = al0 * ux0, al0 * uy0, al0 * uz0
        vx = v0x + (cx + fx) * dt
        vy = v0y + (cy + fy) * dt
        vz = v0z + (cz + fz - gz0) * dt
        mx, my, mz, cx, cy, cz, accx, accy, accz = _finish(
            cx, cy, cz, cx, cy, cz, fx, fy, fz, lim, v0x, v0y, v0z, vx, vy, vz, gz0, False
        )
        o_t[i] = t1
        o_mass[i] = mass[i] - imp * par[K_INV_VE]
        o_pos[i, 0] = p0x + v0x * dt + accx * h2
        o_pos[i, 1] = p0y + v0y * dt + accy * h2
        o_pos[i, 2] = p0z + v0z * dt + accz * h2
        o_vel[i, 0], o_vel[i, 1], o_vel[i, 2] = v0x + accx * dt, v0y + accy * dt, v0z + accz * dt
        o_acc[i, 0], o_acc[i, 1], o_acc[i, 2] = cx, cy, cz
        o_alat[i, 0], o_alat[i, 1], o_alat[i, 2] = mx, my, mz
        o_done[i] = _opening(
            tpos[i, 0] - p0x, tpos[i, 1] - p0y, tpos[i, 2] - p0z,
            tvel[i, 0] - v0x, tvel[i, 1] - v0y, tvel[i, 2] - v0z,
            tacc[i, 0] - accx, tacc[i, 1] - accy, tacc[i, 2] - accz, dt,
        )  # fmt: skip
        n_end += o_done[i]
    # Second pass: the rows the first left, the full step.
    for i in range(k if n_slow else 0):
        if not slow[i]:
            continue
        par = prm[i]
        t0 = t[i]
        t1 = t0 + dt
        imp = _impulse(t0, t1, par)
        thrust = imp * inv_dt
        m1 = mass[i] - imp * par[K_INV_VE]
        p0x, p0y, p0z = pos[i, 0], pos[i, 1], pos[i, 2]
        v0x, v0y, v0z = vel[i, 0], vel[i, 1], vel[i, 2]
        tax, tay, taz = tacc[i, 0], tacc[i, 1], tacc[i, 2]
        lw = law[i]
        n = par[K_NAV]
        bx, by, bz = acc[i, 0], acc[i, 1], acc[i, 2]
        # The blind range: the last BLIND_STEPS steps hold the achieved acceleration.
        c0x, c0y, c0z, ux0, uy0, uz0, al0, lim, vc, rn = _command(
            p0z, v0x, v0y, v0z, mass[i],
            gpos[i, 0] - p0x, gpos[i, 1] - p0y, gpos[i, 2] - p0z,
            tvel[i, 0] - v0x, tvel[i, 1] - v0y, tvel[i, 2] - v0z, tax, tay, taz,
            n, lw, thrust, par, bias, bx, by, bz, blind,
        )  # fmt: skip
        # The achieved acceleration, turned with the velocity.
        d = bx * ux0 + by * uy0 + bz * uz0
        bx, by, bz = bx - d * ux0, by - d * uy0, bz - d * uz0
        lg = par[K_TAU]
        e = par[K_LAG_E]
        f = par[K_LAG_F]
        jm = par[K_JERK] * dt
        # Predictor: the start command held over the step (lag, jerk limit).
        mx, my, mz = c0x, c0y, c0z
        cx, cy, cz = c0x, c0y, c0z
        if lg > 0.0 or par[K_JERK] < JERK_NONE:  # (without either: the command itself)
            mx, my, mz = c0x + (bx - c0x) * f, c0y + (by - c0y) * f, c0z + (bz - c0z) * f
            cx, cy, cz = c0x + (bx - c0x) * e, c0y + (by - c0y) * e, c0z + (bz - c0z) * e
            dx, dy, dz = cx - bx, cy - by, cz - bz
            dm2 = dx * dx + dy * dy + dz * dz
            if dm2 > jm * jm:
                sc = jm / np.sqrt(dm2)
                cx, cy, cz = bx + dx * sc, by + dy * sc, bz + dz * sc
                mx, my, mz = 0.5 * (bx + cx), 0.5 * (by + cy), 0.5 * (bz + cz)
        vx = v0x + (mx + al0 * ux0) * dt
        vy = v0y + (my + al0 * uy0) * dt
        vz = v0z + (mz + al0 * uz0 - gz0) * dt
        # Along-velocity acceleration over the step (start value; averaged below).
        fx, fy, fz = al0 * ux0, al0 * uy0, al0 * uz0
        if rn < ENDGAME_TGO_S * vc:
            # End game: the forces again at the predicted end of the step
            # (Heun); the lag integrates the command as a ramp c0 -> c1.
            px = p0x + 0.5 * (v0x + vx) * dt
            py = p0y + 0.5 * (v0y + vy) * dt
            pz = p0z + 0.5 * (v0z + vz) * dt
            sx = tvel[i, 0] * dt + tax * h2
            sy = tvel[i, 1] * dt + tay * h2
            sz = tvel[i, 2] * dt + taz * h2
            # Within the blind range (or past closest approach) at the end of
            # the step: the start command is held.
            ax, ay, az, ux, uy, uz, al1, lim, _, _ = _command(
                pz, vx, vy, vz, m1,
                gpos[i, 0] + sx - px, gpos[i, 1] + sy - py, gpos[i, 2] + sz - pz,
                tvel[i, 0] + tax * dt - vx, tvel[i, 1] + tay * dt - vy,
                tvel[i, 2] + taz * dt - vz, tax, tay, taz,
                n, lw, thrust, par, bias, c0x, c0y, c0z, blind,
            )  # fmt: skip
            kx, ky, kz = (ax - c0x) * inv_dt, (ay - c0y) * inv_dt, (az - c0z) * inv_dt
            cx = ax - kx * lg + (bx - c0x + kx * lg) * e
            cy = ay - ky * lg + (by - c0y + ky * lg) * e
            cz = az - kz * lg + (bz - c0z + kz * lg) * e
            mx = 0.5 * (c0x + ax) - kx * lg + (bx - c0x + kx * lg) * f
            my = 0.5 * (c0y + ay) - ky * lg + (by - c0y + ky * lg) * f
            mz = 0.5 * (c0z + az) - kz * lg + (bz - c0z + kz * lg) * f
            dx, dy, dz = cx - bx, cy - by, cz - bz
            dm2 = dx * dx + dy * dy + dz * dz
            if dm2 > jm * jm:
                sc = jm / np.sqrt(dm2)
                cx, cy, cz = bx + dx * sc, by + dy * sc, bz + dz * sc
                mx, my, mz = 0.5 * (bx + cx), 0.5 * (by + cy), 0.5 * (bz + cz)
            fx, fy, fz = 0.5 * (fx + al1 * ux), 0.5 * (fy + al1 * uy), 0.5 * (fz + al1 * uz)
        mx, my, mz, cx, cy, cz, accx, accy, accz = _finish(
            mx, my, mz, cx, cy, cz, fx, fy, fz, lim, v0x, v0y, v0z, vx, vy, vz, gz0, True
        )
        o_t[i] = t1
        o_mass[i] = m1
        o_pos[i, 0] = p0x + v0x * dt + accx * h2
        o_pos[i, 1] = p0y + v0y * dt + accy * h2
        o_pos[i, 2] = p0z + v0z * dt + accz * h2
        o_vel[i, 0], o_vel[i, 1], o_vel[i, 2] = v0x + accx * dt, v0y + accy * dt, v0z + accz * dt
        o_acc[i, 0], o_acc[i, 1], o_acc[i, 2] = cx, cy, cz
        o_alat[i, 0], o_alat[i, 1], o_alat[i, 2] = mx, my, mz
        o_done[i] = _opening(
            tpos[i, 0] - p0x, tpos[i, 1] - p0y, tpos[i, 2] - p0z,
            tvel[i, 0] - v0x, tvel[i, 1] - v0y, tvel[i, 2] - v0z, tax - accx, tay - accy,
            taz - accz, dt,
        )  # fmt: skip
        n_end += o_done[i]
    # Third pass, over the flights that ended in this step: closest approach,
    # the root of r(s) . r'(s) in [0, dt] (safeguarded Newton from the chord).
    for i in range(k if n_end else 0):
        if done[i] or not o_done[i]:
            continue
        rx, ry, rz = tpos[i, 0] - pos[i, 0], tpos[i, 1] - pos[i, 1], tpos[i, 2] - pos[i, 2]
        wx, wy, wz = tvel[i, 0] - vel[i, 0], tvel[i, 1] - vel[i, 1], tvel[i, 2] - vel[i, 2]
        qx = tacc[i, 0] - (o_vel[i, 0] - vel[i, 0]) / dt
        qy = tacc[i, 1] - (o_vel[i, 1] - vel[i, 1]) / dt
        qz = tacc[i, 2] - (o_vel[i, 2] - vel[i, 2]) / dt
        dx, dy, dz = wx * dt + qx * h2, wy * dt + qy * h2, wz * dt + qz * h2
        sv = -(rx * dx + ry * dy + rz * dz) / max(dx * dx + dy * dy + dz * dz, 1e-18)
        sv = min(max(sv, 0.0), 1.0) * dt
        lo, hi = 0.0, dt
        if rx * wx + ry * wy + rz * wz >= 0.0:
            sv, hi = 0.0, 0.0  # already opening at the start of the step
        for _ in range(CPA_NEWTON):
            hs = 0.5 * sv * sv
            px, py, pz = rx + wx * sv + qx * hs, ry + wy * sv + qy * hs, rz + wz * sv + qz * hs
            vx, vy, vz = wx + qx * sv, wy + qy * sv, wz + qz * sv
            fv = px * vx + py * vy + pz * vz
            fd = vx * vx + vy * vy + vz * vz + px * qx + py * qy + pz * qz
            if fv < 0.0:
                lo = sv
            else:
                hi = sv
            nxt = sv - fv / fd if fd > 0.0 else -1.0
            sv = nxt if lo <= nxt <= hi else 0.5 * (lo + hi)
        hs = 0.5 * sv * sv
        px, py, pz = rx + wx * sv + qx * hs, ry + wy * sv + qy * hs, rz + wz * sv + qz * hs
        o_miss[i] = np.sqrt(px * px + py * py + pz * pz)
        o_tend[i] = t[i] + sv
    return o_t, o_pos, o_vel, o_mass, o_done, o_miss, o_tend, o_acc, o_alat
