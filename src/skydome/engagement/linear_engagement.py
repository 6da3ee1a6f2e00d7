"""Linear planar homing engagement: the textbook model the guided kernel is checked against.

Zarchan, *Tactical and Strategic Missile Guidance* (6th ed.), ch. 2-3: for small
angles the engagement is one lateral axis. With y the target's displacement from
the missile normal to the initial line of sight (m), y_dot its rate (m/s), n_T
the target's lateral acceleration (a step, m/s^2) and n_L the missile's achieved
lateral acceleration (m/s^2):

    y_ddot = n_T - n_L
    lambda = y / (V_c t_go),  t_go = t_F - t         (line-of-sight angle, rad)
    n_c = N' V_c lambda_dot = N' (y + y_dot t_go) / t_go^2 + k_a n_T

with k_a = 0 for proportional navigation and N'/2 for augmented PN (in the linear
model the zero-effort-miss law is the same as APN). The flight-control system
is a lag: first order n_L' = (n_c - n_L) / T, or the n-th order binomial
1 / (1 + s T / n)^n (n first-order stages of time constant T / n). Initial
conditions: y(0) = 0, y_dot(0) = -V_m HE for a heading error HE (rad), n_L(0) = 0.
The miss distance is y(t_F). The closing speed cancels out of the miss; it sets
the line-of-sight rate only.

The state x = [y, y_dot, n_T, x_1 .. x_n] (n_L = x_n) obeys x' = A(t_go) x, so
the miss is linear in the initial state. `simulate` integrates it forward
(classical RK4 on a fixed graded grid, vectorised over a batch of cases); `adjoint_miss`
integrates the adjoint system lambda' = A(tau)^T lambda in tau = t_go from
lambda(0) = e_y, which gives the miss for every flight time in one run:
miss(t_F) = lambda(t_F) . x(0) (Zarchan ch. 3, the method of adjoints).

SI units throughout (Zarchan's examples are in feet: 1 ft = 0.3048 m; "3 g" is
3 x 32.2 ft/s^2 = 96.6 ft/s^2 in his listings). This module is a validation
reference for tests and docs/validation.md, not used by the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from skydome.arrays import F64

__all__ = [
    "AdjointMiss",
    "LinearEngagement",
    "LinearRun",
    "adjoint_miss",
    "simulate",
    "system_matrix",
]

LAWS = ("pn", "apn")
"""Guidance laws of the linear model: proportional and augmented PN."""

TGO_EPS_S = 1e-12
"""Added to t_go so the PN gains stay finite at t_go = 0 exactly (Zarchan's listings add 1e-5 s,
which moves his 10 s single-lag miss by 3-4 %: the regular solution decays as exp(-t_F / T) while
an error made at the singular end does not)."""

GRADING = 3.0
"""Time grid t_go,k = t_F (1 - k / S)^GRADING: steps shrink towards the 1/t_go^2 singularity,
which keeps RK4 fourth order there (on a uniform grid the error is first order in the step)."""


def _tgo_grid(t_f_s: F64, n_steps: int) -> F64:
    """(B, S + 1) times to go, from t_F down to 0 on the graded grid."""
    frac = (1.0 - np.arange(n_steps + 1) / n_steps) ** GRADING
    out: F64 = t_f_s[:, None] * frac[None, :]
    return out


@dataclass(frozen=True)
class LinearEngagement:
    """A batch of B linear engagements (each field (B,), or a scalar broadcast).

    Attributes:
        t_f_s: (B,) flight time t_F, s.
        nav_gain: (B,) effective navigation ratio N'.
        tau_s: (B,) flight-control time constant T, s (0: no lag, n_L = n_c).
        target_acc_mps2: (B,) step target manoeuvre n_T, m/s^2.
        heading_error_rad: (B,) heading error HE, rad (y_dot(0) = -V_m HE).
        missile_speed_mps: (B,) missile speed V_m, m/s (enters through HE only).
        closing_speed_mps: (B,) closing speed V_c, m/s (for the LOS rate only).
        law: "pn" or "apn" (augmented: + N'/2 n_T in the command).
        lag_order: n of the binomial lag 1 / (1 + s T / n)^n (1: single lag).
    """

    t_f_s: F64 | float
    nav_gain: F64 | float
    tau_s: F64 | float
    target_acc_mps2: F64 | float
    heading_error_rad: F64 | float
    missile_speed_mps: F64 | float
    closing_speed_mps: F64 | float
    law: str = "pn"
    lag_order: int = 1

    def batch(self) -> int:
        """Number of cases B (the broadcast length of the fields)."""
        return int(
            np.broadcast(
                self.t_f_s,
                self.nav_gain,
                self.tau_s,
                self.target_acc_mps2,
                self.heading_error_rad,
                self.missile_speed_mps,
                self.closing_speed_mps,
            ).size
        )


@dataclass(frozen=True)
class LinearRun:
    """Histories of a forward run (B cases, S steps, S + 1 samples).

    Attributes:
        t_s: (B, S + 1) time, s (each case on its own graded grid, 0 .. t_F).
        y_m: (B, S + 1) relative lateral displacement y, m.
        y_dot_mps: (B, S + 1) its rate, m/s.
        n_c_mps2: (B, S + 1) commanded acceleration, m/s^2.
        n_l_mps2: (B, S + 1) achieved acceleration n_L, m/s^2.
        lam_dot_rps: (B, S + 1) line-of-sight rate, rad/s.
        miss_m: (B,) y(t_F), m (signed).
    """

    t_s: F64
    y_m: F64
    y_dot_mps: F64
    n_c_mps2: F64
    n_l_mps2: F64
    lam_dot_rps: F64
    miss_m: F64


@dataclass(frozen=True)
class AdjointMiss:
    """Miss against flight time from one adjoint run (B gain/lag cases, M + 1 flight times).

    Attributes:
        t_f_s: (M + 1,) flight times, s (0 .. t_f_max, graded: fine near 0).
        per_target_acc_s2: (B, M + 1) miss per unit step target acceleration,
            m / (m/s^2); times n_T gives the miss, m.
        per_y_dot_s: (B, M + 1) miss per unit initial y_dot, s; times
            -V_m HE gives the heading-error miss, m.
    """

    t_f_s: F64
    per_target_acc_s2: F64
    per_y_dot_s: F64

    def miss_m(self, target_acc_mps2: float, missile_speed_mps: float, he_rad: float) -> F64:
        """Total miss (B, M + 1), m, for a step n_T and a heading error together."""
        out: F64 = (
            target_acc_mps2 * self.per_target_acc_s2 - missile_speed_mps * he_rad * self.per_y_dot_s
        )
        return out


def _law_gain(law: str) -> float:
    """k_a / N' of the law: the target-acceleration term of the command."""
    if law not in LAWS:
        raise ValueError(f"law must be one of {LAWS}, got {law!r}")
    return 0.5 if law == "apn" else 0.0


def system_matrix(t_go_s: F64, nav_gain: F64, tau_s: F64, law: str, lag_order: int) -> F64:
    """The linear engagement's A(t_go), (B, 3 + n, 3 + n), for x = [y, y_dot, n_T, x_1..x_n].

    Args:
        t_go_s: (B,) time to go, s (> 0).
        nav_gain: (B,) N'.
        tau_s: (B,) lag time constant T, s; rows with T = 0 have n_L = n_c
            (the lag states are then unused and stay zero).
        law: "pn" or "apn".
        lag_order: n of the binomial lag.
    """
    t_go, nav, tau = np.broadcast_arrays(
        np.asarray(t_go_s, float), np.asarray(nav_gain, float), np.asarray(tau_s, float)
    )
    b, n = t_go.shape[0], lag_order
    m = 3 + n
    a = np.zeros((b, m, m))
    # Command coefficients: n_c = c_y y + c_yd y_dot + c_nt n_T.
    c_y = nav / t_go**2
    c_yd = nav / t_go
    c_nt = _law_gain(law) * nav
    lag = tau > 0.0
    rate = np.where(lag, n / np.where(lag, tau, 1.0), 0.0)  # n / T, per stage
    a[:, 0, 1] = 1.0
    # y_ddot = n_T - n_L, n_L = x_n with a lag, n_c without.
    a[:, 1, 2] = np.where(lag, 1.0, 1.0 - c_nt)
    a[:, 1, 0] = np.where(lag, 0.0, -c_y)
    a[:, 1, 1] = np.where(lag, 0.0, -c_yd)
    a[:, 1, m - 1] = np.where(lag, -1.0, 0.0)
    # First stage driven by the command, the others by the stage before.
    a[:, 3, 0] = rate * c_y
    a[:, 3, 1] = rate * c_yd
    a[:, 3, 2] = rate * c_nt
    for i in range(3, m):  # n stages (a few), not a loop over cases
        a[:, i, i] = -rate
        if i > 3:
            a[:, i, i - 1] = rate
    return a


def _rk4(x: F64, h: F64, f: Callable[[F64, F64], F64], t: F64) -> F64:
    """One classical Runge-Kutta step of x' = f(t, x) for a batch (x: (B, m), t, h: (B,))."""
    hb = h[:, None]
    k1 = f(t, x)
    k2 = f(t + 0.5 * h, x + 0.5 * hb * k1)
    k3 = f(t + 0.5 * h, x + 0.5 * hb * k2)
    k4 = f(t + h, x + hb * k3)
    out: F64 = x + hb / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return out


def simulate(eng: LinearEngagement, n_steps: int = 1000) -> LinearRun:
    """Forward run of a batch of linear engagements (RK4 on the graded grid `_tgo_grid`).

    The steps shrink towards intercept, where the command's gains go as 1/t_go
    and 1/t_go^2 (evaluated at t_go + `TGO_EPS_S`). With a lag, the miss of
    Zarchan's single-lag cases matches the closed form to 1e-8 (relative) at
    1,000 steps. Without a lag the command stays finite
    (n_c -> N'/(N'-2) n_T for PN) but the final sample's n_c is 0/0: read it
    before t_F.

    Returns:
        The histories and the miss y(t_F), m.
    """
    b = eng.batch()

    def bc(v: F64 | float) -> F64:
        out: F64 = np.broadcast_to(np.asarray(v, float), (b,)).copy()
        return out

    t_f, nav, tau = bc(eng.t_f_s), bc(eng.nav_gain), bc(eng.tau_s)
    n_t, he, vm = bc(eng.target_acc_mps2), bc(eng.heading_error_rad), bc(eng.missile_speed_mps)
    vc = bc(eng.closing_speed_mps)
    m = 3 + eng.lag_order
    x = np.zeros((b, m))
    x[:, 1] = -vm * he
    x[:, 2] = n_t
    t_go = _tgo_grid(t_f, n_steps)
    ts = t_f[:, None] - t_go

    def f(t: F64, xs: F64) -> F64:
        a = system_matrix(t_f - t + TGO_EPS_S, nav, tau, eng.law, eng.lag_order)
        out: F64 = np.einsum("bij,bj->bi", a, xs)
        return out

    hist = np.empty((n_steps + 1, b, m))
    hist[0] = x
    for k in range(n_steps):  # time steps; the batch is the vector axis
        x = _rk4(x, ts[:, k + 1] - ts[:, k], f, ts[:, k])
        hist[k + 1] = x
    tg = t_go + TGO_EPS_S
    y, yd = hist[:, :, 0].T, hist[:, :, 1].T
    n_c = nav[:, None] * (y + yd * tg) / tg**2 + _law_gain(eng.law) * nav[:, None] * n_t[:, None]
    n_l = np.where(tau[:, None] > 0, hist[:, :, m - 1].T, n_c)
    lam_dot = (y + yd * tg) / (vc[:, None] * tg**2)
    return LinearRun(
        t_s=ts, y_m=y, y_dot_mps=yd, n_c_mps2=n_c, n_l_mps2=n_l, lam_dot_rps=lam_dot,
        miss_m=y[:, -1].copy(),
    )  # fmt: skip


def adjoint_miss(
    nav_gain: F64 | float,
    tau_s: F64 | float,
    t_f_max_s: float,
    law: str = "pn",
    lag_order: int = 1,
    n_steps: int = 1000,
) -> AdjointMiss:
    """Miss against flight time for step-manoeuvre and heading-error inputs, one adjoint run.

    lambda' = A(tau)^T lambda from lambda(0) = e_y (tau = t_go), RK4 on the
    graded grid (fine steps near tau = 0); lambda(t_F) . x(0) is the miss of the
    flight of time t_F (Zarchan, ch. 3). Needs a lag (T > 0): without one the
    adjoint starts on the 1/t_go^2 singularity.

    Args:
        nav_gain: (B,) or scalar N'.
        tau_s: (B,) or scalar T > 0, s.
        t_f_max_s: largest flight time, s.
        law: "pn" or "apn".
        lag_order: n of the binomial lag.
        n_steps: adjoint steps M.
    """
    nav, tau = np.broadcast_arrays(
        np.atleast_1d(np.asarray(nav_gain, float)), np.atleast_1d(np.asarray(tau_s, float))
    )
    if np.any(tau <= 0):
        raise ValueError("the adjoint needs a flight-control lag (tau_s > 0)")
    b, m = nav.shape[0], 3 + lag_order
    lam = np.zeros((b, m))
    lam[:, 0] = 1.0
    grid = _tgo_grid(np.array([t_f_max_s]), n_steps)[0, ::-1].copy()  # 0 .. t_f_max

    def f(tau_go: F64, ls: F64) -> F64:
        a = system_matrix(tau_go + TGO_EPS_S, nav, tau, law, lag_order)
        out: F64 = np.einsum("bji,bj->bi", a, ls)  # A^T lambda
        return out

    per_nt = np.zeros((b, n_steps + 1))
    per_yd = np.zeros((b, n_steps + 1))
    for k in range(n_steps):
        lam = _rk4(lam, np.full(b, grid[k + 1] - grid[k]), f, np.full(b, grid[k]))
        per_nt[:, k + 1], per_yd[:, k + 1] = lam[:, 2], lam[:, 1]
    return AdjointMiss(t_f_s=grid, per_target_acc_s2=per_nt, per_y_dot_s=per_yd)
