"""Flyout tables: each missile type's own 3-DOF flights, tabled for the planner.

The kinematic planner assumes a type flies at its `average_speed_mps`; a guided
missile does not (it boosts, coasts, lofts and slows). For guided runs the
planner instead reads the type's physics through a table built once per
scenario: a fan of the type's own flights (`skydome.engagement.guided`'s
launch, lofted midcourse and seeker homing, the same kernel the flyout
integrates) against stationary points on a grid of ground range x altitude
from the launcher, all flown together. Per grid point it records

- the time of flight to closest approach (where the point is hit),
- the missile's speed there (terminal speed),

and per altitude the farthest ground range hit (the reach, refined by a
second fan between the last hit and the next node), with the ceiling (the
highest altitude hit, refined the same way). A point counts as hit as in
`physics_envelope`: closest approach within the lethal radius, with at least
`CEILING_G` of lateral acceleration left.

Between nodes the table interpolates the pace (time of flight per metre of
slant range, s/m) bilinearly and multiplies by the slant range, which keeps
the time of flight exact at the nodes and smooth near the launcher. Beyond the
reach the pace is extended at its last reached value (the solver needs a
time everywhere; those points are outside the envelope anyway).

Tables are cached in-process on the physics values, so every replication of
a scenario reuses one table. This module builds them; the table's lookups and
the intercept solve the planner runs on it (`intercept_tof`,
`table_intercept_grid`, `table_flyout`) are in
`skydome.engagement.flyout_intercept`, re-exported here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64, concat_rows, take_rows
from skydome.engagement.flyout_intercept import (
    MAX_FLIGHT_S,
    FlyoutTable,
    intercept_tof,
    table_flyout,
    table_intercept_grid,
)
from skydome.engagement.guidance import (
    G0,
    MissilePhysics,
    MissileState,
    air_density,
    lateral_limit,
    step,
)
from skydome.engagement.guided import (
    CEILING_G,
    COARSE_STEP_S,
    FINE_MARGIN_S,
    LAUNCH_HEIGHT_M,
    _launch_velocity,
    _lofted,
    _physics,
    turn_over,
)
from skydome.engagement.params import TypePhysics

__all__ = [
    "FlyoutTable",
    "flyout_table",
    "intercept_tof",
    "table_flyout",
    "table_intercept_grid",
]

B = NDArray[np.bool_]

GROUND_NODES = np.linspace(0.0, 1.0, 17)[1:] ** 1.25
"""Ground-range nodes as fractions of a type's table span (denser near the launcher)."""

ALT_NODES = np.linspace(0.0, 1.0, 10) ** 1.5
"""Altitude nodes as fractions of the span above `ALT_FLOOR_M` (denser low down)."""

ALT_FLOOR_M = 30.0
"""Lowest tabled altitude, m (a target on the ground is not a flight's end)."""

SPAN = 1.3
"""The table spans this times the type's tabled max range and max altitude."""

REFINE = 6
"""Points of the second fan between the last hit and the next node."""

TABLE_STEP_S = 0.05
"""Fine integration step of the table's flights (the engine's default guidance step), s."""

LAUNCH_LEG_S = 1.0
"""A flight's first second is flown at the fine step (the engine's launch tick)."""

END_GAME_S = FINE_MARGIN_S + 1.0
"""Within this time to go a flight takes fine steps (the engine's margin plus its tick), s."""


def fly_points(
    tp: TypePhysics,
    mtype: I64,
    pts_m: F64,
    max_tof_s: F64,
    dt_s: float = TABLE_STEP_S,
    coarse_s: float = COARSE_STEP_S,
) -> tuple[B, F64, F64, F64]:
    """Fly one missile of type `mtype[k]` at each stationary point `pts_m[k]`, all at once.

    The flight is the engine's guided flight from a launcher at the origin:
    launch towards the (lofted) first aim point, lofted midcourse, the seeker
    takes the true point inside its acquisition range, and the flight ends at
    closest approach (time refined inside the last step by the kernel) or
    when spent (ground, time limit, too slow after burn-out). Step sizes as in
    the engine (`guided.advance`): `dt_s` for the first `LAUNCH_LEG_S`, then
    `coarse_s` until the time to go falls below `END_GAME_S`, then `dt_s`.
    Each flight keeps its own clock, so the three legs are each flown by all
    flights together.

    Args:
        tp: the library's physics.
        mtype: (K,) type of each flight.
        pts_m: (K, 3) stationary aim points relative to the launcher's ground position.
        max_tof_s: (M,) longest flight of each type, s.
        dt_s: fine integration step, s.
        coarse_s: midcourse integration step, s.

    Returns:
        (hit, tof_s, speed_mps, peak_mps), each (K,): closest approach within
        the lethal radius with at least `CEILING_G` lateral acceleration left;
        time of that closest approach after launch and the speed there (nan
        unless hit); the highest speed of the flight.
    """
    k = pts_m.shape[0]
    start = np.zeros((k, 3))
    start[:, 2] = LAUNCH_HEIGHT_M
    s = MissileState.launch(start, _launch_velocity(pts_m, start, tp, mtype), tp.mass_kg[mtype])
    out = _Outcome(
        hit=np.zeros(k, dtype=bool),
        tof_s=np.full(k, np.nan),
        speed_mps=np.full(k, np.nan),
        mass_kg=np.full(k, np.nan),
        peak_mps=np.zeros(k),
    )
    t_stop = np.minimum(max_tof_s[mtype], MAX_FLIGHT_S)
    leg = _Leg(tp, mtype, pts_m, t_stop, out)

    def launched(st: MissileState, rows: I64) -> B:
        done: B = st.t_s >= LAUNCH_LEG_S - 1e-9
        return done

    def end_game(st: MissileState, rows: I64) -> B:
        rng = np.linalg.norm(pts_m[rows] - st.pos_m, axis=1)
        speed = np.maximum(np.linalg.norm(st.vel_mps, axis=1), 300.0)
        near: B = rng / speed < END_GAME_S
        return near

    phys = _physics(tp, mtype)
    rows = np.arange(k)
    s, phys, rows = leg.fly(s, phys, rows, dt_s, launched)
    s, phys, rows = leg.fly(s, phys, rows, coarse_s, end_game)
    leg.fly(s, phys, rows, dt_s, None)
    ok = out.hit.copy()
    h = np.flatnonzero(ok)
    if h.size:
        # A point counts only where the missile can still manoeuvre when it gets there.
        lat = lateral_limit(
            _physics(tp, mtype[h]), air_density(pts_m[h, 2]), out.speed_mps[h], out.mass_kg[h]
        )
        ok[h] = lat >= CEILING_G * G0
    return ok, np.where(ok, out.tof_s, np.nan), np.where(ok, out.speed_mps, np.nan), out.peak_mps


@dataclass(frozen=True)
class _Outcome:
    """How each flight of a fan ended (K rows; filled in as flights end)."""

    hit: B
    tof_s: F64
    speed_mps: F64
    mass_kg: F64
    peak_mps: F64


@dataclass(frozen=True)
class _Leg:
    """Flies a fan's flights with one step size until each ends or hands over."""

    tp: TypePhysics
    mtype: I64
    pts_m: F64
    t_stop_s: F64
    out: _Outcome

    def fly(
        self,
        s: MissileState,
        phys: MissilePhysics,
        rows: I64,
        h: float,
        handover: Callable[[MissileState, I64], B] | None,
    ) -> tuple[MissileState, MissilePhysics, I64]:
        """Step the flights `rows` (states `s`, physics `phys`) by `h` until each ends.

        A flight ends at closest approach or spent (recorded in `out`), or
        leaves the leg when `handover` says it is due for the next one.

        Returns:
            The handed-over flights' states, physics and rows.
        """
        tp, out = self.tp, self.out
        handed: list[tuple[MissileState, MissilePhysics, I64]] = []
        while rows.size:  # loop over time steps; every flight of the leg at once
            if handover is not None:
                go = handover(s, rows)
                if go.any():
                    handed.append((take_rows(s, go), take_rows(phys, go), rows[go]))
                    s, phys, rows = take_rows(s, ~go), take_rows(phys, ~go), rows[~go]
                    if rows.size == 0:
                        break
            m = self.mtype[rows]
            pts = self.pts_m[rows]
            near = np.linalg.norm(pts - s.pos_m, axis=1) <= tp.seeker_m[m]
            aim, direct = _lofted(
                pts, s.pos_m, np.where(near, 0.0, tp.loft_rad[m]), tp.loft_ceiling_m[m]
            )
            zero = np.zeros((rows.size, 3))
            new, _ = step(s, phys, aim, zero, zero, h)
            new = turn_over(new, pts, tp, m, h)  # a vertical launch turns over (as `advance`)
            v = np.linalg.norm(new.vel_mps, axis=1)
            out.peak_mps[rows] = np.maximum(out.peak_mps[rows], v)
            # Only a closest approach to the point itself (seeker phase) ends a flight.
            cpa = new.done & direct & near
            burnt = new.t_s > tp.boost_s[m] + tp.sustain_s[m]
            spent = ~cpa & (
                (new.pos_m[:, 2] < 0.0) | (new.t_s > self.t_stop_s[rows])
                | (burnt & (v < tp.min_speed_mps[m])) | (new.done & direct & ~near)
            )  # fmt: skip
            good = cpa & (new.miss_m <= tp.lethal_m[m])
            r = rows[good]
            out.hit[r] = True
            # The kernel's closest-approach time (refined inside the step; the clock of t_s).
            out.tof_s[r] = np.where(
                np.isfinite(new.t_end_s[good]), new.t_end_s[good], new.t_s[good]
            )
            out.speed_mps[r] = v[good]
            out.mass_kg[r] = new.mass_kg[good]
            keep = ~(cpa | spent)
            # Passing a loft point ends nothing: those flights go on.
            s = replace(new, done=np.zeros(rows.size, dtype=bool))
            if not keep.all():  # compact only when a flight ended (most steps none does)
                s, phys, rows = take_rows(s, keep), take_rows(phys, keep), rows[keep]
        if not handed:
            empty = np.zeros(0, dtype=np.int64)
            return take_rows(s, empty), take_rows(phys, empty), empty
        hs, hp, hr = handed[0]
        for s2, p2, r2 in handed[1:]:
            hs, hp, hr = concat_rows(hs, s2), concat_rows(hp, p2), np.concatenate([hr, r2])
        return hs, hp, hr


def _physics_key(tp: TypePhysics, *arrays: F64) -> tuple[tuple[float | bool | int, ...], ...]:
    """A hashable key of every physics value (and the extra arrays): the cache key."""
    key: list[tuple[float | bool | int, ...]] = []
    for f in fields(tp):
        v = getattr(tp, f.name)
        if v is None:
            key.append(())
        else:
            key.append(tuple(np.asarray(v).ravel().tolist()))
    key.extend(tuple(np.asarray(a, dtype=float).ravel().tolist()) for a in arrays)
    return tuple(key)


def flyout_table(tp: TypePhysics, max_range_m: F64, max_alt_m: F64, max_tof_s: F64) -> FlyoutTable:
    """The flyout table of a library's physics, built once per process (cached on the values).

    Args:
        tp: the library's physics (M types).
        max_range_m: (M,) tabled max range: the table spans `SPAN` times it.
        max_alt_m: (M,) tabled max altitude: the table spans `SPAN` times it.
        max_tof_s: (M,) longest flight of each type, s (inf: none).

    Returns:
        The table (do not modify its arrays: it is shared).
    """
    key = _physics_key(tp, max_range_m, max_alt_m, max_tof_s)
    table = _TABLES.get(key)
    if table is None:
        if len(_TABLES) >= _CACHE_SIZE:
            _TABLES.pop(next(iter(_TABLES)))  # the oldest
        table = _TABLES[key] = build_table(tp, max_range_m, max_alt_m, max_tof_s)
    return table


_CACHE_SIZE = 16
_TABLES: dict[tuple[tuple[float | bool | int, ...], ...], FlyoutTable] = {}
"""Tables built in this process, keyed by the physics values (`_physics_key`)."""


def build_table(
    tp: TypePhysics, max_range_m: F64, max_alt_m: F64, max_tof_s: F64, dt_s: float = TABLE_STEP_S
) -> FlyoutTable:
    """Build the flyout table (uncached; see `flyout_table`): three fans, all types at once.

    1. the grid: every type at every (altitude node, ground node);
    2. the reach: at each altitude node, `REFINE` points between the farthest
       hit and the next ground node (or the first node, if none was hit);
    3. the ceiling: at the ground node nearest 10 km, `REFINE` points between
       the highest hit and the next altitude node.
    """
    t0 = time.perf_counter()
    n_m = tp.mass_kg.shape[0]
    g_span = SPAN * max_range_m  # (M,)
    ground = g_span[:, None] * GROUND_NODES[None, :]  # (M, G)
    alt = ALT_FLOOR_M + (SPAN * max_alt_m - ALT_FLOOR_M)[:, None] * ALT_NODES[None, :]  # (M, H)
    n_h, n_g = alt.shape[1], ground.shape[1]
    mm, hh, gg = np.meshgrid(np.arange(n_m), np.arange(n_h), np.arange(n_g), indexing="ij")
    pts1 = np.column_stack([ground[mm, gg].ravel(), np.zeros(mm.size), alt[mm, hh].ravel()])
    m1 = mm.ravel()

    # The refinement fans depend on the grid's result; to fly all three fans
    # at once the reach and ceiling fans are placed after a first pass.
    hit1, tof1, v1, peak1 = fly_points(tp, m1, pts1, max_tof_s, dt_s)
    hit = hit1.reshape(n_m, n_h, n_g)
    tof = tof1.reshape(n_m, n_h, n_g)
    speed = v1.reshape(n_m, n_h, n_g)

    # 2-3. refinement fans, flown together.
    idx = np.arange(n_g)
    last = np.where(hit.any(axis=2), np.max(np.where(hit, idx, -1), axis=2), -1)  # (M, H)
    lo = np.where(last >= 0, np.take_along_axis(ground, np.maximum(last, 0), 1), 0.0)
    hi = np.take_along_axis(ground, np.minimum(last + 1, n_g - 1), 1)
    hi = np.where(last >= n_g - 1, lo, hi)
    frac = np.arange(1, REFINE + 1) / (REFINE + 1)
    r_pts = lo[..., None] + (hi - lo)[..., None] * frac  # (M, H, R)
    r_m = np.broadcast_to(np.arange(n_m)[:, None, None], r_pts.shape).ravel()
    r_alt = np.broadcast_to(alt[:, :, None], r_pts.shape).ravel()
    ceil_g = np.argmin(np.abs(ground - 10e3), axis=1)  # (M,)
    hit_c = hit[np.arange(n_m), :, ceil_g]  # (M, H)
    top = np.where(hit_c.any(axis=1), np.max(np.where(hit_c, np.arange(n_h), -1), axis=1), -1)
    c_lo = np.where(top >= 0, alt[np.arange(n_m), np.maximum(top, 0)], 0.0)
    c_hi = alt[np.arange(n_m), np.minimum(top + 1, n_h - 1)]
    c_pts = c_lo[:, None] + (c_hi - c_lo)[:, None] * frac  # (M, R)
    c_m = np.repeat(np.arange(n_m), REFINE)
    c_ground = np.repeat(ground[np.arange(n_m), ceil_g], REFINE)
    pts2 = np.concatenate(
        [
            np.column_stack([r_pts.ravel(), np.zeros(r_m.size), r_alt]),
            np.column_stack([c_ground, np.zeros(c_m.size), c_pts.ravel()]),
        ]
    )
    hit2, _, _, _ = fly_points(tp, np.concatenate([r_m, c_m]), pts2, max_tof_s, dt_s)
    hit_r = hit2[: r_m.size].reshape(r_pts.shape)
    hit_cc = hit2[r_m.size :].reshape(c_pts.shape)
    reach = np.where(last >= 0, lo, 0.0)
    reach = np.maximum(reach, np.max(np.where(hit_r, r_pts, 0.0), axis=2))
    # Ceiling: the highest altitude hit anywhere on the grid, refined above 10 km out.
    any_h = hit.any(axis=2)
    grid_top = np.max(np.where(any_h, alt, 0.0), axis=1)
    ceiling = np.maximum(grid_top, np.max(np.where(hit_cc, c_pts, 0.0), axis=1))

    # The reach curve: the nodes below the ceiling, then (just above) the ceiling at 0.
    below = alt < ceiling[:, None]
    env_alt = np.concatenate([alt, ceiling[:, None] + 1.0], axis=1)
    env_reach = np.concatenate([np.where(below, reach, 0.0), np.zeros((n_m, 1))], axis=1)
    order = np.argsort(env_alt, axis=1, kind="stable")
    env_alt = np.take_along_axis(env_alt, order, 1)
    env_reach = np.take_along_axis(env_reach, order, 1)

    slant = np.hypot(ground[:, None, :], alt[:, :, None] - LAUNCH_HEIGHT_M)
    pace = _fill_pace(tof / slant)
    return FlyoutTable(
        ground_m=ground,
        alt_m=alt,
        tof_s=tof,
        speed_mps=speed,
        pace_s_per_m=pace,
        reach_m=reach,
        ceiling_m=ceiling,
        hole=(~hit & (idx[None, None, :] < last[..., None])).astype(float),
        peak_speed_mps=np.max(peak1.reshape(n_m, -1), axis=1),
        envelope_alt_m=env_alt,
        envelope_reach_m=env_reach,
        build_s=time.perf_counter() - t0,
    )


def _fill_pace(pace: F64) -> F64:
    """Fill the unreached nodes (nan) of (M, H, G) paces, s/m.

    Along ground range with the last reached value, then altitudes with no hit
    from the nearest one with hits.
    """
    out = pace.copy()
    n_m, n_h, n_g = out.shape
    for g in range(1, n_g):  # nodes: a handful; fills forward in range
        out[:, :, g] = np.where(np.isnan(out[:, :, g]), out[:, :, g - 1], out[:, :, g])
    for g in range(n_g - 2, -1, -1):  # holes before the first hit: the next one
        out[:, :, g] = np.where(np.isnan(out[:, :, g]), out[:, :, g + 1], out[:, :, g])
    for h in range(1, n_h):
        out[:, h] = np.where(np.isnan(out[:, h]), out[:, h - 1], out[:, h])
    for h in range(n_h - 2, -1, -1):
        out[:, h] = np.where(np.isnan(out[:, h]), out[:, h + 1], out[:, h])
    # A type that hits nothing: a notional 1 km/s (it is outside every envelope anyway).
    return np.where(np.isnan(out), 1e-3, out)
