"""Independent reference for the guided kernel: a tight adaptive ODE solution of an engagement.

Written from the guidance equations, not from `skydome.engagement.guidance`
(nothing of the kernel is imported), and integrated by scipy's DOP853 at
rtol 1e-10 (atol 1e-9 m, m/s) with a terminal event at closest approach, so it can judge the
kernel's fixed-step integration and end-game.

Model (3-D, SI, no gravity, thrust or drag): a constant-speed point-mass missile
p_M' = v_M, v_M' = a_M with a_M normal to v_M; a target p_T' = v_T,
v_T' = a_T with a_T either a constant vector or a constant-speed turn
(a_T normal to v_T, fixed magnitude, about a fixed axis: Zarchan's "3 g target",
beta_dot = n_T / V_T).

With r = p_T - p_M, w = v_T - v_M, R = |r|, u = r / R, Omega = r x w / R^2 (line
of sight rate), V_c = -r.w / R, u_V = v_M / |v_M|, cos(lead) = u.u_V:

* pn  (pure PN):      a = N' Omega x v_M                         (|a| = N' V_M lambda_dot)
* tpn (true PN):      a_los = N' V_c Omega x u
* apn (augmented):    a_los = N' V_c Omega x u + N'/2 (a_T - (a_T.u) u)
* zem (zero effort):  a_los = N' ZEM_perp / t_go^2, t_go = R / V_c,
  ZEM = r + w t_go + a_T t_go^2 / 2, ZEM_perp its part normal to u

and for tpn/apn/zem command preservation: a = a_los - (a_los.u_V) / cos(lead) u,
normal to v_M with LOS-normal part exactly a_los; cos(lead) floored at
`MIN_COS` = cos 60 deg and the result projected normal to v_M (the API
contract's cap; the reference cases stay below 60 deg). References: Zarchan,
*Tactical and Strategic Missile Guidance*, 6th ed., ch. 2, 8; Palumbo,
Blauwkamp and Lloyd, "Basic principles of homing guidance", JHU APL Tech.
Digest 29(1), 2010.

Optional acceleration limit: the command is scaled down to |a| <= a_max.
Optional first-order flight-control lag of time constant T: the achieved
acceleration a_M is a state kept normal to v_M (it turns with the airframe):
a_M' = (a_c - a_M) / T - (|a_M|^2 / V_M) u_V, the last term being exactly what
keeps a_M . v_M = 0 as v_M turns.

The flight ends at closest approach, the event r.w = 0 crossing upwards;
`Outcome.t_f_s` is its time and `Outcome.miss_m` = R there (or, for a hit, at
R = `R_STOP_M` the straight-line closest approach from there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

Vec = NDArray[np.float64]

LAWS = ("pn", "tpn", "apn", "zem")
R_STOP_M = 1e-3
"""Range at which a hit is declared and closest approach found on the straight line
(the PN command goes as 1/R; at 1 mm and ~1 km/s the remaining curvature is nanometres)."""
MIN_COS = 0.5
"""Floor on cos(lead) in command preservation (60 deg), as in the API contract."""


@dataclass(frozen=True)
class Engagement:
    """One engagement's initial conditions and guidance.

    Attributes:
        missile_pos_m, missile_vel_mps: (3,) missile state at t = 0.
        target_pos_m, target_vel_mps: (3,) target state at t = 0.
        target_acc_mps2: (3,) target acceleration at t = 0.
        target_turns: True: a_T stays normal to v_T at constant magnitude (a
            level turn about the axis v_T x a_T); False: a_T is constant.
        law: one of `LAWS`.
        nav_gain: N'.
        tau_s: flight-control lag T, s (0: none).
        a_limit_mps2: largest lateral acceleration command, m/s^2 (the command is
            scaled down to it; inf: none).
    """

    missile_pos_m: Vec
    missile_vel_mps: Vec
    target_pos_m: Vec
    target_vel_mps: Vec
    target_acc_mps2: Vec = field(default_factory=lambda: np.zeros(3))
    target_turns: bool = True
    law: str = "tpn"
    nav_gain: float = 4.0
    tau_s: float = 0.0
    a_limit_mps2: float = float("inf")


@dataclass(frozen=True)
class Outcome:
    """Result of one ODE flight.

    Attributes:
        t_f_s: time of closest approach, s.
        miss_m: range at closest approach, m.
        max_lead_deg: largest lead angle (missile velocity vs LOS) seen, deg.
        t_s: (n,) sample times, s (while the range exceeds 1 m).
        acc_mps2: (n, 3) missile lateral acceleration at those times.
    """

    t_f_s: float
    miss_m: float
    max_lead_deg: float
    t_s: Vec
    acc_mps2: Vec


def target_state(eng: Engagement, t: float | Vec) -> tuple[Vec, Vec, Vec]:
    """Target position, velocity and acceleration at times t (closed form), each (n, 3).

    Constant acceleration: p0 + v0 t + a t^2 / 2. Turning: v rotates at rate
    w = |a| / |v| about k = (v0 x a0) / |v0 x a0|, so with e1 = v0/|v0|,
    e2 = a0/|a0|: v = V (cos wt e1 + sin wt e2), p = p0 + (V/w)(sin wt e1 +
    (1 - cos wt) e2), a = |a| (-sin wt e1 + cos wt e2).
    """
    ts = np.atleast_1d(np.asarray(t, dtype=float))[:, None]
    p0, v0, a0 = eng.target_pos_m, eng.target_vel_mps, eng.target_acc_mps2
    an = float(np.linalg.norm(a0))
    if not eng.target_turns or an == 0.0:
        return p0 + v0 * ts + 0.5 * a0 * ts**2, v0 + a0 * ts + 0 * ts, a0 + 0 * ts
    vn = float(np.linalg.norm(v0))
    e1, e2 = v0 / vn, a0 / an
    om = an / vn
    c, s = np.cos(om * ts), np.sin(om * ts)
    pos = p0 + (vn / om) * (s * e1 + (1 - c) * e2)
    return pos, vn * (c * e1 + s * e2), an * (-s * e1 + c * e2)


T3 = tuple[float, float, float]


def _dot(a: T3, b: T3) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a: T3, b: T3) -> T3:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _axpy(k: float, x: T3, y: T3) -> T3:
    """k x + y."""
    return (k * x[0] + y[0], k * x[1] + y[1], k * x[2] + y[2])


def _perp(x: T3, u: T3) -> T3:
    """x without its component along the unit vector u."""
    return _axpy(-_dot(x, u), u, x)


def command(eng: Engagement, r: T3, w: T3, v_m: T3, a_t: T3) -> T3:
    """The law's lateral acceleration command, normal to v_M (plain floats: the
    integrator calls this ~1e5 times, and 3-vectors are faster as tuples)."""
    rr = _dot(r, r)
    rn = rr**0.5
    u = (r[0] / rn, r[1] / rn, r[2] / rn)
    ox, oy, oz = _cross(r, w)
    omega = (ox / rr, oy / rr, oz / rr)
    vc = -_dot(r, w) / rn
    n = eng.nav_gain
    vn = _dot(v_m, v_m) ** 0.5
    uv = (v_m[0] / vn, v_m[1] / vn, v_m[2] / vn)
    if eng.law == "pn":
        return _limit(eng, _axpy(n, _cross(omega, v_m), (0.0, 0.0, 0.0)))
    if eng.law == "tpn":
        a_los = _axpy(n * vc, _cross(omega, u), (0.0, 0.0, 0.0))
    elif eng.law == "apn":
        a_los = _axpy(n * vc, _cross(omega, u), _axpy(0.5 * n, _perp(a_t, u), (0.0, 0.0, 0.0)))
    elif eng.law == "zem":
        tgo = rn / vc
        zem = _axpy(0.5 * tgo * tgo, a_t, _axpy(tgo, w, r))
        a_los = _axpy(n / (tgo * tgo), _perp(zem, u), (0.0, 0.0, 0.0))
    else:
        raise ValueError(f"unknown law {eng.law!r}")
    cos_lead = max(_dot(u, uv), MIN_COS)
    a = _axpy(-_dot(a_los, uv) / cos_lead, u, a_los)
    return _limit(eng, _perp(a, uv))


def _limit(eng: Engagement, a: T3) -> T3:
    """The command scaled down to |a| <= `Engagement.a_limit_mps2`."""
    mag = _dot(a, a) ** 0.5
    if mag <= eng.a_limit_mps2:
        return a
    k = eng.a_limit_mps2 / mag
    return (k * a[0], k * a[1], k * a[2])


def fly(eng: Engagement, t_max_s: float = 200.0, rtol: float = 1e-10) -> Outcome:
    """Integrate the engagement to closest approach (DOP853, rtol `rtol`, atol 1e-9 in SI).

    State: p_M, v_M, p_T, v_T, a_M (15). The target is integrated too (its closed
    form is `target_state`, which the tests compare with this).
    """
    lag = eng.tau_s > 0.0
    tau = eng.tau_s
    a_fixed: T3 = tuple(float(x) for x in eng.target_acc_mps2)  # type: ignore[assignment]
    turns = eng.target_turns and _dot(a_fixed, a_fixed) > 0.0
    v0: T3 = tuple(float(x) for x in eng.target_vel_mps)  # type: ignore[assignment]
    # A turning target: v_T' = Omega_T x v_T with Omega_T = (v0 x a0) / |v0|^2.
    ax, ay, az = _cross(v0, a_fixed)
    turn_axis = (ax / _dot(v0, v0), ay / _dot(v0, v0), az / _dot(v0, v0))

    def rhs(_t: float, y: Vec) -> Vec:
        (mx, my, mz, vx, vy, vz, tx, ty, tz, wx, wy, wz, ax_, ay_, az_) = y.tolist()
        v_m, v_t = (vx, vy, vz), (wx, wy, wz)
        a_t = _cross(turn_axis, v_t) if turns else a_fixed
        a_c = command(eng, (tx - mx, ty - my, tz - mz), (wx - vx, wy - vy, wz - vz), v_m, a_t)
        if lag:
            a_m = (ax_, ay_, az_)
            speed2 = _dot(v_m, v_m)
            k = -_dot(a_m, a_m) / speed2  # keeps a_M . v_M = 0 as v_M turns
            da = tuple((a_c[i] - a_m[i]) / tau + k * v_m[i] for i in range(3))
            return np.array([*v_m, *a_m, *v_t, *a_t, *da])
        return np.array([*v_m, *a_c, *v_t, *a_t, 0.0, 0.0, 0.0])

    def closest(_t: float, y: Vec) -> float:
        return float((y[6:9] - y[0:3]) @ (y[9:12] - y[3:6]))

    def near(_t: float, y: Vec) -> float:
        return float(np.linalg.norm(y[6:9] - y[0:3])) - R_STOP_M

    closest.terminal = True  # type: ignore[attr-defined]
    closest.direction = 1.0  # type: ignore[attr-defined]
    near.terminal = True  # type: ignore[attr-defined]
    near.direction = -1.0  # type: ignore[attr-defined]
    y0 = np.concatenate(
        [eng.missile_pos_m, eng.missile_vel_mps, eng.target_pos_m, eng.target_vel_mps, np.zeros(3)]
    ).astype(float)
    sol = solve_ivp(
        rhs, (0.0, t_max_s), y0, method="DOP853", rtol=rtol, atol=1e-9, events=(closest, near),
        dense_output=True,
    )  # fmt: skip
    if sol.status != 1:
        raise RuntimeError(f"no closest approach before {t_max_s} s: {sol.message}")
    assert sol.t_events is not None and sol.y_events is not None and sol.sol is not None
    if len(sol.t_events[0]):
        t_f = float(sol.t_events[0][0])
        y_f = sol.y_events[0][0]
        miss = float(np.linalg.norm(y_f[6:9] - y_f[0:3]))
    else:  # a hit: within R_STOP_M, finish on the straight line
        t_s, y_f = float(sol.t_events[1][0]), sol.y_events[1][0]
        r, w = y_f[6:9] - y_f[0:3], y_f[9:12] - y_f[3:6]
        dt = max(-float(r @ w) / float(w @ w), 0.0)
        t_f, miss = t_s + dt, float(np.linalg.norm(r + w * dt))
    # Diagnostics on a few hundred samples, down to a range of 1 m (closer in, a
    # hit's lead angle and command are 0/0).
    ts = np.linspace(0.0, float(sol.t[-1]), 400)
    ys = sol.sol(ts)
    rng = np.linalg.norm(ys[6:9] - ys[0:3], axis=0)
    ts, ys = ts[rng > 1.0], ys[:, rng > 1.0]
    acc = np.empty((ts.size, 3))
    lead = np.empty(ts.size)
    for i in range(ts.size):
        y = ys[:, i]
        acc[i] = rhs(ts[i], y)[3:6]
        r = y[6:9] - y[0:3]
        cl = float(r @ y[3:6]) / (np.linalg.norm(r) * np.linalg.norm(y[3:6]))
        lead[i] = np.degrees(np.arccos(np.clip(cl, -1.0, 1.0)))
    return Outcome(t_f_s=t_f, miss_m=miss, max_lead_deg=float(lead.max()), t_s=ts, acc_mps2=acc)
