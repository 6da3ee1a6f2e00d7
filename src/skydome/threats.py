"""Threat truth kinematics, in closed form, vectorised over all threats.

Two motion families, both evaluated at any time t without integration:

* **routes** -- 3-D paths flown at constant speed (climb and descent legs
  included, so a cruise missile can fly at 30 m and pop up). Corners are sharp,
  or flown as coordinated level turns (`turn_g`): circular arcs of radius
  R = v^2 / (n g) tangent to both legs. A route may add a sinusoidal weave
  across the track, a pop-up and terminal dive (expanded into waypoints at
  compile time by `skydome.scenario.compile_raids`) and an evasive break when
  first engaged (its start time is engine state, passed to `Threats.state_at`).
* **ballistic arcs** -- a flat-earth vacuum parabola in (ground distance,
  altitude) from a launch point to the target asset, fixed by its apogee or
  time of flight; with a ballistic coefficient the descent below the re-entry
  altitude is a straight line slowed by drag in closed form (Allen & Eggers,
  NACA TR-1381, 1958).

All positions are in the map frame (see `skydome.geo`). Equations and
references are in docs/models.md (Threats).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.constants import G0_MPS2, SCALE_HEIGHT_M

__all__ = [
    "tile_threats",
    "DRAG_GRID",
    "GRAVITY_MPS2",
    "REENTRY_ALTITUDE_M",
    "Threats",
    "drag_tables",
    "fillet_corners",
    "route_length_m",
    "segment_lengths",
]

GRAVITY_MPS2 = G0_MPS2
"""Standard gravity, m/s^2 (`skydome.constants.G0_MPS2`)."""
REENTRY_ALTITUDE_M = 100_000.0
"""Altitude below which drag acts on a ballistic threat (or its apogee if lower), m."""
DRAG_GRID = 2048
"""Altitude nodes of each re-entry time table t(h)."""


def _empty() -> F64:
    return np.zeros(0)


def _empty_i() -> I64:
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class _RouteRows:
    """Static arrays of some route threats (K rows), gathered for `Threats.state_at`.

    `idx` (K,) are the threats; the rest are `Threats` fields at `idx`, plus
    `last` = n_wp - 1, `last_seg` = n_wp - 2, `total` = the time of the last vertex and `span_s` =
    end_s - launch_s; `sweep`, `center` are None when no route has arcs.
    """

    idx: I64
    launch_s: F64
    wp: F64
    wt: F64
    last: I64
    last_seg: I64
    total: F64
    sweep: F64 | None
    center: F64 | None
    weave_amp: F64
    weave_omega: F64
    weave_t0: F64
    weave_t1: F64
    evade_amp: F64
    evade_dur: F64
    span_s: F64


@dataclass(frozen=True)
class _BallisticRows:
    """Static arrays of some ballistic threats (K rows), gathered for `Threats.state_at`."""

    idx: I64
    tof_s: F64
    b0: F64
    b1: F64
    vz0: F64
    reentry_tau_s: F64


@dataclass(frozen=True)
class Threats:
    """Static description of every threat, struct of arrays (N threats).

    The manoeuvre fields have defaults (no manoeuvre) so a caller may build a
    plain `Threats` from the first sixteen fields alone.

    Attributes:
        type_names: threat type labels; `type_index` points into it.
        type_index: (N,) type of each threat.
        raid_index: (N,) raid (scenario order) of each threat.
        target: (N,) index of the asset attacked (-1: an anti-radiation missile,
            which attacks a radar: `skydome.sensors.antiradiation`).
        launch_s: (N,) launch (or first appearance) time, s.
        end_s: (N,) time the threat leaks (reaches its release point or impact), s.
        rcs_m2: (N,) radar cross-section, m^2.
        damage: (N,) fraction of the target's value destroyed by a leak.
        ballistic: (N,) True for ballistic arcs, False for routes.
        wp_m: (N, K, 3) path vertices (waypoints, and the tangent points of turn
            arcs), padded by repeating the last.
        wp_t_s: (N, K) time since launch at each vertex, padded with +inf.
        n_wp: (N,) number of real vertices (0 for ballistic threats).
        b0_m: (N, 3) ballistic launch point.
        b1_m: (N, 3) ballistic impact point.
        vz0_mps: (N,) ballistic initial vertical speed.
        tof_s: (N,) time of flight of the vacuum arc (the arc's parameter; the
            impact is at `end_s`, later with drag).
        arc_center_m: (N, K-1, 2) centre of the turn arc flown on each path
            segment (ground plane); empty: no arcs.
        arc_sweep_rad: (N, K-1) signed heading change on each segment (0: a
            straight segment; > 0: a left turn); empty: no arcs.
        weave_amp_m: (N,) weave amplitude A = a / omega^2, m (0: no weave).
        weave_omega_rps: (N,) weave angular frequency 2 pi / period, rad/s.
        weave_t0_s, weave_t1_s: (N,) weave window, time since launch, s (a whole
            number of periods that ends before `end_s`).
        evade_amp_m: (N,) evasive-break amplitude A = a T^2 / (4 pi^2), m (0: none).
        evade_dur_s: (N,) duration T of the break, s.
        evade_tgo_s: (N,) the break starts this long before the first missile's
            predicted intercept (inf: at that missile's launch), s.
        reentry_tau_s: (N,) time since launch at which drag re-entry starts
            (inf: vacuum arc to impact).
        reentry_dur_s: (N,) duration of the re-entry, s.
        reentry_p_m: (N, 3) re-entry point (its z is the re-entry altitude h_e).
        reentry_v_mps: (N,) speed at the re-entry point v_e, m/s.
        reentry_b: (N,) Allen-Eggers exponent B = rho0 H / (2 beta sin(gamma)).
        reentry_row: (N,) row of the threat's re-entry time table (-1: none).
        drag_t_s: (R, G) time since re-entry at altitude h_e (1 - j / (G - 1)),
            one row per distinct re-entry (raid), s.
        swerling: (N,) RCS fluctuation model, Swerling case 0, 1 or 3 (all 1 when
            omitted).
        jam_erp_w: (N,) ERP of the barrage jammer carried, W (0: none; zeros when
            omitted).
        jam_bandwidth_hz: (N,) barrage bandwidth, Hz (1 where there is no jammer).
    """

    type_names: tuple[str, ...]
    type_index: I64
    raid_index: I64
    target: I64
    launch_s: F64
    end_s: F64
    rcs_m2: F64
    damage: F64
    ballistic: NDArray[np.bool_]
    wp_m: F64
    wp_t_s: F64
    n_wp: I64
    b0_m: F64
    b1_m: F64
    vz0_mps: F64
    tof_s: F64
    arc_center_m: F64 = field(default_factory=_empty)
    arc_sweep_rad: F64 = field(default_factory=_empty)
    weave_amp_m: F64 = field(default_factory=_empty)
    weave_omega_rps: F64 = field(default_factory=_empty)
    weave_t0_s: F64 = field(default_factory=_empty)
    weave_t1_s: F64 = field(default_factory=_empty)
    evade_amp_m: F64 = field(default_factory=_empty)
    evade_dur_s: F64 = field(default_factory=_empty)
    evade_tgo_s: F64 = field(default_factory=_empty)
    reentry_tau_s: F64 = field(default_factory=_empty)
    reentry_dur_s: F64 = field(default_factory=_empty)
    reentry_p_m: F64 = field(default_factory=_empty)
    reentry_v_mps: F64 = field(default_factory=_empty)
    reentry_b: F64 = field(default_factory=_empty)
    reentry_row: I64 = field(default_factory=_empty_i)
    drag_t_s: F64 = field(default_factory=_empty)
    swerling: I64 = field(default_factory=_empty_i)
    jam_erp_w: F64 = field(default_factory=_empty)
    jam_bandwidth_hz: F64 = field(default_factory=_empty)

    def __post_init__(self) -> None:
        n = self.n
        defaults: dict[str, NDArray[np.generic]] = {
            "swerling": np.ones(n, dtype=np.int64),
            "jam_erp_w": np.zeros(n),
            "jam_bandwidth_hz": np.ones(n),
            "weave_amp_m": np.zeros(n),
            "weave_omega_rps": np.ones(n),
            "weave_t0_s": np.zeros(n),
            "weave_t1_s": np.zeros(n),
            "evade_amp_m": np.zeros(n),
            "evade_dur_s": np.ones(n),
            "evade_tgo_s": np.full(n, np.inf),
            "reentry_tau_s": np.full(n, np.inf),
            "reentry_dur_s": np.zeros(n),
            "reentry_p_m": np.zeros((n, 3)),
            "reentry_v_mps": np.zeros(n),
            "reentry_b": np.zeros(n),
            "reentry_row": np.full(n, -1, dtype=np.int64),
        }
        for name, value in defaults.items():
            if getattr(self, name).shape[:1] != (n,):
                object.__setattr__(self, name, value)
        if self.drag_t_s.ndim != 2:
            object.__setattr__(self, "drag_t_s", np.zeros((0, DRAG_GRID)))

    @cached_property
    def first_leak_s(self) -> float:
        """Earliest `end_s` of a threat with damage > 0, s (inf: none): no leak before it."""
        return float(self.end_s[self.damage > 0.0].min(initial=np.inf))

    @property
    def n(self) -> int:
        """Number of threats."""
        return int(self.launch_s.shape[0])

    def state_at(
        self,
        t_s: float | F64,
        idx: I64 | None = None,
        *,
        evade_start_s: F64 | None = None,
    ) -> tuple[F64, F64]:
        """Truth position and velocity at time `t_s`.

        Before launch a threat is at its start point with zero velocity; after
        `end_s` it holds its end point (the engine removes it from the sky).

        Args:
            t_s: scalar time, or (n,) times, one per selected threat.
            idx: (n,) indices of the threats wanted; all threats if None.
            evade_start_s: (N,) time each threat starts its evasive break, for
                all N threats (inf: never; engine state). None: no threat evades.

        Returns:
            (pos_m, vel_mps), each (n, 3), map frame.
        """
        route: _RouteRows | None
        bal_rows: _BallisticRows | None
        if idx is None:
            # Every threat (each radar scan): the route and ballistic rows'
            # static arrays are gathered once per `Threats` (`_all_rows`).
            route, bal_rows = self._all_rows
            n = self.n
            tau = np.asarray(t_s, dtype=np.float64) - self.launch_s
            if tau.shape != (n,):  # (n,) already but for odd inputs; broadcast_to costs
                tau = np.broadcast_to(tau, (n,))
            pos = np.empty((n, 3))
            vel = np.empty((n, 3))
            r, b = route.idx, bal_rows.idx
        else:
            n = idx.shape[0]
            tau = np.asarray(t_s, dtype=np.float64) - self.launch_s[idx]
            if tau.shape != (n,):  # (n,) already but for odd inputs; broadcast_to costs
                tau = np.broadcast_to(tau, (n,))
            pos = np.empty((n, 3))
            vel = np.empty((n, 3))
            bal = self.ballistic[idx]
            r = np.flatnonzero(~bal)
            b = np.flatnonzero(bal)
            route = self._route_rows(idx[r]) if r.size else None
            bal_rows = self._ballistic_rows(idx[b]) if b.size else None
        if r.size and route is not None:
            ev = None if evade_start_s is None else evade_start_s[route.idx] - route.launch_s
            pos[r], vel[r] = self._route_state(route, tau[r], ev)
        if b.size and bal_rows is not None:
            pos[b], vel[b] = self._ballistic_state(bal_rows, tau[b])
        return pos, vel

    # --- rows of one motion family, gathered ---------------------------------------------

    @cached_property
    def _all_rows(self) -> tuple[_RouteRows, _BallisticRows]:
        """Every route threat's and every ballistic threat's rows (the arrays are static)."""
        return (
            self._route_rows(np.flatnonzero(~self.ballistic)),
            self._ballistic_rows(np.flatnonzero(self.ballistic)),
        )

    def _route_rows(self, idx: I64) -> _RouteRows:
        wt = self.wp_t_s[idx]
        last = self.n_wp[idx] - 1
        arcs = self.arc_sweep_rad.size > 0
        return _RouteRows(
            idx=idx,
            launch_s=self.launch_s[idx],
            wp=self.wp_m[idx],
            wt=wt,
            last=last,
            last_seg=last - 1,
            total=wt[np.arange(idx.shape[0]), last],
            sweep=self.arc_sweep_rad[idx] if arcs else None,
            center=self.arc_center_m[idx] if arcs else None,
            weave_amp=self.weave_amp_m[idx],
            weave_omega=self.weave_omega_rps[idx],
            weave_t0=self.weave_t0_s[idx],
            weave_t1=self.weave_t1_s[idx],
            evade_amp=self.evade_amp_m[idx],
            evade_dur=self.evade_dur_s[idx],
            span_s=self.end_s[idx] - self.launch_s[idx],
        )

    def _ballistic_rows(self, idx: I64) -> _BallisticRows:
        return _BallisticRows(
            idx=idx,
            tof_s=self.tof_s[idx],
            b0=self.b0_m[idx],
            b1=self.b1_m[idx],
            vz0=self.vz0_mps[idx],
            reentry_tau_s=self.reentry_tau_s[idx],
        )

    # --- routes ---------------------------------------------------------------------------

    def _route_state(self, g: _RouteRows, tau: F64, evade_tau_s: F64 | None) -> tuple[F64, F64]:
        wp, wt = g.wp, g.wt
        rows = np.arange(g.idx.shape[0])
        total = g.total
        moving = (tau > 0.0) & (tau < total)
        tau = np.clip(tau, 0.0, total)
        seg = np.minimum(np.sum(wt[:, 1:] <= tau[:, None], axis=1), g.last_seg)
        a, b = wp[rows, seg], wp[rows, seg + 1]
        ta, tb = wt[rows, seg], wt[rows, seg + 1]
        dur = np.maximum(tb - ta, 1e-12)
        f = (tau - ta) / dur
        pos = a + (b - a) * f[:, None]
        vel = (b - a) / dur[:, None]
        turn_rate = np.zeros(g.idx.shape[0])
        if g.sweep is not None and g.center is not None:
            sweep = g.sweep[rows, seg]
            k = np.flatnonzero(sweep != 0.0)
            if k.size:
                c = g.center[k, seg[k]]
                rel = a[k, :2] - c
                radius = np.hypot(rel[:, 0], rel[:, 1])
                th = np.arctan2(rel[:, 1], rel[:, 0]) + sweep[k] * f[k]
                cos, sin = np.cos(th), np.sin(th)
                pos[k, 0] = c[:, 0] + radius * cos
                pos[k, 1] = c[:, 1] + radius * sin
                w = sweep[k] / dur[k]
                vel[k, 0] = -radius * w * sin
                vel[k, 1] = radius * w * cos
                turn_rate[k] = w
        vel *= moving[:, None]
        turn_rate *= moving
        # Lateral offsets y(tau) along the left normal of the ground track.
        y, dy = self._weave(g, tau)
        if evade_tau_s is not None:
            ye, dye = self._evasion(g, tau, evade_tau_s)
            y, dy = y + ye, dy + dye
        off = np.flatnonzero(y != 0.0)
        if off.size:
            vh = vel[off, :2]
            speed_h = np.hypot(vh[:, 0], vh[:, 1])
            u = vh / np.where(speed_h > 0.0, speed_h, 1.0)[:, None]
            u *= (speed_h > 0.0)[:, None]
            normal = np.column_stack([-u[:, 1], u[:, 0]])
            pos[off, :2] += y[off, None] * normal
            # d/dt (y n) = y' n + y dn/dt, and dn/dt = -omega_turn u.
            vel[off, :2] += dy[off, None] * normal - (y[off] * turn_rate[off])[:, None] * u
        return pos, vel

    def _weave(self, g: _RouteRows, tau: F64) -> tuple[F64, F64]:
        """Weave offset A (1 - cos(omega s)) and its rate, s = tau - t0 in the window."""
        amp = g.weave_amp
        if not amp.any():
            return np.zeros(g.idx.shape[0]), np.zeros(g.idx.shape[0])
        w = g.weave_omega
        s = tau - g.weave_t0
        on = (amp > 0.0) & (s > 0.0) & (tau < g.weave_t1)
        phase = w * s
        y = np.where(on, amp * (1.0 - np.cos(phase)), 0.0)
        dy = np.where(on, amp * w * np.sin(phase), 0.0)
        return y, dy

    def _evasion(self, g: _RouteRows, tau: F64, start: F64) -> tuple[F64, F64]:
        """Break offset A (1 - cos(2 pi s / T)), s = tau - start, while 0 < s < T."""
        amp = g.evade_amp
        if not amp.any():
            return np.zeros(g.idx.shape[0]), np.zeros(g.idx.shape[0])
        dur = g.evade_dur
        s = tau - start
        # A break that would not end before the leak is not started: leak times
        # and leak points are those of the route.
        fits = start + dur <= g.span_s
        on = (amp > 0.0) & fits & (s > 0.0) & (s < dur)
        if not on.any():  # no break under way (most of the time): zero offsets
            return np.zeros(g.idx.shape[0]), np.zeros(g.idx.shape[0])
        w = 2.0 * np.pi / dur
        with np.errstate(invalid="ignore"):
            phase = w * s
            y = np.where(on, amp * (1.0 - np.cos(phase)), 0.0)
            dy = np.where(on, amp * w * np.sin(phase), 0.0)
        return y, dy

    # --- ballistic arcs ----------------------------------------------------------------

    def _ballistic_state(self, g: _BallisticRows, tau: F64) -> tuple[F64, F64]:
        idx = g.idx
        T = g.tof_s
        moving = (tau > 0.0) & (tau < T)
        tau_c = np.clip(tau, 0.0, T)
        p0, p1, vz0 = g.b0, g.b1, g.vz0
        vh = (p1[:, :2] - p0[:, :2]) / T[:, None]
        pos = np.empty((idx.shape[0], 3))
        pos[:, :2] = p0[:, :2] + vh * tau_c[:, None]
        pos[:, 2] = p0[:, 2] + vz0 * tau_c - 0.5 * GRAVITY_MPS2 * tau_c * tau_c
        vel = np.empty_like(pos)
        vel[:, :2] = vh
        vel[:, 2] = vz0 - GRAVITY_MPS2 * tau_c
        vel *= moving[:, None]
        k = np.flatnonzero(tau >= g.reentry_tau_s)
        if k.size:
            pos[k], vel[k] = self._reentry_state(idx[k], tau[k] - self.reentry_tau_s[idx[k]])
        return pos, vel

    def _reentry_state(self, idx: I64, s: F64) -> tuple[F64, F64]:
        """Straight drag re-entry: invert the t(h) table, then v(h) in closed form."""
        dur = self.reentry_dur_s[idx]
        moving = s < dur
        s = np.minimum(s, dur)
        row = self.reentry_row[idx]
        tab = self.drag_t_s
        g = tab.shape[1]
        # Batched search: offset each row's (increasing) times by row * span.
        span = float(tab[:, -1].max()) + 1.0
        flat = (tab + span * np.arange(tab.shape[0])[:, None]).ravel()
        key = s + span * row
        j = np.searchsorted(flat, key, side="right") - 1
        j = np.clip(j, row * g, row * g + g - 2)
        t0, t1 = flat[j], flat[j + 1]
        frac = np.clip((key - t0) / np.maximum(t1 - t0, 1e-300), 0.0, 1.0)
        node = (j - row * g) + frac
        pe = self.reentry_p_m[idx]
        he = pe[:, 2]
        h = he * (1.0 - node / (g - 1))
        p1 = self.b1_m[idx]
        chord = p1 - pe
        length = np.linalg.norm(chord, axis=1)
        pos = p1 - chord * (h / he)[:, None]
        v = _allen_eggers_speed(self.reentry_v_mps[idx], self.reentry_b[idx], h, he)
        vel = chord / length[:, None] * (v * moving)[:, None]
        return pos, vel


def _allen_eggers_speed(v_e: F64, b: F64, h_m: F64, h_e_m: F64) -> F64:
    """Allen-Eggers speed v(h) = v_e exp(-B (e^(-h/H) - e^(-h_e/H))), m/s.

    B = rho0 H / (2 beta sin(gamma)); the e^(-h_e/H) term makes v(h_e) = v_e
    exactly (negligible from 100 km). Allen & Eggers, NACA TR-1381 (1958).
    """
    out: F64 = v_e * np.exp(-b * (np.exp(-h_m / SCALE_HEIGHT_M) - np.exp(-h_e_m / SCALE_HEIGHT_M)))
    return out


def route_length_m(points_m: F64) -> float:
    """Length of a 3-D polyline (K, 3), metres."""
    return float(np.linalg.norm(np.diff(points_m, axis=0), axis=1).sum())


def fillet_corners(points_m: F64, radius_m: float) -> tuple[F64, F64, F64]:
    """Round every route corner with a circular arc tangent to both legs.

    The arc lies in the ground plane, with tangent distance d = R tan(|dpsi| / 2)
    from the corner (dpsi: heading change); d is capped at half of each adjacent
    leg's ground length, so a corner too tight for its legs is flown at a smaller
    radius (higher g). The altitude at each tangent point is that of its leg, and
    varies linearly over the arc.

    Args:
        points_m: (n, K, 3) waypoints of n routes, map frame, m.
        radius_m: turn radius R, m.

    Returns:
        (vertices, center, sweep): (n, 2K-2, 3) path vertices -- start, the two
        tangent points of each corner, end; (n, 2K-3, 2) arc centre of each
        segment; (n, 2K-3) signed heading change of each segment (0: straight).
    """
    a, b, c = points_m[:, :-2], points_m[:, 1:-1], points_m[:, 2:]
    din, dout = b[..., :2] - a[..., :2], c[..., :2] - b[..., :2]
    lin, lout = np.hypot(din[..., 0], din[..., 1]), np.hypot(dout[..., 0], dout[..., 1])
    uin = din / np.where(lin > 0.0, lin, 1.0)[..., None]
    uout = dout / np.where(lout > 0.0, lout, 1.0)[..., None]
    cross = uin[..., 0] * uout[..., 1] - uin[..., 1] * uout[..., 0]
    dot = np.sum(uin * uout, axis=-1)
    psi = np.where((lin > 0.0) & (lout > 0.0), np.arctan2(cross, dot), 0.0)
    half_tan = np.tan(np.abs(psi) / 2.0)
    d = np.minimum(radius_m * half_tan, 0.5 * np.minimum(lin, lout))
    has_arc = half_tan > 1e-12
    r_eff = np.where(has_arc, d / np.where(has_arc, half_tan, 1.0), 0.0)
    psi = np.where(has_arc & (r_eff > 0.0), psi, 0.0)
    t_in = np.empty_like(b)
    t_out = np.empty_like(b)
    t_in[..., :2] = b[..., :2] - uin * d[..., None]
    t_out[..., :2] = b[..., :2] + uout * d[..., None]
    t_in[..., 2] = b[..., 2] + (a[..., 2] - b[..., 2]) * d / np.where(lin > 0.0, lin, 1.0)
    t_out[..., 2] = b[..., 2] + (c[..., 2] - b[..., 2]) * d / np.where(lout > 0.0, lout, 1.0)
    left = np.stack([-uin[..., 1], uin[..., 0]], axis=-1)
    centre = t_in[..., :2] + (np.sign(psi) * r_eff)[..., None] * left
    n, k = points_m.shape[:2]
    verts = np.empty((n, 2 * k - 2, 3))
    verts[:, 0] = points_m[:, 0]
    verts[:, -1] = points_m[:, -1]
    verts[:, 1:-1:2] = t_in
    verts[:, 2:-1:2] = t_out
    centers = np.zeros((n, 2 * k - 3, 2))
    sweeps = np.zeros((n, 2 * k - 3))
    centers[:, 1::2] = centre
    sweeps[:, 1::2] = psi
    return verts, centers, sweeps


def segment_lengths(verts: F64, centers: F64, sweeps: F64) -> F64:
    """(n, S) 3-D length of each path segment: chord, or helix over an arc."""
    step = np.diff(verts, axis=1)
    length = np.linalg.norm(step, axis=2)
    radius = np.hypot(*(verts[:, :-1, :2] - centers).transpose(2, 0, 1))
    arc = np.hypot(radius * np.abs(sweeps), step[..., 2])
    out: F64 = np.where(sweeps != 0.0, arc, length)
    return out


def drag_tables(h_e: F64, v_e: F64, b: F64, sin_g: F64) -> F64:
    """(R, G) time since re-entry at each altitude node, by the trapezoid rule.

    t(h) = integral from h to h_e of dh' / (v(h') sin(gamma)) with the Allen-Eggers
    v(h); nodes h_j = h_e (1 - j / (G - 1)), all rows at once.
    """
    u = np.linspace(0.0, 1.0, DRAG_GRID)
    h = h_e[:, None] * (1.0 - u[None, :])
    inv = 1.0 / (_allen_eggers_speed(v_e[:, None], b[:, None], h, h_e[:, None]) * sin_g[:, None])
    dh = h_e[:, None] / (DRAG_GRID - 1)
    steps = 0.5 * (inv[:, 1:] + inv[:, :-1]) * dh
    out: F64 = np.concatenate([np.zeros((h_e.size, 1)), np.cumsum(steps, axis=1)], axis=1)
    return out


_NOT_PER_THREAT = frozenset({"type_names", "drag_t_s"})
"""`Threats` fields that are not one row per threat (kept as they are when tiling)."""

_TILED: dict[tuple[int, int], tuple[Threats, Threats]] = {}
"""(id(threats), R) -> (threats, tiled): the tiled copy is built once per scenario and R.
The original is held so its id stays unique while the entry lives."""

_TILED_MAX = 8


def tile_threats(th: Threats, n_reps: int) -> Threats:
    """The threats of `n_reps` replications: every per-threat array repeated R times.

    Row k*N + i of each (N, ...) field is row i of `th`; the re-entry time tables
    (`drag_t_s`, indexed by `reentry_row`) and the type names are shared. Cached per
    (`th`, R).

    Args:
        th: the scenario's N threats.
        n_reps: R, the number of replications.

    Returns:
        A `Threats` of R*N threats.
    """
    key = (id(th), n_reps)
    hit = _TILED.get(key)
    if hit is not None and hit[0] is th:
        return hit[1]
    n = th.n
    values: dict[str, object] = {}
    for f in fields(th):
        v = getattr(th, f.name)
        if f.name not in _NOT_PER_THREAT and isinstance(v, np.ndarray) and v.shape[:1] == (n,):
            v = np.tile(v, (n_reps,) + (1,) * (v.ndim - 1))
        values[f.name] = v
    tiled = Threats(**values)  # type: ignore[arg-type]
    if len(_TILED) >= _TILED_MAX:
        _TILED.pop(next(iter(_TILED)))
    _TILED[key] = (th, tiled)
    return tiled
