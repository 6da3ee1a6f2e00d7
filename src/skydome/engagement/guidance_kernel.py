"""The guided flyout's compiled step: `guidance.step`'s equations, one missile at a time.

`skydome.engagement.guidance` holds the equations (module docstring), the public
API and the numpy reference implementation (`_step_numpy`) this loop is tested
against; numba compiles `_step_kernel` on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.constants import G0_MPS2 as G0
from skydome.constants import RHO0_KG_M3 as RHO0
from skydome.constants import SCALE_HEIGHT_M

__all__ = [
    "APN",
    "CPA_NEWTON",
    "PN",
    "PRESERVE_MIN_COS",
    "TPN",
    "VC_MIN_MPS",
    "ZEM",
    "compiled_kernel",
]

B = NDArray[np.bool_]

PN, TPN, APN, ZEM = 0, 1, 2, 3
"""Law indices (`skydome.engagement.guidance.LAWS`)."""

PRESERVE_MIN_COS = 0.5
"""Command preservation divides by cos(lead) floored here (lead 60 deg): the
LOS-normal command is kept exactly up to 60 deg of lead, at most doubled beyond."""

VC_MIN_MPS = 1.0
"""Closing speed floor of the ZEM law's time to go R / V_c, m/s."""

CPA_NEWTON = 4
"""Newton iterations of the closest-approach time within the last step."""


@functools.cache
def compiled_kernel() -> Callable[..., None]:
    """`_step_kernel` compiled by numba on first use (kinematic runs never import it)."""
    import numba

    kernel: Callable[..., None] = numba.njit(cache=True, fastmath=True, error_model="numpy")(
        _step_kernel
    )
    return kernel


def _step_kernel(
    t: F64, pos: F64, vel: F64, mass: F64, done: B, miss: F64, tend: F64, acc: F64,
    tpos: F64, tvel: F64, tacc: F64, gpos: F64,
    boost_t: F64, boost_s: F64, sus_t: F64, sus_s: F64, isp: F64, cda: F64,
    alim: F64, afloor: F64, lift: F64, nav: F64, law: I64, tau: F64, jerk: F64,
    gravity: bool, gbias: bool, dt: float,
    o_t: F64, o_pos: F64, o_vel: F64, o_mass: F64, o_done: B, o_miss: F64, o_tend: F64,
    o_acc: F64, o_alat: F64,
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
                o_acc[i, j] = acc[i, j]
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
        rn = np.sqrt(r2)
        inv_rn = 1.0 / rn
        lx, ly, lz = gx * inv_rn, gy * inv_rn, gz * inv_rn
        # omega = (r x v) / |r|^2
        ox = (gy * wz - gz * wy) * inv_r2
        oy = (gz * wx - gx * wz) * inv_r2
        oz = (gx * wy - gy * wx) * inv_r2
        vc = -(gx * wx + gy * wy + gz * wz) * inv_rn
        lw = law[i]
        n = nav[i]
        if lw == PN:  # pure PN: N' omega x v_M
            ax = n * (oy * vz - oz * vy)
            ay = n * (oz * vx - ox * vz)
            az = n * (ox * vy - oy * vx)
        else:
            tax, tay, taz = tacc[i, 0], tacc[i, 1], tacc[i, 2]
            d = tax * lx + tay * ly + taz * lz
            if lw == ZEM:  # ZEM: N' ZEM_perp / t_go^2
                tgo = rn / max(vc, VC_MIN_MPS)
                h2 = 0.5 * tgo * tgo
                zx = gx + wx * tgo + tax * h2
                zy = gy + wy * tgo + tay * h2
                zz = gz + wz * tgo + taz * h2
                d = zx * lx + zy * ly + zz * lz
                k = n / (tgo * tgo)
                ax, ay, az = k * (zx - d * lx), k * (zy - d * ly), k * (zz - d * lz)
            else:  # true PN: N' Vc omega x u (+ N'/2 a_T,perp for APN)
                g = n * vc
                ax = g * (oy * lz - oz * ly)
                ay = g * (oz * lx - ox * lz)
                az = g * (ox * ly - oy * lx)
                if lw == APN:
                    ax += 0.5 * n * (tax - d * lx)
                    ay += 0.5 * n * (tay - d * ly)
                    az += 0.5 * n * (taz - d * lz)
            # Command preservation: the LOS-normal command, normal to the velocity.
            beta = -(ax * ux + ay * uy + az * uz) / max(
                lx * ux + ly * uy + lz * uz, PRESERVE_MIN_COS
            )
            ax, ay, az = ax + beta * lx, ay + beta * ly, az + beta * lz
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
        # Flight control: the achieved acceleration (turned with the velocity)
        # follows the command through a first-order lag, then the jerk limit.
        bx, by, bz = acc[i, 0], acc[i, 1], acc[i, 2]
        d = bx * ux + by * uy + bz * uz
        bx, by, bz = bx - d * ux, by - d * uy, bz - d * uz
        if tau[i] > 0.0:
            e = np.exp(-dt / tau[i])
            f = -np.expm1(-dt / tau[i]) * tau[i] / dt
            cx, cy, cz = ax + (bx - ax) * e, ay + (by - ay) * e, az + (bz - az) * e
            mx, my, mz = ax + (bx - ax) * f, ay + (by - ay) * f, az + (bz - az) * f
        else:
            cx, cy, cz = ax, ay, az
            mx, my, mz = ax, ay, az
        if jerk[i] >= 0.0:
            dx, dy, dz = cx - bx, cy - by, cz - bz
            dm = np.sqrt(dx * dx + dy * dy + dz * dz)
            jm = jerk[i] * dt
            if dm > jm:
                sc = jm / dm
                cx, cy, cz = bx + dx * sc, by + dy * sc, bz + dz * sc
                mx, my, mz = 0.5 * (bx + cx), 0.5 * (by + cy), 0.5 * (bz + cz)
        mag = np.sqrt(cx * cx + cy * cy + cz * cz)
        sc = min(1.0, lim / max(mag, 1e-12))
        cx, cy, cz = cx * sc, cy * sc, cz * sc
        mag = np.sqrt(mx * mx + my * my + mz * mz)
        sc = min(1.0, lim / max(mag, 1e-12))
        mx, my, mz = mx * sc, my * sc, mz * sc
        if t[i] < boost_s[i]:
            thrust = boost_t[i]
        elif t[i] < boost_s[i] + sus_s[i]:
            thrust = sus_t[i]
        else:
            thrust = 0.0
        drag = 0.5 * rho * speed * speed * cda[i]
        along = (thrust - drag) * inv_m
        accx, accy, accz = mx + along * ux, my + along * uy, mz + along * uz
        if gravity:
            accz -= G0
        h2 = 0.5 * dt * dt
        nvx, nvy, nvz = vx + accx * dt, vy + accy * dt, vz + accz * dt
        npx = pos[i, 0] + vx * dt + accx * h2
        npy = pos[i, 1] + vy * dt + accy * h2
        npz = pos[i, 2] + vz * dt + accz * h2
        o_mass[i] = mass[i] - thrust / (isp[i] * G0) * dt
        # Relative motion over the step: r(s) = r0 + w s + q s^2 / 2.
        qx, qy, qz = tacc[i, 0] - accx, tacc[i, 1] - accy, tacc[i, 2] - accz
        r1x, r1y, r1z = rx + wx * dt + qx * h2, ry + wy * dt + qy * h2, rz + wz * dt + qz * h2
        closing = r1x * (wx + qx * dt) + r1y * (wy + qy * dt) + r1z * (wz + qz * dt) < 0.0
        o_t[i] = t[i] + dt
        o_pos[i, 0], o_pos[i, 1], o_pos[i, 2] = npx, npy, npz
        o_vel[i, 0], o_vel[i, 1], o_vel[i, 2] = nvx, nvy, nvz
        o_acc[i, 0], o_acc[i, 1], o_acc[i, 2] = cx, cy, cz
        o_alat[i, 0], o_alat[i, 1], o_alat[i, 2] = mx, my, mz
        if not closing:
            # Closest approach: the root of r(s) . r'(s) in [0, dt], safeguarded
            # Newton from the straight-chord estimate.
            dx, dy, dz = r1x - rx, r1y - ry, r1z - rz
            sv = -(rx * dx + ry * dy + rz * dz) / max(dx * dx + dy * dy + dz * dz, 1e-18)
            sv = min(max(sv, 0.0), 1.0) * dt
            lo, hi = 0.0, dt
            if rx * wx + ry * wy + rz * wz >= 0.0:
                sv, hi = 0.0, 0.0  # already opening at the start of the step
            for _ in range(CPA_NEWTON):
                hs = 0.5 * sv * sv
                px, py, pz = rx + wx * sv + qx * hs, ry + wy * sv + qy * hs, rz + wz * sv + qz * hs
                vx1, vy1, vz1 = wx + qx * sv, wy + qy * sv, wz + qz * sv
                fv = px * vx1 + py * vy1 + pz * vz1
                fd = vx1 * vx1 + vy1 * vy1 + vz1 * vz1 + px * qx + py * qy + pz * qz
                if fv < 0.0:
                    lo = sv
                else:
                    hi = sv
                nxt = sv - fv / fd if fd > 0.0 else -1.0
                sv = nxt if lo <= nxt <= hi else 0.5 * (lo + hi)
            hs = 0.5 * sv * sv
            px, py, pz = rx + wx * sv + qx * hs, ry + wy * sv + qy * hs, rz + wz * sv + qz * hs
            o_done[i] = True
            o_miss[i] = np.sqrt(px * px + py * py + pz * pz)
            o_tend[i] = t[i] + sv
