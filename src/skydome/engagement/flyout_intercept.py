"""The planner's side of the flyout tables: table lookups and the intercept solve.

`FlyoutTable` holds each missile type's tabled flights (built by
`skydome.engagement.flyout_table`, which explains the table) and interpolates
them. `intercept_tof` solves the predicted intercept for constant-velocity
targets: the time of flight T with T = tof(PIP(T)), PIP(T) = x + v (tau + T),
by a few secant iterations (an accelerated fixed-point iteration), vectorised
over any leading shape; `table_intercept_grid` and `table_flyout` are the
guided runs' `intercept_grid` and `kinematic_flyout` on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skydome.arrays import F64, I64
from skydome.engagement.geometry import InterceptGrid, envelope_grid
from skydome.engagement.guided import LAUNCH_HEIGHT_M
from skydome.engagement.params import BatteryParams, MissileParams

__all__ = [
    "MAX_FLIGHT_S",
    "SOLVER_ITERATIONS",
    "FlyoutTable",
    "intercept_tof",
    "table_flyout",
    "table_intercept_grid",
]

MAX_FLIGHT_S = 1800.0
"""No tabled flight lasts longer, s."""

SOLVER_ITERATIONS = 8
"""Secant iterations of the intercept solve."""


@dataclass(frozen=True)
class FlyoutTable:
    """Tabled flights of every type (M types, H altitude nodes, G ground nodes).

    Attributes:
        ground_m: (M, G) ground-range nodes of each type, m.
        alt_m: (M, H) altitude nodes of each type (above the launcher), m.
        tof_s: (M, H, G) time of flight from launch to closest approach (nan: not hit).
        speed_mps: (M, H, G) the missile's speed there (nan: not hit).
        pace_s_per_m: (M, H, G) time of flight per metre of slant range,
            filled beyond the reach (what the solver interpolates).
        reach_m: (M, H) farthest ground range hit at each altitude node (0: none).
        ceiling_m: (M,) highest altitude hit.
        hole: (M, H, G) 1.0 at nodes missed inside the reach (a farther node at
            that altitude was hit: e.g. where a lofted climb turns into its
            descent), else 0.0; the planner avoids points nearer a hole than a hit.
        peak_speed_mps: (M,) highest speed of any tabled flight (burn-out speed).
        envelope_alt_m: (M, H + 1) vertices of the reach curve: the altitude
            nodes and the ceiling, ascending.
        envelope_reach_m: (M, H + 1) the reach there (0 at the ceiling and above).
        build_s: wall time the table took to build, s.
    """

    ground_m: F64
    alt_m: F64
    tof_s: F64
    speed_mps: F64
    pace_s_per_m: F64
    reach_m: F64
    ceiling_m: F64
    hole: F64
    peak_speed_mps: F64
    envelope_alt_m: F64
    envelope_reach_m: F64
    build_s: float

    def tof(self, m: I64, ground_m: F64, alt_m: F64) -> F64:
        """Time of flight to stationary points, s, broadcasting `m`, `ground_m`, `alt_m`."""
        pace = _bilinear(self.pace_s_per_m, self.ground_m, self.alt_m, m, ground_m, alt_m)
        out: F64 = pace * np.hypot(ground_m, alt_m - LAUNCH_HEIGHT_M)
        return out

    def speed(self, m: I64, ground_m: F64, alt_m: F64) -> F64:
        """Terminal speed at stationary points, m/s, bilinear (nan next to a node not hit)."""
        out: F64 = _bilinear(self.speed_mps, self.ground_m, self.alt_m, m, ground_m, alt_m)
        return out

    def reach(self, m: I64, alt_m: F64) -> F64:
        """Farthest ground range, m, at altitude `alt_m` (0 above the ceiling), broadcasting.

        Linear between the altitude nodes; from the highest node below the
        ceiling it falls linearly to 0 at the ceiling.
        """
        m, alt = np.broadcast_arrays(np.asarray(m), np.asarray(alt_m, dtype=float))
        nodes = self.envelope_alt_m[m]  # (..., H + 1)
        j = np.clip(_count_below(nodes, alt) - 1, 0, nodes.shape[-1] - 2)
        h0, h1 = self.envelope_alt_m[m, j], self.envelope_alt_m[m, j + 1]
        r0, r1 = self.envelope_reach_m[m, j], self.envelope_reach_m[m, j + 1]
        w = np.clip((alt - h0) / (h1 - h0), 0.0, 1.0)
        out: F64 = np.where(alt > self.ceiling_m[m], 0.0, r0 + w * (r1 - r0))
        return out


def _count_below(nodes: F64, x: F64) -> I64:
    """(...) number of `nodes` (..., H, ascending) at or below `x` (...)."""
    out: I64 = np.sum(nodes <= x[..., None], axis=-1)
    return out


def _bilinear(field: F64, ground_m: F64, alt_m: F64, m: I64, g: F64, h: F64) -> F64:
    """`field` (M, H, G) at (g, h) of type m, bilinear, clamped at the edges; broadcasting."""
    m, g, h = np.broadcast_arrays(np.asarray(m), np.asarray(g, float), np.asarray(h, float))
    gn, hn = ground_m[m], alt_m[m]  # (..., G), (..., H)
    n_g, n_h = gn.shape[-1], hn.shape[-1]
    i = np.clip(_count_below(gn, g) - 1, 0, n_g - 2)
    j = np.clip(_count_below(hn, h) - 1, 0, n_h - 2)
    # Direct (type, node) gathers: the same values as take_along_axis on gn/hn, cheaper.
    g0, g1 = ground_m[m, i], ground_m[m, i + 1]
    h0, h1 = alt_m[m, j], alt_m[m, j + 1]
    u = np.clip((g - g0) / (g1 - g0), 0.0, 1.0)
    w = np.clip((h - h0) / (h1 - h0), 0.0, 1.0)
    f00 = field[m, j, i]
    f01 = field[m, j, i + 1]
    f10 = field[m, j + 1, i]
    f11 = field[m, j + 1, i + 1]
    out: F64 = (1 - w) * ((1 - u) * f00 + u * f01) + w * ((1 - u) * f10 + u * f11)
    return out


def intercept_tof(
    table: FlyoutTable, mtype: I64, d_m: F64, v_mps: F64, alt0_m: F64 | float = 0.0
) -> F64:
    """Time of flight T to meet a constant-velocity target: T = tof(PIP(T)), broadcasting.

    PIP(T) = d + v T relative to the launcher (the target's position at launch
    is d). Secant iterations on f(T) = tof(PIP(T)) - T from T0 = tof(d) and
    T1 = tof(PIP(T0)) (the first fixed-point step); a solution must satisfy
    |f(T)| <= 0.1 % of T + 10 ms.

    Args:
        table: the flyout table.
        mtype: (...) missile type.
        d_m: (..., 3) target position at launch relative to the launcher.
        v_mps: (..., 3) target velocity.
        alt0_m: (...) the launcher's altitude (the table's altitudes are above it).

    Returns:
        (...) time of flight, s (inf where none is found).
    """

    def f(t: F64) -> F64:
        p = d_m + v_mps * t[..., None]
        g = np.hypot(p[..., 0], p[..., 1])
        out: F64 = table.tof(mtype, g, p[..., 2] - alt0_m) - t
        return out

    shape = np.broadcast_shapes(np.shape(mtype), d_m.shape[:-1], v_mps.shape[:-1])
    t0 = np.zeros(shape)
    f0 = f(t0)
    t1 = t0 + f0
    f1 = f(t1)
    for _ in range(SOLVER_ITERATIONS):
        df = f1 - f0
        with np.errstate(divide="ignore", invalid="ignore"):
            secant = t1 - f1 * (t1 - t0) / df
        # Fall back to a fixed-point step where the secant is undefined.
        t2 = np.where(np.isfinite(secant) & (np.abs(df) > 1e-12), secant, t1 + f1)
        t2 = np.clip(t2, 0.0, 4.0 * MAX_FLIGHT_S)
        t0, f0 = t1, f1
        t1, f1 = t2, f(t2)
    ok = np.abs(f1) <= 1e-3 * t1 + 0.01
    out: F64 = np.where(ok, t1, np.inf)
    return out


def table_intercept_grid(
    pos_m: F64,
    vel_mps: F64,
    batteries: BatteryParams,
    missiles: MissileParams,
    table: FlyoutTable,
    deadline_rel_s: F64,
    threat_type: I64 | None = None,
) -> InterceptGrid:
    """`intercept_grid` with each type's own flights: (N tracks, B batteries, M types).

    The time of flight comes from the flyout table (`intercept_tof`) and the
    envelope's range limit is the smaller of the tabled max range and the
    physics' reach at the PIP's altitude; a PIP nearer a hole of the table
    (a node missed inside the reach) than to a hit is out of the envelope.
    `threat_type`: (N,) each track's threat type (-1: unknown) for the
    per-class target-speed limit; None: every type's default.
    """
    n_m = missiles.speed_mps.shape[0]
    tau = batteries.reaction_s[None, :, None]  # (1, B, 1)
    x = pos_m[:, None, None, :]
    v = vel_mps[:, None, None, :]
    d = x + v * tau[..., None] - batteries.pos_m[None, :, None, :]  # (N, B, 1, 3)
    mt = np.arange(n_m)[None, None, :]
    tof = intercept_tof(table, mt, d, v, batteries.pos_m[None, :, None, 2])
    t_rel = tau + tof
    pip = x + v * np.where(np.isfinite(tof), t_rel, 0.0)[..., None]
    alt = pip[..., 2] - batteries.pos_m[None, :, None, 2]
    ground = np.hypot(*(pip[..., :2] - batteries.pos_m[None, :, None, :2]).transpose(3, 0, 1, 2))
    hole = _bilinear(table.hole, table.ground_m, table.alt_m, mt, ground, alt) >= 0.5
    reach = np.where(hole, 0.0, table.reach(mt, alt))
    return envelope_grid(
        pos_m, vel_mps, batteries, missiles, deadline_rel_s, tof, reach, threat_type=threat_type
    )


def table_flyout(
    table: FlyoutTable,
    t_now_s: float,
    track_pos_m: F64,
    track_vel_mps: F64,
    launch_pos_m: F64,
    launch_delay_s: F64,
    mtype: I64,
) -> tuple[F64, F64, F64]:
    """`kinematic_flyout` with each type's own flights: launch and intercept times, PIPs (K rows).

    Args:
        table: the flyout table.
        t_now_s: decision time, s.
        track_pos_m: (K, 3) engaged track's position at decision time.
        track_vel_mps: (K, 3) its velocity.
        launch_pos_m: (K, 3) launcher position.
        launch_delay_s: (K,) decision-to-launch delay.
        mtype: (K,) missile type.

    Returns:
        (t_launch_s, t_intercept_s, pip_m): (K,), (K,), (K, 3); t_intercept is
        inf where no intercept is found.
    """
    d = track_pos_m + track_vel_mps * launch_delay_s[:, None] - launch_pos_m
    tof = intercept_tof(table, mtype, d, track_vel_mps, launch_pos_m[:, 2])
    t_launch = t_now_s + launch_delay_s
    dt = np.where(np.isfinite(tof), launch_delay_s + tof, 0.0)
    pip = track_pos_m + track_vel_mps * dt[:, None]
    return t_launch, t_launch + tof, pip
